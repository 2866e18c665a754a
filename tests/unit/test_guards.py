"""Route guards (infra.entrypoints.web.guards): the pure checks, and every route of the app
declares who
may call it (a new route that forgets it fails here).

The expected answers are written from DESIGN.md §1 and seed 001, not read from the roles table.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.handlers.base import BaseRouteHandler

from infra.adapters.auth.principal import Principal
from infra.config.settings import Settings
from infra.entrypoints.web.actions import ACTIONS
from infra.entrypoints.web.app import create_app
from infra.entrypoints.web.guards import (
    LOGGED_IN,
    PUBLIC,
    Requires,
    RequiresAction,
    declared_access,
    may_ever,
    refusal,
    requires,
)
from services.access.roles import Permission, Role
from services.shared.errors import PermissionDenied

P = Permission


def principal(role: Role) -> Principal:
    return Principal(
        user_id="user-test-a",
        issuer="https://idp.test",
        display_name="Medewerker Test-A",
        school_id=None if role is Role.OPERATOR else uuid4(),
        school_slug=None if role is Role.OPERATOR else "school-test",
        board_id=None,
        roles=(role,),
        role=role,
    )


# --- the pure checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "permission", "school_wide", "ever"),
    [
        (Role.CONTACT_PERSON, P.CASE_MANAGE, True, True),
        # A mentor completes the steps they were engaged in, never school-wide.
        (Role.TEACHER, P.CASE_COMPLETE_STEP, False, True),
        (Role.CARE_COORDINATOR, P.CASE_READ, False, True),
        (Role.TEACHER, P.CASE_MANAGE, False, False),
        (Role.SAFETY_COORDINATOR, P.CASE_READ, False, False),
        (Role.DOMESTIC_VIOLENCE_OFFICER, P.CASE_READ, False, False),
        (Role.AUDITOR, P.AUDIT_READ, True, True),
        (Role.OPERATOR, P.TENANTS_MANAGE, True, True),
        (Role.OPERATOR, P.CASE_READ, False, False),
        (Role.BOARD, P.STATS_BOARD, True, True),
        (Role.MANAGEMENT, P.STATS_BOARD, False, False),
    ],
)
def test_refusal_school_wide_and_on_case(
    role: Role, permission: Permission, school_wide: bool, ever: bool
) -> None:
    assert (refusal(role, permission) is None) is school_wide
    assert (refusal(role, permission, on_case=True) is None) is ever
    assert may_ever(role, permission) is ever


def test_the_domestic_violence_officer_is_told_why() -> None:
    reason = refusal(Role.DOMESTIC_VIOLENCE_OFFICER, P.CASE_READ, on_case=True)
    assert reason is not None
    assert "no access to bullying cases" in reason


def test_requires_check_raises_permission_denied() -> None:
    with pytest.raises(PermissionDenied, match=r"may not 'tenants\.manage'"):
        requires(P.TENANTS_MANAGE).check(principal(Role.CONTACT_PERSON))
    requires(P.TENANTS_MANAGE).check(principal(Role.OPERATOR))
    requires(P.CASE_COMPLETE_STEP, on_case=True).check(principal(Role.TEACHER))
    with pytest.raises(PermissionDenied):
        requires(P.CASE_COMPLETE_STEP).check(principal(Role.TEACHER))


def test_logged_in_lets_every_role_through() -> None:
    for role in Role:
        LOGGED_IN.check(principal(role))


class _Connection:
    """Just enough of a request for a guard: the principal is already resolved."""

    def __init__(self, who: Principal, path_params: dict[str, Any]) -> None:
        self.scope: dict[str, Any] = {"state": {"principal": who}}
        self.path_params = path_params


def _run_action_guard(role: Role, action_name: str) -> None:
    guard = RequiresAction(lambda name: ACTIONS[name].permission if name in ACTIONS else None)
    connection: Any = _Connection(principal(role), {"action_name": action_name})
    asyncio.run(guard(connection, Any))


def test_action_guard_takes_the_action_permission_from_the_path() -> None:
    _run_action_guard(Role.CONTACT_PERSON, "plan-step")
    _run_action_guard(Role.TEACHER, "complete-step")  # engaged: the handler decides
    with pytest.raises(PermissionDenied):
        _run_action_guard(Role.TEACHER, "plan-step")
    with pytest.raises(PermissionDenied):
        _run_action_guard(Role.SAFETY_COORDINATOR, "add-note")
    _run_action_guard(Role.SAFETY_COORDINATOR, "no-such-action")  # the handler answers 404


# --- the route table ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    data: Path = tmp_path_factory.mktemp("guards")
    # The development identity provider too: every route the app can mount.
    return create_app(Settings.from_env({"VANGNET_DATA_DIR": str(data), "VANGNET_DEV_IDP": "1"}))


def _handlers(app: Litestar) -> list[tuple[str, BaseRouteHandler]]:
    """Every mounted handler by path, without Litestar's own OPTIONS answers."""
    return [
        (route.path, handler)
        for route in app.routes
        for handler in route.route_handlers
        if declared_access(handler) != "options"
    ]


def test_every_route_declares_who_may_call_it(app: Litestar) -> None:
    silent = [
        f"{path} ({handler.handler_name})"
        for path, handler in _handlers(app)
        if declared_access(handler) is None
    ]
    assert silent == [], "routes without a permission guard, LOGGED_IN or opt=PUBLIC"


def test_api_and_pages_are_guarded_not_public(app: Litestar) -> None:
    public = {path for path, handler in _handlers(app) if declared_access(handler) == "public"}
    assert public
    for path in public:
        assert not path.startswith(("/api/", "/zaken", "/school", "/bestuur", "/beheer")), path
    assert "/health/live" in public
    assert "/metrics" in public
    assert "/login" in public


def test_case_action_routes_take_the_command_permission(app: Litestar) -> None:
    routes = dict(_handlers(app))
    for action in ACTIONS.values():
        handler = routes[f"/api/cases/{{case_id:uuid}}/{action.name}"]
        guards = [g for g in handler.resolve_guards() if isinstance(g, Requires)]
        assert guards == [Requires(action.permission, on_case=True)], action.name


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/boards", "tenants.manage"),
        ("/api/stats/board", "stats.board"),
        ("/api/cases/{case_id:uuid}/history", "audit.read"),
        ("/api/cases/{case_id:uuid}/export.pdf", "case.read"),
        ("/api/me", "login"),
        ("/beheer", "tenants.manage"),
        ("/school/protocol", "protocol.manage"),
        ("/zaken/{case_id:uuid}/{action_name:str}", "action"),
        ("/api/people", "part"),
        ("/", "login"),
    ],
)
def test_a_few_routes_by_name(app: Litestar, path: str, expected: str) -> None:
    found = {declared_access(h) for p, h in _handlers(app) if p == path}
    assert found == {expected}


def test_public_mark_is_the_opt_key() -> None:
    assert PUBLIC == {"public": True}
