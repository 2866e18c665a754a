"""What every request handler gets: the principal, their school, the services.

The school is resolved once here, from the principal (never from the URL), and passed into every
lookup explicitly (STYLE.md §6). A case id of another school is then simply not found in this
school's log or views: the answer is 404, with no hint that it exists elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import anyio.to_thread
import asyncpg
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, ServiceUnavailableException

from infra.adapters.auth.principal import Principal
from infra.adapters.auth.resolve import ROLE_HEADER, SCHOOL_HEADER, NoRole, principal_from_bearer
from infra.adapters.auth.tokens import InvalidToken, ProviderUnavailable
from infra.adapters.people.store import PostgresPeopleStore
from infra.bootstrap.container import Container
from infra.bootstrap.views import ensure_school_views
from infra.config.settings import Settings
from services.access.roles import Role
from services.audit.replay import CaseReplay
from services.casework.handlers import CaseService
from services.people.directory import PersonInactive
from services.people.names import Names, resolve
from services.shared.clock import SCHOOL_CLOCK
from services.shared.errors import PermissionDenied
from tenants.registry import Registry, School


def today() -> date:
    """The school day it is now (schools run on Dutch time: the domain's clock)."""
    return SCHOOL_CLOCK.today()


class SchoolDirectory:
    """Registry lookups for requests, cached for ``ttl`` seconds (the registry replays events).

    A school's configuration (protocol, login) changes rarely; a change made in this process
    evicts the entry at once, other processes see it within ``ttl``.
    """

    def __init__(
        self, registry: Registry, container: Container | None = None, ttl: float = 30.0
    ) -> None:
        self.registry = registry
        self.container = container
        self.ttl = ttl
        self._cache: dict[UUID, tuple[float, School]] = {}

    async def school(self, school_id: UUID) -> School:
        hit = self._cache.get(school_id)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        school = await anyio.to_thread.run_sync(self._load, school_id)
        self._cache[school_id] = (now, school)
        return school

    def _load(self, school_id: UUID) -> School:
        school = self.registry.school(school_id)
        if self.container is not None:
            # The views' tables exist before the first read (the worker may not have run yet).
            ensure_school_views(self.container, school_id)
        return school

    def evict(self, school_id: UUID) -> None:
        self._cache.pop(school_id, None)


@dataclass(frozen=True)
class Services:
    """The collaborators on ``app.state``, typed: the app's settings (a test may give the app
    other ones than its container's), the composition root's container, and the web's own read
    pool and school directory cache."""

    settings: Settings
    container: Container
    read_pool: asyncpg.Pool
    directory: SchoolDirectory

    @property
    def registry(self) -> Registry:
        return self.container.registry

    @classmethod
    def of(cls, state: State) -> Services:
        services = state.services
        assert isinstance(services, Services)
        return services

    def case_service(self, school: School) -> CaseService:
        return self.container.case_service(school.id)

    def people(self, school: School) -> PostgresPeopleStore:
        """The school's staff directory as pages read it (names, pickers)."""
        return PostgresPeopleStore(
            self.container.schools.get(school.id), school.id, school.schema_name
        )

    async def names(self, school: School, person_ids: Iterable[object]) -> Names:
        """The names of ``person_ids`` (see :mod:`services.people.names`)."""
        return await anyio.to_thread.run_sync(resolve, self.people(school), list(person_ids))

    def case_replay(self, school: School) -> CaseReplay:
        return CaseReplay(self.container.schools.get(school.id), school.id)


async def principal_of(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The logged-in person (session) or API client (bearer token); 401 when neither."""
    cached = request.scope.get("state", {}).get("principal")
    if isinstance(cached, Principal):
        return cached
    principal = await _resolve(request)
    if principal is None:
        raise NotAuthorizedException(detail="log in, or send a bearer access token")
    request.scope.setdefault("state", {})["principal"] = principal
    return principal


async def _resolve(request: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        try:
            principal = await principal_from_bearer(
                header[7:].strip(),
                registry=request.app.state.registry,
                validator=request.app.state.tokens,
                settings=request.app.state.settings,
                school_slug_hint=request.headers.get(SCHOOL_HEADER),
                people=getattr(request.app.state, "people", None),
            )
        except NoRole:
            raise PermissionDenied("the access token grants no role at this school") from None
        except ProviderUnavailable:
            raise ServiceUnavailableException(
                detail="the identity provider's keys cannot be fetched; try again later"
            ) from None
        except InvalidToken as e:
            raise NotAuthorizedException(detail=f"invalid access token: {e.reason}") from None
        wanted = request.headers.get(ROLE_HEADER)
        if wanted:
            principal = _switch(principal, wanted)
        return principal
    if request.url.path.startswith("/api/"):
        # The API takes bearer tokens only: a session cookie would make it CSRF-able.
        return None
    data = request.scope.get("session") or {}
    stored = data.get("principal") if isinstance(data, dict) else None
    if not stored:
        return None
    try:
        principal = Principal.from_session(dict(stored))
    except (KeyError, ValueError):
        return None
    if principal.school_id is None:
        return principal  # the platform operator: no school, no staff directory
    if principal.person_id is None:
        return None  # a session from before the staff directory: log in again
    return await _still_active(request, principal)


async def _still_active(
    request: ASGIConnection[Any, Any, Any, Any], principal: Principal
) -> Principal:
    """The session's person, unless deactivated or removed since they logged in (403)."""
    people = getattr(request.app.state, "people", None)
    if people is None or principal.school_id is None or principal.person_id is None:
        return principal
    school = await Services.of(request.app.state).directory.school(principal.school_id)
    if not await people.is_active_async(school, principal.person_id):
        raise PersonInactive("this person is deactivated in the school's staff directory")
    return principal


def _switch(principal: Principal, wanted: str) -> Principal:
    try:
        role = Role(wanted)
    except ValueError:
        raise PermissionDenied(f"unknown role '{wanted}'") from None
    if role not in principal.roles:
        raise PermissionDenied(f"the token does not grant role '{wanted}'")
    return principal.acting_as(role)


async def school_of(request: Request[Any, Any, Any], principal: Principal) -> School:
    """The principal's school (403 for the operator, who has none)."""
    if principal.school_id is None:
        raise PermissionDenied("this needs a school role; the platform operator has none")
    return await Services.of(request.app.state).directory.school(principal.school_id)
