"""The school's pupil register: list and search, one pupil with their chronology across cases,
register a pupil, erase a pupil; the pupil signals. For the roles that read case-wide
(``pupils.read``: contact person, coordinator, auditor); registering and erasing is the contact
person's (``pupils.manage``). Names are resolved from the register (unsealed) when answered.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import dataclasses
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from infra.entrypoints.web.actions import text_type
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import requires
from projections.pupils import queries as pq
from services.access.roles import Permission
from services.casework.application import register_of
from services.pupils.domain import MAX_GROUP, MAX_NAME, MAX_REFERENCE, PupilDetails
from services.pupils.register import PupilEntry, PupilRegister
from tenants.registry import School


@dataclasses.dataclass(frozen=True)
class PupilOut:
    """A pupil of the register (erased: ``[gewist]`` and ``erased: true``)."""

    pupil_id: UUID
    reference: str
    display_name: str
    group: str
    erased: bool
    registered_at: datetime

    @classmethod
    def of(cls, found: PupilEntry) -> "PupilOut":
        return cls(
            pupil_id=found.pupil_id,
            reference=found.reference,
            display_name=found.display_name,
            group=found.group,
            erased=found.erased,
            registered_at=found.registered_at,
        )


@dataclasses.dataclass(frozen=True)
class PupilCaseOut:
    """One case of the pupil: their role in it, its dates and status."""

    case_id: UUID
    role: str
    added_at: datetime
    status: str
    reported_at: datetime
    closed_at: datetime | None


@dataclasses.dataclass(frozen=True)
class PupilChronology:
    pupil: PupilOut
    cases: list[PupilCaseOut]


@dataclasses.dataclass(frozen=True)
class PupilSignalOut:
    pupil: PupilOut
    kind: pq.PupilSignalKind
    case_ids: list[UUID]
    latest_report: datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewPupilBody:
    """A new pupil: the school's own pupil number (unique in the register), name and group."""

    reference: text_type(required=True, max_len=MAX_REFERENCE)  # type: ignore[valid-type]
    display_name: text_type(required=False, max_len=MAX_NAME) = ""  # type: ignore[valid-type]
    group: text_type(required=False, max_len=MAX_GROUP) = ""  # type: ignore[valid-type]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PupilErasureBody:
    """Why the pupil is erased (e.g. a request of the parents)."""

    reason: text_type(required=True)  # type: ignore[valid-type]


def register_for(request: Request[Any, Any, Any], school: School) -> PupilRegister:
    services = Services.of(request.app.state)
    return register_of(services.container.schools.get(school.id), school.id)


async def chronology_of(
    request: Request[Any, Any, Any], school: School, pupil_id: UUID
) -> list[PupilCaseOut]:
    async with Services.of(request.app.state).read_pool.acquire() as conn:
        links = await pq.chronology(conn, school.schema_name, pupil_id)
    return [
        PupilCaseOut(
            case_id=x.case_id,
            role=x.role,
            added_at=x.added_at,
            status=x.status,
            reported_at=x.reported_at,
            closed_at=x.closed_at,
        )
        for x in links
    ]


@get(
    "/api/pupils",
    summary="The school's pupil register (search by number, name or group)",
    tags=["pupils"],
    responses=problems(422),
    guards=[requires(Permission.PUPILS_READ)],
)
async def api_list_pupils(
    request: Request[Any, Any, Any],
    q: Annotated[str, QueryParameter(max_length=200)] = "",
) -> list[PupilOut]:
    """Pupils whose number, name or group contain every word of ``q`` (erased pupils not)."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    register = register_for(request, school)
    found = await anyio.to_thread.run_sync(lambda: register.search(principal.actor, q))
    return [PupilOut.of(p) for p in found]


@post(
    "/api/pupils",
    summary="Register a pupil",
    tags=["pupils"],
    status_code=201,
    responses=problems(422, body=True),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_create_pupil(
    request: Request[Any, Any, Any], data: JSONBody[NewPupilBody]
) -> Response[PupilOut]:
    """A new pupil; 422 (``reference``, ``reference_taken``) when the number is the register's
    already (its ``pupil_id`` in the details)."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    register = register_for(request, school)
    details = PupilDetails(data.reference, data.display_name, data.group)
    pupil = await anyio.to_thread.run_sync(lambda: register.register(principal.actor, details))
    found = await anyio.to_thread.run_sync(lambda: register.get(principal.actor, pupil.id))
    return Response(PupilOut.of(found), headers={"Location": f"/api/pupils/{pupil.id}"})


@get(
    "/api/pupils/signals",
    summary="Pupils who need attention: target again within 12 months, actor in several cases",
    tags=["pupils"],
    responses=problems(),
    guards=[requires(Permission.PUPILS_READ)],
)
async def api_pupil_signals(request: Request[Any, Any, Any]) -> list[PupilSignalOut]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    register = register_for(request, school)
    async with Services.of(request.app.state).read_pool.acquire() as conn:
        found = await pq.pupil_signals(conn, school.schema_name)
    pupils = {
        p.pupil_id: p
        for p in await anyio.to_thread.run_sync(
            lambda: register.search(principal.actor, include_erased=True)
        )
    }
    return [
        PupilSignalOut(
            pupil=PupilOut.of(pupils[s.pupil_id]),
            kind=s.kind,
            case_ids=list(s.case_ids),
            latest_report=s.latest_report,
        )
        for s in found
        if s.pupil_id in pupils
    ]


@get(
    "/api/pupils/{pupil_id:uuid}",
    summary="One pupil and every case they take part in (their role, dates, status)",
    tags=["pupils"],
    responses=problems(404),
    guards=[requires(Permission.PUPILS_READ)],
)
async def api_pupil(request: Request[Any, Any, Any], pupil_id: FromPath[UUID]) -> PupilChronology:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    register = register_for(request, school)
    found = await anyio.to_thread.run_sync(lambda: register.get(principal.actor, pupil_id))
    cases = await chronology_of(request, school, pupil_id)
    return PupilChronology(pupil=PupilOut.of(found), cases=cases)


@post(
    "/api/pupils/{pupil_id:uuid}/erasure",
    summary="Erase a pupil: their number, name and group, in every case, at once",
    tags=["pupils"],
    status_code=200,
    responses=problems(404, 422, 503, body=True),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_erase_pupil(
    request: Request[Any, Any, Any],
    pupil_id: FromPath[UUID],
    data: JSONBody[PupilErasureBody],
) -> PupilOut:
    """Destroys the pupil's key (crypto-shredding): the cases keep their history, the pupil
    reads ``[gewist]`` everywhere. Repeating it finishes an interrupted erasure."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    register = register_for(request, school)
    await anyio.to_thread.run_sync(
        lambda: register.erase(principal.actor, pupil_id, reason=data.reason)
    )
    found = await anyio.to_thread.run_sync(lambda: register.get(principal.actor, pupil_id))
    return PupilOut.of(found)


PUPIL_ROUTES: list[Any] = [
    api_list_pupils,
    api_create_pupil,
    api_pupil_signals,
    api_pupil,
    api_erase_pupil,
]
