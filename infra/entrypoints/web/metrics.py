"""Prometheus metrics at ``/metrics``, for the scraper only.

The metrics are counts and durations per route template (never ids), but they still say how busy
which school-facing routes are, and an open endpoint is an invitation. So:

- without ``VANGNET_METRICS_TOKEN`` the endpoint answers 404, as if it did not exist;
- with it, the scraper sends ``Authorization: Bearer <token>`` (Prometheus:
  ``authorization: {credentials: ...}``); a missing or wrong token answers 401. The comparison
  takes the same time whatever the token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.response import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from infra.config.settings import Settings
from infra.entrypoints.web.guards import PUBLIC
from infra.entrypoints.web.health import READ_SIDE_HEALTH

METRICS_PATH = "/metrics"


def token_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison (digests first, so not even the length leaks)."""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def _registry(settings: Settings) -> CollectorRegistry:
    """The metrics of this process, or, in multi-process mode (``vangnet serve --workers N``),
    of every process writing to the directory, whichever process answers the scrape.

    Counters and histograms of every process, dead ones included, add up (they count what
    happened). The read side's gauges are read from the database (the same in every process),
    so they are added once. Gauges of processes that are gone (``requests_in_progress``,
    ``livesum``) are dropped first: a worker killed mid-request must not count as busy forever.
    """
    if settings.metrics_multiprocess:
        registry = CollectorRegistry()
        path = str(settings.metrics_dir) if settings.metrics_dir is not None else None
        if path is not None:
            forget_dead_processes(Path(path))
        multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        registry.register(READ_SIDE_HEALTH)
        return registry
    return REGISTRY


_LIVE_GAUGE = re.compile(r"gauge_live[a-z]*_(\d+)\.db")


def forget_dead_processes(directory: Path) -> list[int]:
    """Remove the live gauges of processes that no longer run (their pids); returns them."""
    dead = set()
    try:
        names = [entry.name for entry in os.scandir(directory)]
    except OSError:
        return []
    for name in names:
        match = _LIVE_GAUGE.fullmatch(name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(pid)
        except PermissionError:
            pass  # alive, another user's
    for pid in sorted(dead):
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    return sorted(dead)


@get(
    METRICS_PATH,
    include_in_schema=False,
    sync_to_thread=False,
    opt={"exclude_from_csrf": True, **PUBLIC},
)
def metrics(request: Request[Any, Any, Any]) -> Response[Any]:
    """The metrics in Prometheus' text format, for a request with the scrape token."""
    settings: Settings = request.app.state.settings
    if settings.metrics_token is None:
        return Response("Not Found\n", status_code=404, media_type="text/plain")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_matches(credentials.strip(), settings.metrics_token):
        return Response(
            "Unauthorized\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="vangnet-metrics"'},
        )
    return Response(
        generate_latest(_registry(settings)),
        status_code=200,
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )
