"""The school's read side and configuration: me, signals, escalations, lessons, statistics,
the protocol checklist."""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import dataclasses
from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Request, get, put
from litestar.params import JSONBody, KwargDefinition, QueryParameter

from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import LOGGED_IN, requires
from infra.entrypoints.web.reads import (
    MAX_MONTHS,
    board_statistics,
    school_escalations,
    school_lessons,
    school_signals,
    school_statistics,
)
from projections.board_stats.queries import StatCell
from projections.escalation.queries import CaseEscalation, Signal
from projections.lessons.queries import Lesson
from services.access.roles import ROLE_LABELS_NL, Permission
from services.casework.protocol import (
    CASE_EVENT_NAMES,
    KEY_MAX,
    KEY_PATTERN,
    MAX_DEADLINE_SCHOOL_DAYS,
    MAX_LABEL,
    MAX_STEPS,
)
from services.shared.text import REQUIRED_TEXT_PATTERN


@dataclasses.dataclass(frozen=True)
class Me:
    user_id: str
    display_name: str
    school_id: UUID | None
    school_slug: str | None
    board_id: UUID | None
    roles: list[str]
    role: str
    role_label: str


@dataclasses.dataclass(frozen=True)
class CaseSignals:
    case_id: UUID
    signals: list[Signal]


@dataclasses.dataclass(frozen=True)
class BoardStatistics:
    schools: list[dict[str, Any]]
    first_month: date
    last_month: date
    per_school: list[StatCell]
    totals: list[StatCell]


#: The case events a protocol step can be ticked off by.
CaseEventName = StrEnum(  # type: ignore[misc]
    "CaseEventName", {name: name for name in sorted(CASE_EVENT_NAMES)}
)


@dataclasses.dataclass(frozen=True)
class ProtocolStepBody:
    """One step of the checklist, ticked off by the first event of ``event_type``."""

    key: Annotated[
        str,
        msgspec.Meta(max_length=KEY_MAX),
        KwargDefinition(min_length=1, max_length=KEY_MAX, pattern=KEY_PATTERN),
    ]
    label: Annotated[
        str,
        msgspec.Meta(max_length=MAX_LABEL),
        KwargDefinition(max_length=MAX_LABEL, pattern=REQUIRED_TEXT_PATTERN),
    ]
    event_type: CaseEventName
    deadline_school_days: (
        Annotated[
            int,
            msgspec.Meta(ge=0, le=MAX_DEADLINE_SCHOOL_DAYS),
            KwargDefinition(
                # For a whole number the same as ge=0, which Litestar leaves out of the
                # document (a bound of 0 is falsy there).
                gt=-1,
                le=MAX_DEADLINE_SCHOOL_DAYS,
                description="School days after the report; none: no deadline.",
            ),
        ]
        | None
    ) = None


@dataclasses.dataclass(frozen=True)
class ProtocolBody:
    """The school's whole checklist (replaces the one it has)."""

    steps: Annotated[
        list[ProtocolStepBody],
        msgspec.Meta(min_length=1, max_length=MAX_STEPS),
        KwargDefinition(min_items=1, max_items=MAX_STEPS),
    ]


@dataclasses.dataclass(frozen=True)
class Protocol:
    is_default: bool
    steps: list[dict[str, Any]]


@get(
    "/api/me",
    summary="Who I am, at which school, in which roles",
    tags=["me"],
    responses=problems(),
    guards=[LOGGED_IN],
)
async def api_me(request: Request[Any, Any, Any]) -> Me:
    p = await principal_of(request)
    return Me(
        user_id=p.user_id,
        display_name=p.display_name,
        school_id=p.school_id,
        school_slug=p.school_slug,
        board_id=p.board_id,
        roles=[str(r) for r in p.roles],
        role=str(p.role),
        role_label=ROLE_LABELS_NL[p.role],
    )


@get(
    "/api/signals",
    summary="Open cases that need attention (and closed cases whose Inspectie report is due)",
    tags=["school"],
    responses=problems(),
    guards=[requires(Permission.SIGNALS_READ)],
)
async def api_signals(request: Request[Any, Any, Any]) -> list[CaseSignals]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    found = await school_signals(Services.of(request.app.state), school, principal)
    return [CaseSignals(case_id=case_id, signals=s) for case_id, s in found.items()]


@get(
    "/api/escalations",
    summary="Police advice and complaint status per case",
    tags=["school"],
    responses=problems(),
    guards=[requires(Permission.SIGNALS_READ)],
)
async def api_escalations(request: Request[Any, Any, Any]) -> list[CaseEscalation]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await school_escalations(Services.of(request.app.state), school, principal)


@get(
    "/api/lessons",
    summary="Evaluations and lessons learned",
    tags=["school"],
    responses=problems(),
    guards=[requires(Permission.LESSONS_READ)],
)
async def api_lessons(request: Request[Any, Any, Any]) -> list[Lesson]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await school_lessons(Services.of(request.app.state), school, principal)


#: ``months`` of the statistics: how many months up to this one (1 to ten school years).
Months = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_MONTHS, description="How many months up to and including this one."
    ),
]


@get(
    "/api/stats/school",
    summary="Anonymous statistics of my school per month",
    tags=["stats"],
    responses=problems(),
    guards=[requires(Permission.STATS_SCHOOL)],
)
async def api_school_stats(request: Request[Any, Any, Any], months: Months = 12) -> list[StatCell]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await school_statistics(Services.of(request.app.state), school, principal, months)


@get(
    "/api/stats/board",
    summary="Anonymous statistics across my board's schools",
    tags=["stats"],
    responses=problems(),
    guards=[requires(Permission.STATS_BOARD)],
)
async def api_board_stats(request: Request[Any, Any, Any], months: Months = 12) -> BoardStatistics:
    principal = await principal_of(request)
    found = await board_statistics(Services.of(request.app.state), principal, months)
    return BoardStatistics(**found)


@get(
    "/api/protocol",
    summary="My school's anti-bullying protocol checklist",
    tags=["school"],
    responses=problems(),
    guards=[LOGGED_IN],
)
async def api_protocol(request: Request[Any, Any, Any]) -> Protocol:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return Protocol(is_default=school.protocol_is_default, steps=school.protocol.to_json())


@put(
    "/api/protocol",
    summary="Replace my school's protocol checklist",
    tags=["school"],
    responses=problems(409, 422, body=True),
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def api_set_protocol(
    request: Request[Any, Any, Any], data: JSONBody[ProtocolBody]
) -> Protocol:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    steps = [{**dataclasses.asdict(s), "event_type": str(s.event_type)} for s in data.steps]
    updated = await anyio.to_thread.run_sync(
        lambda: services.registry.configure_protocol(school.id, steps, actor=principal.actor)
    )
    services.directory.evict(school.id)
    return Protocol(is_default=updated.protocol_is_default, steps=updated.protocol.to_json())


SCHOOL_ROUTES: list[Any] = [
    api_me,
    api_signals,
    api_escalations,
    api_lessons,
    api_school_stats,
    api_board_stats,
    api_protocol,
    api_set_protocol,
]
