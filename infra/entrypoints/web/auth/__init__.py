"""Login routes and the development identity provider (the OIDC adapters: infra.adapters.auth)."""
