"""The app as an ASGI server's worker processes load it:
``infra.entrypoints.web.asgi:app_from_env``.

``vangnet serve --workers N`` (N > 1) hands this factory to the server, which starts N
processes; each builds its own app from the environment (its own pools, its own read pool),
exactly as a separate ``vangnet serve`` would. Nothing is shared between them but the database,
the broker and, for ``/metrics``, the directory of ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

from litestar import Litestar

from infra.config.settings import Settings
from infra.entrypoints.web.app import create_app
from infra.entrypoints.web.server import configure_logging


def app_from_env() -> Litestar:
    """A new app configured by :meth:`Settings.from_env` (called once per worker process)."""
    configure_logging()
    return create_app(Settings.from_env())
