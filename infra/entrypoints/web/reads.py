"""Read-side queries for one request: the principal's school, their permissions, asyncpg.

Handlers call these instead of the view queries directly, so the rules for who reads what are
applied in one place: need-to-know (:mod:`services.access.need_to_know`) decides which cases a
person finds (:func:`case_list`) and which parts of a case they see (:func:`case_page`); a case
of which they see nothing is "not found". The contact person and the coordinator read every case;
engaged staff the cases they were brought into, in part; the complaint roles a case's complaint
file; everyone else no case content.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import anyio.to_thread

from infra.adapters import monitor_averages
from infra.adapters.audit.access_log import PostgresAccessLog
from infra.adapters.auth.principal import Principal
from infra.entrypoints.web.context import Services, today
from projections import yearly_report as yearly
from projections.board_stats import queries as stats
from projections.case_view.queries import (
    CaseDetail,
    CaseListItem,
    case_detail,
    detail_facts,
    list_cases,
    redact,
)
from projections.case_view.work import WorkItem, my_work
from projections.db import table
from projections.escalation.queries import CaseEscalation, Signal, escalations, signals
from projections.incident_stats import queries as incident_stats
from projections.lessons.queries import Lesson, lesson_count, lessons, lessons_between
from projections.pupils.queries import PupilSignal, PupilSignalKind, pupil_signals, signal_counts
from services.access.need_to_know import Part, Sight, reads_cases, sight
from services.access.roles import Permission, reads_case_wide
from services.audit.access_log import AccessLog, CaseRead, ReadKind
from services.casework.application import register_of
from services.casework.sealing import key_lookup, unseal_tree
from services.privacy.redaction import PassageSearch, search_case
from services.pupils.register import PupilEntry
from services.shared.errors import CaseNotFound, InvalidInput, PermissionDenied
from tenants.registry import School


def access_log(services: Services, school: School) -> AccessLog:
    """The school's access log (:mod:`services.audit.access_log`), kept in its schema."""
    return AccessLog(PostgresAccessLog(services.read_pool, school.schema_name))


def _reads_cases(principal: Principal) -> None:
    """Refuse (403) a role that never sees anything of any case."""
    if not reads_cases(principal.role):
        msg = f"role '{principal.role}' reads no case content"
        raise PermissionDenied(msg)


async def unsealed(services: Services, school: School, value: Any, redactions: Any = None) -> Any:
    """``value`` (read from a view) with its sealed pupil fields and passages opened with the
    school's keys: the views keep ciphertext only, names and texts appear as a page or an answer
    is rendered (destroyed keys read as ``[gewist]`` or their redaction's text)."""
    app = services.container.schools.get(school.id)
    lookup = key_lookup(app.pupil_keys, app.content_keys)
    return await anyio.to_thread.run_sync(lambda: unseal_tree(value, lookup, redactions))


async def case_list(
    services: Services,
    school: School,
    principal: Principal,
    *,
    status: str | None = None,
    owner_id: str | Sequence[str] | None = None,
    form: str | None = None,
    signal: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CaseListItem]:
    _reads_cases(principal)
    async with services.read_pool.acquire() as conn:
        items = await list_cases(
            conn,
            school.schema_name,
            status=status,
            owner_id=owner_id,
            form=form,
            signal=signal,
            caller=principal,
            today=today(),
            protocol=school.protocol,
            limit=limit,
            offset=offset,
        )
    summaries = await unsealed(services, school, [item.summary for item in items])
    return [
        dataclasses.replace(item, summary=summary)
        for item, summary in zip(items, summaries, strict=True)
    ]


async def case_page(
    services: Services, school: School, principal: Principal, case_id: UUID
) -> CaseDetail:
    """The case page with only the parts the principal sees (need-to-know), or
    ``CaseNotFound`` when it does not exist in this school or they see nothing of it (no hint
    which)."""
    _reads_cases(principal)
    async with services.read_pool.acquire() as conn:
        detail = await case_detail(
            conn, school.schema_name, case_id, today=today(), protocol=school.protocol
        )
    if detail is None:
        raise CaseNotFound(f"case {case_id} not found")
    redactions = detail.detail.get("redactions") or {}
    document, timeline = await unsealed(
        services, school, (detail.detail, [e.data for e in detail.timeline]), redactions
    )
    opened = dataclasses.replace(
        detail,
        detail=document,
        timeline=tuple(
            dataclasses.replace(entry, data=data)
            for entry, data in zip(detail.timeline, timeline, strict=True)
        ),
    )
    seen = case_sight(principal, opened)
    return redact(opened, seen, school.protocol)


def case_sight(principal: Principal, detail: CaseDetail) -> Sight:
    """What ``principal`` sees of the case (``CaseNotFound`` when nothing)."""
    seen = sight(principal, detail_facts(detail))
    if seen.nothing:
        raise CaseNotFound(f"case {detail.case_id} not found")
    return seen


async def work_of(services: Services, school: School, principal: Principal) -> list[WorkItem]:
    """ "Mijn werk" of the principal: their steps, aftercare, complaints and cases, overdue
    first. The case's first line is kept only where need-to-know shows the principal the case's
    overview; other items show the case's reference only."""
    async with services.read_pool.acquire() as conn:
        items = await my_work(conn, school.schema_name, principal.ids, today=today())
    shown = [
        i if sight(principal, i.facts).sees(Part.OVERVIEW) else dataclasses.replace(i, summary="")
        for i in items
    ]
    texts = await unsealed(services, school, [(i.summary, i.data) for i in shown])
    return [
        dataclasses.replace(i, summary=summary, data=data)
        for i, (summary, data) in zip(shown, texts, strict=True)
    ]


async def record_read(
    services: Services, school: School, principal: Principal, case_id: UUID, what: ReadKind
) -> None:
    """Record in the school's access log that ``principal`` read ``case_id``'s content.

    Call it after the content was loaded (and the principal found allowed) and before it is
    returned: if the read cannot be recorded, the content is not shown.
    """
    await access_log(services, school).record(principal.actor, case_id, what)


async def read_case_page(
    services: Services, school: School, principal: Principal, case_id: UUID, what: ReadKind
) -> CaseDetail:
    """:func:`case_page`, recorded in the access log as a read of kind ``what``."""
    detail = await case_page(services, school, principal, case_id)
    await record_read(services, school, principal, case_id, what)
    return detail


async def erasure_passages(
    services: Services,
    school: School,
    principal: Principal,
    case_id: UUID,
    *,
    names: Sequence[str] = (),
    references: Sequence[str] = (),
) -> PassageSearch:
    """The passages of the case that mention the pupil (from the log, opened with the school's
    keys), for whoever may manage the case; recorded in the access log before it is returned."""
    app = services.container.schools.get(school.id)
    found = await anyio.to_thread.run_sync(
        lambda: search_case(
            app, school.id, principal.actor, case_id, names=names, references=references
        )
    )
    await record_read(services, school, principal, case_id, ReadKind.ERASURE_PASSAGES)
    return found


async def reads_of_case(
    services: Services, school: School, principal: Principal, case_id: UUID
) -> list[CaseRead]:
    """Who read the case, when and how (for auditors)."""
    return await access_log(services, school).reads_of(principal.actor, case_id)


async def case_version(services: Services, school: School, case_id: UUID) -> int | None:
    async with services.read_pool.acquire() as conn:
        value = await conn.fetchval(
            f"SELECT version FROM {table(school.schema_name, 'cases')} WHERE case_id = $1",  # noqa: S608 (identifiers via table())
            case_id,
        )
    return None if value is None else int(value)


async def wait_for_version(
    services: Services, school: School, case_id: UUID, version: int, timeout: float = 3.0
) -> bool:
    """Wait until the case view shows ``version`` (read-your-writes for the page after a form);
    ``False`` when the worker has not caught up within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        shown = await case_version(services, school, case_id)
        if shown is not None and shown >= version:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)


async def school_signals(
    services: Services, school: School, principal: Principal
) -> dict[UUID, list[Signal]]:
    if not principal.may(Permission.SIGNALS_READ):
        raise PermissionDenied(f"role '{principal.role}' may not read signals")
    async with services.read_pool.acquire() as conn:
        return await signals(conn, school.schema_name, today=today(), protocol=school.protocol)


async def school_pupil_signals(
    services: Services, school: School, principal: Principal
) -> list[tuple[PupilSignal, PupilEntry]]:
    """The pupil signals with each pupil as the register has them (unsealed now), for the
    roles that read case-wide and signals (contact person, coordinator); none for others."""
    if not (principal.may(Permission.SIGNALS_READ) and reads_case_wide(principal.role)):
        return []
    async with services.read_pool.acquire() as conn:
        found = await pupil_signals(conn, school.schema_name)
    if not found:
        return []
    register = register_of(services.container.schools.get(school.id), school.id)
    pupils = {p.pupil_id: p for p in await anyio.to_thread.run_sync(register.all)}
    return [(s, pupils[s.pupil_id]) for s in found if s.pupil_id in pupils]


async def pupil_signal_counts(
    services: Services, schools: Sequence[School]
) -> dict[PupilSignalKind, int | None]:
    """Anonymous counts of the pupil signals over ``schools`` (suppressed below the
    threshold); the caller checks the statistics permission."""
    async with services.read_pool.acquire() as conn:
        return await signal_counts(conn, [s.schema_name for s in schools])


async def school_escalations(
    services: Services, school: School, principal: Principal
) -> list[CaseEscalation]:
    if not principal.may(Permission.SIGNALS_READ):
        raise PermissionDenied(f"role '{principal.role}' may not read escalations")
    async with services.read_pool.acquire() as conn:
        return await escalations(conn, school.schema_name)


async def school_lessons(services: Services, school: School, principal: Principal) -> list[Lesson]:
    if not principal.may(Permission.LESSONS_READ):
        raise PermissionDenied(f"role '{principal.role}' may not read lessons")
    async with services.read_pool.acquire() as conn:
        found = await lessons(conn, school.schema_name)
    texts = await unsealed(
        services, school, [[x.went_well, x.to_improve, list(x.lessons)] for x in found]
    )
    return [
        dataclasses.replace(x, went_well=w, to_improve=t, lessons=list(ls))
        for x, (w, t, ls) in zip(found, texts, strict=True)
    ]


def _year_bounds(year: yearly.SchoolYear) -> tuple[datetime, datetime]:
    """1 August of the school year to 1 August of the next, Dutch time."""
    zone = ZoneInfo("Europe/Amsterdam")
    return (
        datetime(year.start, 8, 1, tzinfo=zone),
        datetime(year.start + 1, 8, 1, tzinfo=zone),
    )


async def yearly_lesson_titles(
    services: Services, school: School, principal: Principal, year: yearly.SchoolYear
) -> list[str]:
    """The titles of the lessons learned in the school's evaluations of ``year`` (opened now:
    an erased passage reads ``[gewist]``); for roles that read the lessons."""
    if not principal.may(Permission.LESSONS_READ):
        raise PermissionDenied(f"role '{principal.role}' may not read lessons")
    since, until = _year_bounds(year)
    async with services.read_pool.acquire() as conn:
        found = await lessons_between(conn, school.schema_name, since, until)
    titles: list[list[str]] = await unsealed(services, school, [list(x.lessons) for x in found])
    return [" ".join(str(t).split()) for ls in titles for t in ls]


async def yearly_lesson_counts(
    services: Services, principal: Principal, schools: Sequence[School], year: yearly.SchoolYear
) -> dict[UUID, int]:
    """How many lessons each school's evaluations of ``year`` hold: a number only, no text
    (the board's report)."""
    if not principal.may(Permission.STATS_BOARD) or principal.board_id is None:
        raise PermissionDenied(f"role '{principal.role}' may not read the board's report")
    since, until = _year_bounds(year)
    found: dict[UUID, int] = {}
    async with services.read_pool.acquire() as conn:
        for school in schools:
            if school.board_id != principal.board_id:
                continue
            found[school.id] = await lesson_count(conn, school.schema_name, since, until)
    return found


#: The most months statistics cover in one request (ten school years).
MAX_MONTHS = 120


def month_range(months: int, until: date | None = None) -> tuple[date, date]:
    """The first days of the first and last month of the ``months`` months up to ``until``
    (1 to :data:`MAX_MONTHS`)."""
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(
            f"months must be between 1 and {MAX_MONTHS}", field="months", reason="out_of_range"
        )
    last = (until or today()).replace(day=1)
    # Counted in months since year 0, not stepped a year at a time: the old loop ran once per
    # year asked for, on the event loop, and stalled the whole server for a large ``months``.
    first = last.year * 12 + last.month - 1 - (months - 1)
    return date(first // 12, first % 12 + 1, 1), last


async def school_statistics(
    services: Services, school: School, principal: Principal, months: int = 12
) -> list[stats.StatCell]:
    if not principal.may(Permission.STATS_SCHOOL):
        raise PermissionDenied(f"role '{principal.role}' may not read school statistics")
    first, last = month_range(months)
    async with services.read_pool.acquire() as conn:
        return await stats.monthly(conn, [school.id], first_month=first, last_month=last)


async def school_incident_statistics(
    services: Services, school: School, principal: Principal, months: int = 12
) -> list[stats.StatCell]:
    """The school's incident counts per month (categories, serious incidents), suppressed."""
    if not principal.may(Permission.STATS_SCHOOL):
        raise PermissionDenied(f"role '{principal.role}' may not read school statistics")
    first, last = month_range(months)
    async with services.read_pool.acquire() as conn:
        return await incident_stats.incident_monthly(
            conn, [school.id], first_month=first, last_month=last
        )


async def board_incident_statistics(
    services: Services, principal: Principal, school_ids: Sequence[UUID], months: int = 12
) -> dict[str, list[stats.StatCell]]:
    """Incident counts per school and month, and totalled over the board's schools
    (``school_ids``: the same schools the board's other statistics are about)."""
    if not principal.may(Permission.STATS_BOARD) or principal.board_id is None:
        raise PermissionDenied(f"role '{principal.role}' may not read board statistics")
    first, last = month_range(months)
    async with services.read_pool.acquire() as conn:
        per_school = await incident_stats.incident_monthly(
            conn, school_ids, first_month=first, last_month=last
        )
        totals = await incident_stats.incident_totals(
            conn, school_ids, first_month=first, last_month=last
        )
    return {"per_school": per_school, "totals": totals}


async def board_statistics(
    services: Services, principal: Principal, months: int = 12
) -> dict[str, Any]:
    """Per school and month, and totals per month, over the principal's board."""
    if not principal.may(Permission.STATS_BOARD) or principal.board_id is None:
        raise PermissionDenied(f"role '{principal.role}' may not read board statistics")
    schools = await anyio.to_thread.run_sync(services.registry.list_schools, principal.board_id)
    ids = [s.id for s in schools]
    first, last = month_range(months)
    async with services.read_pool.acquire() as conn:
        per_school = await stats.monthly(conn, ids, first_month=first, last_month=last)
        totals = await stats.board_totals(conn, ids, first_month=first, last_month=last)
    return {
        "schools": [{"school_id": s.id, "name": s.name, "slug": s.slug} for s in schools],
        "first_month": first,
        "last_month": last,
        "per_school": per_school,
        "totals": totals,
    }


async def yearly_statistics(
    services: Services,
    principal: Principal,
    school_ids: Sequence[UUID],
    year: yearly.SchoolYear,
    *,
    board: bool,
) -> tuple[
    dict[yearly.SchoolYear, list[stats.StatCell]],
    dict[tuple[UUID, int], monitor_averages.MonitorAverages],
]:
    """The yearly report's cells of ``year`` and the year before, per school of ``school_ids``
    and their total (``board``: the board's schools, else the viewer's own school), and the
    schools' monitor averages of both years."""
    needed = Permission.STATS_BOARD if board else Permission.STATS_SCHOOL
    if not principal.may(needed) or (board and principal.board_id is None):
        raise PermissionDenied(f"role '{principal.role}' may not read this yearly report")
    async with services.read_pool.acquire() as conn:
        cells = await yearly.yearly(conn, school_ids, [year, year.previous])
        averages = await monitor_averages.read(conn, school_ids, [year.start, year.previous.start])
    return cells, averages
