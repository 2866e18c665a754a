"""The case list and the case detail, read from the case view (asyncpg).

The list filters on status, owner, form of bullying, signal (:mod:`projections.escalation`) and
the user engaged in a case (a mentor sees the cases they were brought into). The detail carries
the full timeline (who, in which role, when, what) and the school's protocol checklist.

Need-to-know (:mod:`services.access.need_to_know`): the list takes the ``caller`` and lists
only the cases they have a relation to, each item redacted to what they see; the detail is
redacted with :func:`redact` (``infra.entrypoints.web.reads`` does, for every page and API answer).
Without a ``caller`` these functions return case content to whoever calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from projections.db import table
from projections.escalation.queries import (
    DEFAULT_INACTIVITY_DAYS,
    Signal,
    signal_kind,
    signals,
)
from services.access.need_to_know import (
    EVENT_PARTS,
    Caller,
    CaseFacts,
    Part,
    Reach,
    Sight,
    facts_from_document,
    reach,
    sight,
)
from services.casework.domain import choice
from services.casework.protocol import ProtocolChecklist, StepProgress, progress
from services.casework.protocol import done_events as protocol_done_events
from services.casework.vocabulary import LABELS_NL, CaseStatus, Form
from services.shared.errors import InvalidInput

MAX_LIMIT = 500
#: The furthest a list may page (beyond any school's number of cases; keeps the SQL in 64 bits).
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class CaseListItem:
    case_id: UUID
    status: str
    status_label: str
    owner_id: str | None
    reporter_kind: str
    summary: str
    reported_at: datetime
    intake_on: date | None
    forms: tuple[str, ...]
    locations: tuple[str, ...]
    complaint_level: str | None
    next_follow_up_due: date | None
    last_activity_at: datetime
    closed_at: datetime | None
    version: int
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class TimelineEntry:
    version: int
    at: datetime
    event_type: str
    actor_id: str
    actor_role: str
    data: dict[str, Any]


@dataclass(frozen=True)
class CaseDetail:
    case_id: UUID
    status: str
    status_label: str
    owner_id: str | None
    reporter_kind: str
    reported_at: datetime
    intake_on: date | None
    complaint_level: str | None
    closed_at: datetime | None
    version: int
    #: The case page's document (participants, situation, consents, steps, agreements, ...).
    detail: dict[str, Any]
    timeline: tuple[TimelineEntry, ...]
    checklist: tuple[StepProgress, ...]
    signals: tuple[Signal, ...]


_LIST_COLUMNS = (
    "case_id, status, owner_id, reporter_kind, detail ->> 'summary' AS summary, reported_at,"
    " intake_on, forms, locations, complaint_level, next_follow_up_due, last_activity_at,"
    " closed_at, version, engaged_user_ids, detail -> 'steps' AS steps,"
    " detail -> 'complaints' AS complaints, detail -> 'complaint_explained' AS explained"
)


def _reach_condition(found: Reach, param: Any) -> str | None:
    """SQL for "the caller has a relation to the case" (None: every case)."""
    if found.every_case:
        return None
    ors = []
    if found.engaged_ids:
        ors.append(f"engaged_user_ids && {param(list(found.engaged_ids), '::text[]')}")
    if found.support_ids:
        ids = param(list(found.support_ids), "::text[]")
        exists = "EXISTS (SELECT 1 FROM jsonb_each(detail -> 'complaints') AS c WHERE"
        ors.append(f"{exists} (c.value -> 'support') ?| {ids})")
    if found.complaint_route:
        ors.append(
            "(complaint_level IS NOT NULL"
            " OR coalesce((detail ->> 'complaint_explained')::boolean, false))"
        )
    if found.complaint_levels:
        ors.append(f"complaint_level = ANY({param(list(found.complaint_levels), '::text[]')})")
    return "(" + " OR ".join(ors) + ")" if ors else "false"


def list_facts(record: Any) -> CaseFacts:
    """The need-to-know facts of a list row (its steps, complaints, engaged ids)."""
    return facts_from_document(
        {
            "steps": record["steps"] or {},
            "complaints": record["complaints"] or {},
            "complaint_explained": record["explained"],
            "engaged_user_ids": record["engaged_user_ids"],
        }
    )


def _redact_item(item: CaseListItem, seen: Sight) -> CaseListItem:
    if seen.everything:
        return item
    return replace(
        item,
        forms=item.forms if seen.sees(Part.SITUATION) else (),
        locations=item.locations if seen.sees(Part.SITUATION) else (),
        complaint_level=item.complaint_level if seen.sees(Part.COMPLAINTS) else None,
        next_follow_up_due=item.next_follow_up_due if seen.sees(Part.FOLLOW_UPS) else None,
        signals=_visible_signals(item.signals, seen),
    )


def _visible_signals(found: tuple[Signal, ...], seen: Sight) -> tuple[Signal, ...]:
    kinds = set(seen.signal_kinds(s.kind.value for s in found))
    return tuple(s for s in found if s.kind.value in kinds)


async def list_cases(
    conn: asyncpg.Connection,
    schema: str,
    *,
    status: str | None = None,
    owner_id: str | Sequence[str] | None = None,
    form: str | None = None,
    signal: str | None = None,
    engaged_user_id: str | Sequence[str] | None = None,
    caller: Caller | None = None,
    today: date,
    protocol: ProtocolChecklist,
    inactivity_days: int = DEFAULT_INACTIVITY_DAYS,
    limit: int = 50,
    offset: int = 0,
) -> list[CaseListItem]:
    """One page of the school's cases, most recently active first, each with its signals.

    ``caller``: only the cases they have a relation to, each redacted to what they see; a
    filter on a part they do not see on a case (a form of bullying, a signal) leaves it out."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET}")
    where: list[str] = []
    params: list[Any] = []

    def param(value: Any, cast: str = "") -> str:
        params.append(value)
        return f"${len(params)}{cast}"

    if status is not None:
        where.append(f"status = {param(choice(CaseStatus, status, 'status').value)}")
    if owner_id is not None:
        owners = [owner_id] if isinstance(owner_id, str) else list(owner_id)
        where.append(f"owner_id = ANY({param(owners, '::text[]')})")
    if form is not None:
        where.append(f"{param(choice(Form, form, 'form').value)} = ANY(forms)")
    if engaged_user_id is not None:
        # A person id, and the ids the same person was recorded under before the directory.
        engaged = [engaged_user_id] if isinstance(engaged_user_id, str) else list(engaged_user_id)
        where.append(f"engaged_user_ids && {param(engaged, '::text[]')}")
    if caller is not None:
        found = reach(caller)
        if found.no_case:
            return []
        condition = _reach_condition(found, param)
        if condition is not None:
            where.append(condition)
    if signal is not None:
        kind = signal_kind(signal)
        flagged = await signals(
            conn, schema, today=today, protocol=protocol, inactivity_days=inactivity_days
        )
        ids = [case_id for case_id, found in flagged.items() if any(s.kind is kind for s in found)]
        where.append(f"case_id = ANY({param(ids, '::uuid[]')})")
    query = f"SELECT {_LIST_COLUMNS} FROM {table(schema, 'cases')}"  # noqa: S608 (identifiers via table(); values are parameters)
    if where:
        query += " WHERE " + " AND ".join(where)
    query += f" ORDER BY last_activity_at DESC, case_id LIMIT {param(limit)} OFFSET {param(offset)}"
    records = await conn.fetch(query, *params)
    page_signals = (
        await signals(
            conn,
            schema,
            today=today,
            protocol=protocol,
            inactivity_days=inactivity_days,
            case_ids=[r["case_id"] for r in records],
        )
        if records
        else {}
    )
    items = [
        CaseListItem(
            case_id=r["case_id"],
            status=r["status"],
            status_label=LABELS_NL[CaseStatus(r["status"])],
            owner_id=r["owner_id"],
            reporter_kind=r["reporter_kind"],
            summary=r["summary"] or "",
            reported_at=r["reported_at"],
            intake_on=r["intake_on"],
            forms=tuple(r["forms"]),
            locations=tuple(r["locations"]),
            complaint_level=r["complaint_level"],
            next_follow_up_due=r["next_follow_up_due"],
            last_activity_at=r["last_activity_at"],
            closed_at=r["closed_at"],
            version=r["version"],
            signals=tuple(page_signals.get(r["case_id"], ())),
        )
        for r in records
    ]
    if caller is None:
        return items
    shown = []
    for record, item in zip(records, items, strict=True):
        seen = sight(caller, list_facts(record))
        if seen.nothing:
            continue
        if form is not None and not seen.sees(Part.SITUATION):
            continue
        if signal is not None and not seen.signal_kinds([signal_kind(signal).value]):
            continue
        shown.append(_redact_item(item, seen))
    return shown


def done_events(timeline: tuple[TimelineEntry, ...]) -> dict[str, date | datetime]:
    """When each protocol step's event fulfilled it
    (:func:`services.casework.protocol.done_events`: the intake on the day it was held,
    aftercare only while the latest found the bullying stopped)."""
    return protocol_done_events((e.event_type, e.at, e.data) for e in timeline)


async def case_detail(
    conn: asyncpg.Connection,
    schema: str,
    case_id: UUID,
    *,
    today: date,
    protocol: ProtocolChecklist,
    inactivity_days: int = DEFAULT_INACTIVITY_DAYS,
) -> CaseDetail | None:
    """The case page: state, full timeline, protocol checklist and signals (None: no such case)."""
    row = await conn.fetchrow(
        "SELECT case_id, status, owner_id, reporter_kind, reported_at, intake_on,"  # noqa: S608 (identifiers via table(); values are parameters)
        " complaint_level, closed_at, version, detail"
        f" FROM {table(schema, 'cases')} WHERE case_id = $1",
        case_id,
    )
    if row is None:
        return None
    records = await conn.fetch(
        "SELECT version, at, event_type, actor_id, actor_role, data"  # noqa: S608 (identifiers via table(); values are parameters)
        f" FROM {table(schema, 'case_timeline')} WHERE case_id = $1 ORDER BY version",
        case_id,
    )
    timeline = tuple(
        TimelineEntry(
            version=r["version"],
            at=r["at"],
            event_type=r["event_type"],
            actor_id=r["actor_id"],
            actor_role=r["actor_role"],
            data=r["data"],
        )
        for r in records
    )
    found = await signals(
        conn,
        schema,
        today=today,
        protocol=protocol,
        inactivity_days=inactivity_days,
        case_ids=[case_id],
    )
    return CaseDetail(
        case_id=row["case_id"],
        status=row["status"],
        status_label=LABELS_NL[CaseStatus(row["status"])],
        owner_id=row["owner_id"],
        reporter_kind=row["reporter_kind"],
        reported_at=row["reported_at"],
        intake_on=row["intake_on"],
        complaint_level=row["complaint_level"],
        closed_at=row["closed_at"],
        version=row["version"],
        detail=row["detail"],
        timeline=timeline,
        checklist=tuple(progress(protocol, done_events(timeline), row["reported_at"], today)),
        signals=tuple(found.get(case_id, ())),
    )


def detail_facts(detail: CaseDetail) -> CaseFacts:
    """The need-to-know facts of a case page (from its document)."""
    return facts_from_document(detail.detail)


def redact(detail: CaseDetail, seen: Sight, protocol: ProtocolChecklist) -> CaseDetail:
    """The case page with only what ``seen`` shows: the document's parts, the timeline's
    entries, the protocol steps and the signals of visible parts."""
    timeline = []
    for entry in detail.timeline:
        data = seen.entry(entry.event_type, entry.actor_id, entry.data)
        if data is not None:
            timeline.append(replace(entry, data=data))
    if seen.everything:
        return replace(detail, detail=seen.document(detail.detail), timeline=tuple(timeline))
    event_types = {step.key: step.event_type for step in protocol.steps}
    return replace(
        detail,
        complaint_level=detail.complaint_level if seen.sees(Part.COMPLAINTS) else None,
        detail=seen.document(detail.detail),
        timeline=tuple(timeline),
        checklist=tuple(
            p
            for p in detail.checklist
            if seen.sees_any(EVENT_PARTS.get(event_types.get(p.key, ""), Part.HISTORY))
        ),
        signals=_visible_signals(detail.signals, seen),
    )
