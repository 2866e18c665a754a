"""One structured log line per request: method, route template, status, duration.

Never bodies, headers, cookies, query strings or concrete paths: those can carry case text, names
or tokens. The route template (``/api/cases/{case_id:uuid}``) says enough to operate the service.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("vangnet.web")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started_response = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except HTTPException as e:
            # Raised by a middleware inside this one (the CSRF check, the edge gate) and answered
            # by the exception handler outside it: the status the client gets is the exception's.
            if not started_response:
                status = e.status_code
            raise
        finally:
            log.info(json.dumps(_fields(scope, status, started)))


def route_template(scope: Scope) -> str:
    """The template of the route that matched (``/api/cases/{case_id}``), never the concrete
    path: paths carry case ids (and whatever else a client typed into them)."""
    return str(scope.get("path_template") or "(unmatched)")


def _fields(scope: Scope, status: int, started: float) -> dict[str, Any]:
    return {
        "event": "request",
        "method": scope.get("method"),
        "route": route_template(scope),
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
