"""Liveness, readiness (database and broker answer) and Prometheus metrics."""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import asyncio
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.plugins.prometheus import PrometheusController
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from infra.web.context import Services
from infra.worker.broker import broker_kind


@get("/health/live", summary="The process answers", tags=["health"], include_in_schema=True)
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


@get(
    "/health/ready",
    summary="Database and broker answer",
    tags=["health"],
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            data_container=dict[str, str],
            description="The database or the broker does not answer (the same fields).",
            generate_examples=False,
        )
    },
)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    services = Services.of(request.app.state)
    try:
        async with asyncio.timeout(2.0):
            await services.read_pool.fetchval("SELECT 1")
        database = "ok"
    except (OSError, TimeoutError, Exception):  # any failure means not ready
        database = "down"
    broker = await _broker_answers(services.settings.broker_url)
    ok = database == "ok" and broker != "down"
    return Response(
        {"status": "ok" if ok else "unavailable", "database": database, "broker": broker},
        status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE,
    )


class MetricsController(PrometheusController):
    """Prometheus metrics for the operator's scraper: not part of the API document."""

    include_in_schema = False


HEALTH_ROUTES: list[Any] = [live, ready]
