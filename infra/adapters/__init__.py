"""Adapters: everything that talks to PostgreSQL, clamd, SMTP, the identity provider, files,
PDFs."""
