"""The web edge: the Litestar app, its API and pages (see ``infra/entrypoints/web/README.md``)."""
