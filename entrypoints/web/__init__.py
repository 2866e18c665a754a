"""The web edge: the Litestar app, its API and pages (see ``entrypoints/web/README.md``)."""
