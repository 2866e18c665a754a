"""``vangnet serve``: the web app under uvicorn, on ``VANGNET_HOST``:``VANGNET_PORT``.

In embedded mode (no ``BROKER_URL``) the app also runs the in-process worker, so one command is
a complete Vangnet. In production run several of these behind a proxy and ``vangnet worker``
beside them; the processes share nothing but the database (sessions included) and the broker.

``--workers N`` (``VANGNET_WEB_WORKERS``) above 1 runs uvicorn's supervisor with N worker
processes, each building its app from the environment (:mod:`infra.entrypoints.web.asgi`); the
supervisor
restarts a worker that dies. uvicorn rather than granian: measured here with 2 workers each
(``python -m bench.servers``, README "Operating Vangnet"), commands ran at the same rate
(granian 1.01x) and reads differed less than the busy host's spread between rounds (granian
1.14x in the median), and uvicorn is already a dependency (``litestar[standard]``).

Forwarded headers are the app's business, not the server's (:mod:`infra.entrypoints.web.proxy`,
trusted
proxies only): uvicorn's own ``proxy_headers`` stays off. With several processes,
``/metrics`` needs prometheus_client's multi-process mode: the supervisor gives its workers
``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory of its own unless the operator set one).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from infra.config.settings import Settings, SettingsError

#: What every worker process loads (``--factory``): an app from the environment.
APP_FACTORY = "infra.entrypoints.web.asgi:app_from_env"

_SERVER_OPTIONS: dict[str, object] = {
    "log_level": "warning",
    "access_log": False,  # our own request log carries no paths with query strings
    "proxy_headers": False,  # infra.entrypoints.web.proxy decides, from VANGNET_TRUSTED_PROXIES
    "server_header": False,
    "timeout_graceful_shutdown": 20,  # finish requests in flight on SIGTERM (rolling updates)
}


def configure_logging() -> None:
    """The web process's log format (every worker process calls it too)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    # httpx logs every URL it fetches at INFO; provider URLs are harmless, but keep logs to ours.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
) -> int:
    """Serve until SIGTERM/SIGINT. One worker: the app of ``settings`` in this process.
    Several: uvicorn's supervisor, whose workers read their settings from the environment."""
    configure_logging()
    workers = workers or settings.web_workers
    bind = {"host": host or settings.host, "port": port or settings.port}
    if workers == 1:
        # Imported here, not at the top: the supervisor of several workers must not import the
        # app (its Prometheus metrics would be created before the per-process metrics directory
        # is set up); the workers import it through APP_FACTORY.
        from infra.entrypoints.web.app import create_app

        uvicorn.Server(uvicorn.Config(create_app(settings), **bind, **_SERVER_OPTIONS)).run()  # type: ignore[arg-type]
        return 0
    if settings.embedded:
        msg = "--workers above 1 needs DATABASE_URL (the embedded database serves one process)"
        raise SettingsError(msg)
    with metrics_directory(settings):
        uvicorn.run(APP_FACTORY, factory=True, workers=workers, **bind, **_SERVER_OPTIONS)  # type: ignore[arg-type]
    return 0


@contextmanager
def metrics_directory(settings: Settings) -> Iterator[Path]:
    """``PROMETHEUS_MULTIPROC_DIR`` for the worker processes (set before they start, so their
    prometheus_client writes its values to files): the operator's, or a fresh one removed at
    exit. Files left by an earlier run (a restarted container keeps its ``emptyDir``) would be
    counted again and their pids may be reused, so the operator's directory is emptied of
    metric files first: give every ``vangnet serve`` a directory of its own."""
    if settings.metrics_dir is not None:
        for stale in settings.metrics_dir.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield settings.metrics_dir
        return
    directory = Path(tempfile.mkdtemp(prefix="vangnet-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)  # inherited by the workers only
    try:
        yield directory
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(directory, ignore_errors=True)
