"""Liveness, readiness (database and broker answer), and the read side's health in both the
readiness details and the Prometheus metrics.

Degraded schools (a view failing on, or having quarantined, an event: :mod:`projections.quarantine`)
are reported but do not make the process unready: one school's view missing one event is no
reason to take the web process, and with it every other school, out of service. Details are counts
per view and error class only: no school, case or event ids, no text.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from infra.adapters.postgres.pool import PoolNotInstalledError, shared_pool
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import PUBLIC
from infra.entrypoints.worker.broker import broker_kind
from projections.quarantine import PlatformHealth, platform_health, platform_health_async

log = logging.getLogger(__name__)


@get(
    "/health/live",
    summary="The process answers",
    tags=["health"],
    include_in_schema=True,
    opt=PUBLIC,
)
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _broker_answers(url: str | None) -> str:
    kind = broker_kind(url)
    if kind == "stub" or url is None:
        return "in-process"
    parts = urlsplit(url)
    port = parts.port or (5672 if kind == "rabbitmq" else 6379)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname or "127.0.0.1", port), timeout=2.0
        )
    except (OSError, TimeoutError):
        return "down"
    writer.close()
    return "ok"


def projections_details(health: PlatformHealth) -> dict[str, Any]:
    """The read side's part of the readiness answer: counts only."""
    return {
        "status": "degraded" if health.degraded_schools else "ok",
        "degraded_schools": health.degraded_schools,
        "failing_events": health.failing,
        "quarantined_events": health.quarantined,
        "views": [
            {
                "view": h.view,
                "error_class": h.error_class,
                "schools": h.schools,
                "failing": h.failing,
                "quarantined": h.quarantined,
            }
            for h in health.views
        ],
    }


@get(
    "/health/ready",
    summary="Database and broker answer; the read side's health",
    tags=["health"],
    opt=PUBLIC,
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            data_container=dict[str, Any],
            description="The database or the broker does not answer (the same fields).",
            generate_examples=False,
        )
    },
)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready when the database and the broker answer. ``projections`` says whether any school's
    views are degraded (counts per view and error class); that alone does not make it unready."""
    services = Services.of(request.app.state)
    database = "down"
    projections: dict[str, Any] = {"status": "unknown"}
    try:
        async with asyncio.timeout(2.0), services.read_pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            database = "ok"
            projections = projections_details(await platform_health_async(conn))
    except Exception:  # noqa: S110 - not ready; or, once the database answered, health unknown
        pass
    broker = await _broker_answers(services.settings.broker_url)
    ok = database == "ok" and broker != "down"
    return Response(
        {
            "status": "ok" if ok else "unavailable",
            "database": database,
            "broker": broker,
            "projections": projections,
        },
        status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE,
    )


class ReadSideHealthCollector(Collector):
    """Prometheus gauges of the read side's health, from ``platform.projection_health``, so
    every web process reports the same numbers whichever worker recorded them.

    Labels are the view and the error class only (never school, case or event ids). The table is
    read at most every :attr:`ttl` seconds, with a short wait for a pool connection: collectors
    are synchronous and run on the event loop's thread, so a scrape must never queue behind the
    commands for long; between reads it shows the last numbers read.
    """

    ttl = 10.0
    wait = 0.5

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = -self.ttl
        self._health = PlatformHealth()

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < self.ttl:
                return
            self._read_at = time.monotonic()
            try:
                with shared_pool().connection(timeout=self.wait) as conn:
                    self._health = platform_health(conn)
            except PoolNotInstalledError:
                self._health = PlatformHealth()
            except Exception as e:  # keep the last numbers; the next scrape tries again
                log.warning("read-side health metrics not read: %s", type(e).__name__)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self._refresh()
        failing = GaugeMetricFamily(
            "vangnet_projection_failing_events",
            "Events a view fails on and retries (it waits before them), by view and error class",
            labels=["view", "error_class"],
        )
        quarantined = GaugeMetricFamily(
            "vangnet_projection_quarantined_events",
            "Events a view skips after repeated failures, until a rebuild, by view and error class",
            labels=["view", "error_class"],
        )
        schools = GaugeMetricFamily(
            "vangnet_projection_degraded_schools",
            "Schools with failing or quarantined events in any view",
            value=self._health.degraded_schools,
        )
        for h in self._health.views:
            failing.add_metric([h.view, h.error_class], h.failing)
            quarantined.add_metric([h.view, h.error_class], h.quarantined)
        yield failing
        yield quarantined
        yield schools


READ_SIDE_HEALTH = ReadSideHealthCollector()
REGISTRY.register(READ_SIDE_HEALTH)

HEALTH_ROUTES: list[Any] = [live, ready]
