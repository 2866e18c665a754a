"""``vangnet serve``: the web app under uvicorn, on ``VANGNET_HOST``:``VANGNET_PORT``.

In embedded mode (no ``BROKER_URL``) the app also runs the in-process worker, so one command is
a complete Vangnet. In production run several of these behind a proxy and ``vangnet worker``
beside them; the processes share nothing but the database (sessions included) and the broker.
"""

from __future__ import annotations

import logging

import uvicorn

from infra.settings import Settings
from infra.web.app import create_app


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    # httpx logs every URL it fetches at INFO; provider URLs are harmless, but keep logs to ours.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        access_log=False,  # our own request log carries no paths with query strings
        proxy_headers=True,
        server_header=False,
    )
    uvicorn.Server(config).run()
    return 0
