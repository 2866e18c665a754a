"""Login routes and the development identity provider (the OIDC adapters: adapters.auth)."""
