"""Login and token validation (OIDC with Authlib, JWT access tokens with joserfc)."""
