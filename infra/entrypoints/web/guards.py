"""What a route needs before its handler runs, declared where the route is declared.

Every route of the app says who may call it (checked by ``tests/unit/test_guards.py`` over the
app's route table, so a new route cannot forget it), in one of three ways:

- ``guards=[requires(Permission.X)]``: the active role has ``X`` school-wide;
- ``guards=[requires(Permission.X, on_case=True)]``: the role may ever do ``X`` on a case —
  school-wide, or on the cases it is engaged in (a mentor completing the step they were brought
  into). The guard cannot know the case: the handler's domain check (the command handler's
  ``authorize``, the read side's engaged filter) still decides for *this* case, and answers 404
  for a case the person may not see. The guard only turns away the roles that never could;
- ``guards=[LOGGED_IN]``: anyone logged in (who am I, the home page that picks a start page);
- ``opt=PUBLIC``: no login at all (health, login itself, static files, the development
  identity provider, the OpenAPI document, metrics and SCIM behind their own tokens).

The guards are small pure functions of the principal's role (:func:`refusal`), with their own
unit tests; the request only supplies the principal (401 when nobody is logged in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from infra.adapters.auth.principal import Principal
from infra.entrypoints.web.context import principal_of
from services.access.roles import ENGAGED_PERMISSIONS, Permission, Role, has_permission
from services.shared.errors import PermissionDenied

#: The mark of a route that needs no login: ``opt=PUBLIC`` (on a route, router or controller).
PUBLIC: dict[str, Any] = {"public": True}


def may_ever(role: Role, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission`` on some case: school-wide or when engaged."""
    return has_permission(role, permission) or permission in ENGAGED_PERMISSIONS.get(
        role, frozenset()
    )


def refusal(role: Role, permission: Permission, *, on_case: bool = False) -> str | None:
    """Why ``role`` is refused ``permission`` (``None``: let through). ``on_case``: the
    handler checks the case itself, so a role that may do it when engaged passes."""
    allowed = may_ever(role, permission) if on_case else has_permission(role, permission)
    if allowed:
        return None
    if role is Role.DOMESTIC_VIOLENCE_OFFICER:
        return "the domestic-violence officer has no access to bullying cases"
    return f"role '{role}' may not '{permission}'"


@dataclass(frozen=True)
class Requires:
    """A Litestar guard: the principal's active role needs ``permission`` (``None``: only a
    login). Instances are what the route table is checked for."""

    permission: Permission | None
    on_case: bool = False

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        principal = await principal_of(connection)
        self.check(principal)

    def check(self, principal: Principal) -> None:
        """Refuse (``PermissionDenied``, 403) unless ``principal`` passes."""
        if self.permission is None:
            return
        reason = refusal(principal.role, self.permission, on_case=self.on_case)
        if reason is not None:
            raise PermissionDenied(reason)


def requires(permission: Permission, *, on_case: bool = False) -> Requires:
    """The guard of a route that needs ``permission`` (see the module's docstring)."""
    return Requires(permission, on_case=on_case)


#: The guard of a route that needs a login and no particular permission.
LOGGED_IN = Requires(None)


@dataclass(frozen=True)
class RequiresAction:
    """A Litestar guard for routes that serve every case action (``/zaken/{id}/{action}``):
    the action named in the path needs its command's permission, on a case. An unknown action
    passes: the handler answers 404."""

    permission_of: Callable[[str], Permission | None]
    parameter: str = "action_name"

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        principal = await principal_of(connection)
        permission = self.permission_of(str(connection.path_params.get(self.parameter, "")))
        if permission is not None:
            Requires(permission, on_case=True).check(principal)


@dataclass(frozen=True)
class RequiresPart:
    """A Litestar guard for the people pickers (``/api/people?part=...``): picking someone for a
    part needs the permission of the commands that name that part, on a case. An unknown or
    missing part passes: the handler answers 400 naming the parameter."""

    permission_of: Callable[[str], Permission | None]
    parameter: str = "part"

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        principal = await principal_of(connection)
        permission = self.permission_of(str(connection.query_params.get(self.parameter, "")))
        if permission is not None:
            Requires(permission, on_case=True).check(principal)


def declared_access(handler: BaseRouteHandler) -> str | None:
    """How ``handler`` (as mounted) says who may call it: ``"public"``, ``"login"``, the
    permission's name, ``"action"``, ``"part"``, ``"options"`` (Litestar's own ``OPTIONS``
    answer: the path's methods, nothing else: :mod:`infra.entrypoints.web.options`); ``None`` when
    it says
    nothing."""
    methods = getattr(handler, "http_methods", None)
    if methods == {"OPTIONS"} and getattr(handler.fn, "__module__", "").startswith("litestar."):
        return "options"
    for guard in handler.resolve_guards():
        if isinstance(guard, RequiresAction):
            return "action"
        if isinstance(guard, RequiresPart):
            return "part"
        if isinstance(guard, Requires):
            return "login" if guard.permission is None else str(guard.permission)
    if handler.opt.get("public") is True:
        return "public"
    return None
