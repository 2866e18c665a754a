"""The request log says the status the client got, also when a middleware inside it refused the
request by raising (the CSRF check's 403 was logged as 500)."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
from litestar.exceptions import PermissionDeniedException

from infra.entrypoints.web.logs import RequestLogMiddleware


def _run(app: Any) -> tuple[list[dict[str, Any]], BaseException | None]:
    """The log lines of one request through the middleware, and what it raised."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger = logging.getLogger("vangnet.web")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    scope = {"type": "http", "method": "POST", "path_template": "/zaken/{case_id}"}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_: Any) -> None:
        return None

    raised: list[BaseException] = []

    async def main() -> None:
        try:
            await RequestLogMiddleware(app)(scope, receive, send)  # type: ignore[arg-type]
        except Exception as e:
            raised.append(e)

    try:
        anyio.run(main)
    finally:
        logger.removeHandler(handler)
    return [json.loads(r.getMessage()) for r in records], (raised[0] if raised else None)


def test_a_refusal_raised_inside_is_logged_with_its_status() -> None:
    async def refusing(scope: Any, receive: Any, send: Any) -> None:
        raise PermissionDeniedException("csrf")

    [line], raised = _run(refusing)
    assert (line["route"], line["status"]) == ("/zaken/{case_id}", 403)
    assert isinstance(raised, PermissionDeniedException)  # still answered by the handler outside


def test_an_answer_is_logged_with_its_status_and_a_crash_as_500() -> None:
    async def answering(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 303, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    lines, raised = _run(answering)
    assert ([line["status"] for line in lines], raised) == ([303], None)

    async def crashing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("fictief")

    lines, raised = _run(crashing)
    assert [line["status"] for line in lines] == [500]
    assert isinstance(raised, RuntimeError)
