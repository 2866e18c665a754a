"""CSRF tokens bound to the server-side session.

Litestar's ``CSRFConfig`` is a double-submit cookie: any token with a matching cookie passes, so a
cookie/token pair taken from one browser (or planted through a sibling site on the same host,
cookies ignore ports) works in another person's session. Here the token is derived from the
session: ``HMAC-SHA256(secret key, "vangnet-csrf" || session id)``. It needs no storage, it
changes with the session id (which changes at login,
:func:`infra.adapters.auth.sessions.rotate_session`),
and the session id itself (an HttpOnly cookie) cannot be recovered from a token shown in a page.

Every unsafe request (not GET/HEAD/OPTIONS) outside the excluded paths must carry the token of its
own session, in the ``_csrf_token`` form field or the ``X-CSRFToken`` header (HTMX: ``hx-headers``
on ``<body>``); without a session there is nothing to act on behalf of, so nothing passes. A
refusal is :class:`CsrfRefused` (403; a Dutch page, see :mod:`infra.entrypoints.web.problems`).

Templates keep using Litestar's ``csrf_token()`` and ``csrf_input``: the middleware puts the
session's token where they read it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar.connection import Request
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

#: Form field and header that carry the token (what ``csrf_input`` and base.html send).
CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths without session-cookie authority: bearer-token API, the development provider's own
#: endpoints (called by our back channel), health checks and metrics (token of their own).
EXCLUDED_PATHS = ("^/api/", "^/dev-idp/", "^/health/", "^/metrics$")
#: Route handlers with ``opt={EXCLUDE_OPT_KEY: True}`` are not checked either.
EXCLUDE_OPT_KEY = "exclude_from_csrf"
_LABEL = b"vangnet-csrf\x00"


class CsrfRefused(PermissionDeniedException):
    """An unsafe request without its session's CSRF token (403)."""

    #: The error code pages and problem details use (see ``infra.entrypoints.web.problems``).
    problem_code = "csrf_failed"


def csrf_token_for(secret_key: bytes, session_id: str) -> str:
    """The CSRF token of the session ``session_id`` (hex)."""
    return hmac.new(secret_key, _LABEL + session_id.encode(), hashlib.sha256).hexdigest()


def session_id_of(scope: Scope, cookie_name: str) -> str | None:
    """The session id the browser presented (``None`` without a session cookie)."""
    request: Request[Any, Any, Any] = Request(scope)
    value = request.cookies.get(cookie_name)
    # Litestar answers a cleared session with the cookie value "null".
    return value if value and value != "null" else None


class SessionCsrfMiddleware(ASGIMiddleware):
    """Checks unsafe requests against their own session's token; publishes the token for
    templates on every request. Must run inside the session middleware."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = EXCLUDED_PATHS
    exclude_opt_key = EXCLUDE_OPT_KEY

    def __init__(self, secret_key: bytes, session_cookie: str) -> None:
        if len(secret_key) < 32:  # the settings' minimum
            msg = "the CSRF secret must be at least 32 bytes"
            raise ValueError(msg)
        self._secret_key = secret_key
        self._session_cookie = session_cookie

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Publish the session's token; refuse an unsafe request that does not carry it."""
        session_id = session_id_of(scope, self._session_cookie)
        expected = None if session_id is None else csrf_token_for(self._secret_key, session_id)
        ScopeState.from_scope(scope).csrf_token = expected or ""
        if scope.get("method", "GET") not in SAFE_METHODS:
            presented = await _presented_token(scope, receive)
            if (
                expected is None
                or presented is None
                or not hmac.compare_digest(presented.encode(), expected.encode())
            ):
                raise CsrfRefused("CSRF token verification failed")
        await next_app(scope, receive, send)


async def _presented_token(scope: Scope, receive: Receive) -> str | None:
    request: Request[Any, Any, Any] = Request(scope, receive)
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type, _ = request.content_type
    if content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        value = (await request.form()).get(CSRF_FIELD)
        if isinstance(value, str) and value:
            return value
    return None
