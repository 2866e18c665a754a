"""``vangnet serve``: the web app (UI and API); in embedded mode also the in-process worker."""

from __future__ import annotations

import click

from infra.config.settings import Settings
from infra.entrypoints.cli.common import POSITIVE
from infra.entrypoints.web.server import serve as serve_web


@click.command("serve")
@click.option("--host", help="listen address (default VANGNET_HOST or 127.0.0.1)")
@click.option("--port", type=POSITIVE, help="port (default VANGNET_PORT or 8000)")
@click.option(
    "--workers",
    type=POSITIVE,
    help="worker processes (default VANGNET_WEB_WORKERS or 1; above 1 needs DATABASE_URL)",
)
def serve(host: str | None, port: int | None, workers: int | None) -> int:
    """Run the web app (UI and API); in embedded mode also the in-process worker."""
    return serve_web(Settings.from_env(), host=host, port=port, workers=workers)
