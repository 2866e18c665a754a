"""``OPTIONS`` answered with every method of the path.

Litestar 2 builds a path's ``OPTIONS`` answer when the path's first handler is registered and
does not update it when a second method is added (litestar#4169, fixed in Litestar 3), so
``OPTIONS /api/cases`` said ``Allow: GET, OPTIONS`` although the path takes ``POST`` too.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send


class OptionsMiddleware:
    """Answers Litestar's own ``OPTIONS`` handler's requests, with the path's real methods."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler: Any = scope.get("route_handler")
        if (
            scope["type"] != "http"  # type: ignore[comparison-overlap]
            or scope.get("method") != "OPTIONS"
            or handler is None
            or getattr(handler.fn, "__name__", "") != "options_handler"
        ):
            await self.app(scope, receive, send)
            return
        app: Any = scope["litestar_app"]
        methods: set[str] = set()
        for path in handler.paths:
            methods.update(app.route_handler_method_map.get(path, {}))
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"allow", ", ".join(sorted(methods | {"OPTIONS"})).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})
