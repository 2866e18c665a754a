"""The web edge: the Litestar app, its API and pages (see ``infra/web/README.md``)."""
