"""The staff directory's adapters: PostgreSQL store, login hook, SCIM 2.0 endpoint."""
