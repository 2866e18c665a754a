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
from typing import Any

from litestar import Request, get
from litestar.response import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from infra.settings import Settings
from infra.web.guards import PUBLIC

METRICS_PATH = "/metrics"


def token_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison (digests first, so not even the length leaks)."""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def _registry(settings: Settings) -> CollectorRegistry:
    # The same choice as Litestar's PrometheusController: several processes share a directory.
    if settings.metrics_multiprocess:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


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
