"""The gate every request passes before a handler, a form parser or the CSRF check reads it.

One place decides what a request may carry, for the API and the pages alike:

- the query string decodes as UTF-8 (400);
- a body is at most :data:`MAX_BODY_BYTES` (413), read here once and handed on unchanged;
- the API takes JSON only as ``application/json`` (or ``application/*+json``), the pages take
  forms only as ``application/x-www-form-urlencoded`` or ``multipart/form-data`` (415);
- the body is UTF-8 (form values after percent-decoding too) and, for the API, JSON nested at
  most :data:`MAX_JSON_DEPTH` levels deep (400): a deeper document would exhaust the
  decoder's recursion before any schema is checked.

Refusals are :class:`Refused` exceptions answered by
:func:`infra.entrypoints.web.problems.on_http_error`:
problem details under ``/api/``, a Dutch page elsewhere.

The upload routes (:data:`UPLOAD_PATH`, a case's evidence files, page and API) have their own
rule: a ``multipart/form-data`` body of at most the attachment limit
(``VANGNET_ATTACHMENT_MAX_BYTES``) plus :data:`UPLOAD_OVERHEAD_BYTES` for the form's other
fields, and binary (not UTF-8). The public report pages (:data:`PUBLIC_FORM_PATH`, no login)
take at most :data:`PUBLIC_FORM_MAX_BYTES`. Every other route keeps :data:`MAX_BODY_BYTES`.
"""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import msgspec
from litestar import Request
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)
from litestar.types import ASGIApp, HTTPScope, Receive, ReceiveMessage, Scope, Send

from infra.entrypoints.web.problems import Refused, on_http_error

#: The largest request body taken (bytes). A case action carries a few texts of at most
#: :data:`services.shared.text.MAX_TEXT` characters; 1 MiB leaves room for all of them.
MAX_BODY_BYTES = 1024 * 1024
#: The deepest JSON nesting taken (objects and arrays). Vangnet's bodies are 3 levels deep.
MAX_JSON_DEPTH = 32

#: The upload routes: ``POST /zaken/<case id>/bijlagen`` (the page) and
#: ``POST /api/cases/<case id>/attachments`` (the API).
UPLOAD_PATH = re.compile(
    r"^(?:/zaken/[0-9a-fA-F-]{36}/bijlagen|/api/cases/[0-9a-fA-F-]{36}/attachments)$"
)
#: Forms that carry a small file of their own under the ordinary body limit, its bytes checked
#: by the route (not as UTF-8 here, so the route can name the line that is not):
#: the monitor averages' CSV import (``infra.adapters.monitor_csv``).
FILE_FORM_PATH = re.compile(r"^/(?:school|bestuur)/jaarverslag/monitor/import$")
#: Room for the caption, the CSRF token and the multipart boundaries beside the file.
UPLOAD_OVERHEAD_BYTES = 64 * 1024

#: The public report form and follow-up (``/melden/<school>``, ``/melden/<school>/volgen``).
PUBLIC_FORM_PATH = re.compile(r"^/melden/")
#: Their body limit: the form's texts (about 5,000 characters in all, see
#: ``services.reporting.service.FIELD_MAX``) percent-encoded, with room to spare.
PUBLIC_FORM_MAX_BYTES = 64 * 1024

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

#: A JSON string (skipped whole, escapes included) or a bracket: enough to measure nesting.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class InvalidBody(Refused):
    status_code = HTTP_400_BAD_REQUEST
    code = "invalid_body"


class BodyTooLarge(Refused):
    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "too_large"


class UnsupportedMediaType(Refused):
    status_code = HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media"


def media_type(scope: Scope) -> str:
    """The request's media type, lowercase, without parameters (``""`` when absent)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def too_deep(body: bytes) -> bool:
    """Whether ``body``'s arrays and objects nest deeper than :data:`MAX_JSON_DEPTH` (brackets
    inside strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for token in _JSON_TOKENS.finditer(body):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif mark in (b"]", b"}"):
            depth -= 1
    return False


def check_json(body: bytes) -> None:
    """Refuse a body that is not UTF-8, nested too deeply, or not JSON."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidBody(f"the body is not valid UTF-8 (byte {e.start})") from None
    if too_deep(body):
        msg = f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep"
        raise InvalidBody(msg)
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise InvalidBody(f"the body is not valid JSON: {e}") from None


def check_form(body: bytes, media: str) -> None:
    """Refuse a form whose bytes or percent-decoded values are not UTF-8."""
    raw = unquote_to_bytes(body.replace(b"+", b" ")) if media != "multipart/form-data" else body
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidBody("the form is not valid UTF-8") from None


def check_query(scope: Scope) -> None:
    query: bytes = scope.get("query_string", b"")
    if not query:
        return
    try:
        unquote_to_bytes(query.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidBody("the query string is not valid UTF-8") from None


def body_limit(scope: Scope, upload_limit: int) -> int:
    """The largest body this request may carry."""
    if is_upload(scope):
        return upload_limit
    if PUBLIC_FORM_PATH.match(scope["path"]) is not None:
        return PUBLIC_FORM_MAX_BYTES
    return MAX_BODY_BYTES


def is_upload(scope: Scope) -> bool:
    return scope.get("method") == "POST" and UPLOAD_PATH.match(scope["path"]) is not None


async def read_body(
    scope: Scope, receive: Receive, limit: int = MAX_BODY_BYTES
) -> tuple[bytes, list[ReceiveMessage]]:
    """The whole body (at most ``limit`` bytes) and the messages it came in."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
    messages: list[ReceiveMessage] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
        if not message.get("more_body", False):
            break
    body = b"".join(m["body"] for m in messages if m["type"] == "http.request" and "body" in m)
    return body, messages


def replaying(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """A ``receive`` that hands on the messages already read, then the connection's own."""
    pending = list(messages)

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def check_body(scope: Scope, body: bytes) -> None:
    """The rules for a body of this route (see the module docstring)."""
    media = media_type(scope)
    if scope["path"].startswith("/scim/"):
        # SCIM (application/scim+json, RFC 7644 §3.1): JSON, checked like the API's.
        if body:
            if not is_json(media):
                msg = f"send the body as application/scim+json (got {media or 'no content type'})"
                raise UnsupportedMediaType(msg)
            check_json(body)
        return
    if is_upload(scope):
        if media != "multipart/form-data":
            msg = f"send the file as multipart/form-data, not {media or 'no content type'}"
            raise UnsupportedMediaType(msg)
        return  # a file is bytes; its own checks follow (services.attachments)
    if scope["path"].startswith("/api/"):
        handler = scope.get("route_handler")
        if handler is None or getattr(handler, "parsed_data_field", None) is None:
            return  # the route takes no body; whatever came is ignored
        if not is_json(media):
            msg = f"send the body as application/json (got {media or 'no content type'})"
            raise UnsupportedMediaType(msg)
        if body:
            check_json(body)
        return
    if not body:
        return
    if media == "multipart/form-data" and FILE_FORM_PATH.match(scope["path"]) is not None:
        return  # the file's bytes are the route's to check (infra.adapters.monitor_csv)
    if media not in FORM_TYPES:
        msg = f"send a form (application/x-www-form-urlencoded), not {media or 'no content type'}"
        raise UnsupportedMediaType(msg)
    check_form(body, media)


class EdgeGuardMiddleware:
    """ASGI middleware applying the module's rules; listed innermost in the app, so its answers
    pass the security headers and the request log like any other."""

    def __init__(self, app: ASGIApp, *, upload_max_bytes: int = 20 * 1024 * 1024) -> None:
        self.app = app
        self.upload_limit = upload_max_bytes + UPLOAD_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await self.app(scope, receive, send)
            return
        http = cast("HTTPScope", scope)
        try:
            check_query(http)
            if http["method"] in BODY_METHODS:
                limit = body_limit(http, self.upload_limit)
                body, messages = await read_body(scope, receive, limit)
                check_body(scope, body)
                receive = replaying(messages, receive)
        except Refused as refused:
            await answer(scope, receive, send, refused)
            return
        await self.app(scope, receive, send)


async def answer(scope: Scope, receive: Receive, send: Send, refused: Refused) -> None:
    """Answer ``refused`` the way the app's error handler answers any HTTP error."""
    app: Any = scope["litestar_app"]
    request: Request[Any, Any, Any] = app.request_class(scope=scope, receive=receive)
    response = on_http_error(request, refused)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)
