"""``vangnet serve``: the web app (UI and API); in embedded mode also the in-process worker."""

from __future__ import annotations

import argparse

from infra.cli.common import Subparsers, positive
from infra.settings import Settings
from infra.web.server import serve


def add_serve_command(commands: Subparsers) -> None:
    serve_command = commands.add_parser(
        "serve",
        help="run the web app (UI and API); in embedded mode also the in-process worker",
    )
    serve_command.add_argument("--host", help="listen address (default VANGNET_HOST or 127.0.0.1)")
    serve_command.add_argument("--port", type=positive, help="port (default VANGNET_PORT or 8000)")
    serve_command.add_argument(
        "--workers",
        type=positive,
        help="worker processes (default VANGNET_WEB_WORKERS or 1; above 1 needs DATABASE_URL)",
    )
    serve_command.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(Settings.from_env(), host=args.host, port=args.port, workers=args.workers)
