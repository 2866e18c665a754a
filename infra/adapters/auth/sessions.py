"""Server-side sessions whose id changes at login (session-fixation defence).

Litestar's ``ServerSideSessionBackend`` keeps the id from the request's cookie for as long as
the session is not empty: ``request.clear_session()`` followed by ``request.set_session(...)``
in the same request stores the new data under the OLD id (checked in
``litestar/middleware/session/server_side.py``, 2.25). Anyone who planted a session cookie
before login would then share the logged-in session. :class:`RotatingSessionConfig` is a drop-in
``ServerSideSessionConfig`` whose backend honours :func:`rotate_session`: the old entry is
deleted from the store and the data is stored under a freshly generated id, sent in the cookie.

It also skips what the stock backend does on every request without a session cookie: storing an
empty session and setting a cookie for it. With the PostgreSQL store that would be a write per
anonymous request (health checks, static files, bearer-token API calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Message, ScopeSession

#: Keys in the connection state (``scope["state"]``) the backend reads.
_ROTATE = "vangnet_rotate_session"
_NEW_ID = "vangnet_new_session_id"
_SUPPORTED = "vangnet_session_rotation_supported"


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any], data: dict[str, Any]) -> None:
    """Replace the session with ``data`` under a NEW session id (old data and id discarded).

    Needs :class:`RotatingSessionConfig` as the app's session config; with any other backend
    the id would silently stay the same, so that is refused.
    """
    if not connection.scope.get("state", {}).get(_SUPPORTED, False):
        msg = "rotate_session needs RotatingSessionConfig as the session middleware"
        raise RuntimeError(msg)
    connection.state[_ROTATE] = True
    connection.set_session(data)


class RotatingSessionBackend(ServerSideSessionBackend):
    """``ServerSideSessionBackend`` that can move a session to a new id (:func:`rotate_session`)."""

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        """Load as usual; mark the request so rotate_session can tell this backend is used."""
        connection.scope.setdefault("state", {})[_SUPPORTED] = True
        return await super().load_from_connection(connection)

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The new id after a rotation, else the cookie's (or a fresh one)."""
        new_id = connection.scope.get("state", {}).get(_NEW_ID)
        if isinstance(new_id, str):
            return new_id
        return super().get_session_id(connection)

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        """Store the session (under a new id after :func:`rotate_session`) and set the cookie."""
        state = connection.scope.setdefault("state", {})
        old_cookie = connection.cookies.get(self.config.key)
        if not scope_session and not old_cookie:
            return  # nothing to keep and no session to end: no store write, no cookie
        if state.get(_ROTATE) and _NEW_ID not in state:
            if old_cookie and old_cookie != "null":
                store = self.config.get_store_from_app(connection.scope["app"])
                await self.delete(old_cookie, store=store)
            state[_NEW_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    """``ServerSideSessionConfig`` with session-id rotation (use it instead of that)."""

    _backend_class = RotatingSessionBackend
