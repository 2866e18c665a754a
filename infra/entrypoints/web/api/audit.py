"""Replay for auditors: a case's history, its state as of a moment, the differences between two
moments. Read from the school's event log (never from a view); every read is recorded in the
school's access log before the answer is returned.

Moments are ISO 8601 date-times; one without a time zone is taken on the school's clock
(Europe/Amsterdam). For "as of" and "to", a date alone means the end of that day and a time to
the minute the end of that minute; for "from", their start.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromPath, QueryParameter

from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.reads import reads_of_case, record_read
from services.access.roles import Permission
from services.audit import replay
from services.audit.access_log import CaseRead, ReadKind
from services.audit.replay import MOMENT_PATTERN, CaseDiff, HistoryEntry, StateAt
from services.shared.clock import SCHOOL_TZ

#: The moment before any case: a diff "from the beginning".
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


def parse_moment(raw: str | None, name: str, default: datetime) -> datetime:
    """A moment from a query (naive: the school's clock)."""
    return replay.parse_moment(raw, name, default, SCHOOL_TZ)


def moment_or_day(raw: str | None, name: str, default: datetime) -> datetime:
    """Like :func:`parse_moment`, for "as of" and "to" (a date or minute: its end)."""
    return replay.parse_until(raw, name, default, SCHOOL_TZ)


MOMENT_START = "A date (its start) or a date-time; without a zone: Dutch time."
MOMENT_END = (
    "A date (its end), a date-time to the minute (the end of that minute) or to the second; "
    "without a zone: Dutch time."
)


def moment_parameter(name: str, description: str) -> QueryParameter:
    """A moment in the query (checked against :data:`MOMENT_PATTERN`, then parsed)."""
    return QueryParameter(name=name, pattern=MOMENT_PATTERN, description=description)


@dataclasses.dataclass(frozen=True)
class CaseHistory:
    """Every event of the case (data only for readers of case content) and every recorded read
    of it, oldest first."""

    case_id: UUID
    events: list[HistoryEntry]
    reads: list[CaseRead]


@get(
    "/api/cases/{case_id:uuid}/history",
    summary="A case's full history and its access log (auditors)",
    tags=["audit"],
    responses=problems(404),
    guards=[requires(Permission.AUDIT_READ)],
)
async def api_case_history(request: Request[Any, Any, Any], case_id: FromPath[UUID]) -> CaseHistory:
    """Needs 'audit.read'; the events' data also needs 'case.read'. Recorded as a read."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    audit = services.case_replay(school)
    events = await anyio.to_thread.run_sync(audit.history, principal.actor, case_id)
    await record_read(services, school, principal, case_id, ReadKind.HISTORY)
    reads = await reads_of_case(services, school, principal, case_id)
    return CaseHistory(case_id=case_id, events=events, reads=reads)


@get(
    "/api/cases/{case_id:uuid}/state",
    summary="A case's state as of a moment (auditors)",
    tags=["audit"],
    responses=problems(404, 422),
    guards=[requires(Permission.AUDIT_READ)],
)
async def api_case_state(
    request: Request[Any, Any, Any],
    case_id: FromPath[UUID],
    as_of: Annotated[str | None, moment_parameter("as_of", MOMENT_END)] = None,
) -> StateAt:
    """``as_of``: ISO date-time (default now). Needs 'audit.read' and 'case.read'."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    moment = moment_or_day(as_of, "as_of", datetime.now(UTC))
    audit = services.case_replay(school)
    state = await anyio.to_thread.run_sync(audit.state_as_of, principal.actor, case_id, moment)
    await record_read(services, school, principal, case_id, ReadKind.STATE)
    return state


@get(
    "/api/cases/{case_id:uuid}/diff",
    summary="What changed in a case between two moments, and the events in between (auditors)",
    tags=["audit"],
    responses=problems(404, 422),
    guards=[requires(Permission.AUDIT_READ)],
)
async def api_case_diff(
    request: Request[Any, Any, Any],
    case_id: FromPath[UUID],
    start: Annotated[str | None, moment_parameter("from", MOMENT_START)] = None,
    end: Annotated[str | None, moment_parameter("to", MOMENT_END)] = None,
) -> CaseDiff:
    """``from`` (default: before the report) and ``to`` (default now): ISO date-times."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    first = parse_moment(start, "from", BEGINNING)
    last = moment_or_day(end, "to", datetime.now(UTC))
    audit = services.case_replay(school)
    diff = await anyio.to_thread.run_sync(audit.diff, principal.actor, case_id, first, last)
    await record_read(services, school, principal, case_id, ReadKind.DIFF)
    return diff


AUDIT_ROUTES: list[Any] = [api_case_history, api_case_state, api_case_diff]
