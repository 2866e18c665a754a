""" "Mijn werk": what one person has to do, read from the case view (asyncpg).

For the person's ids (their person id, and the login id older events hold): the planned steps
assigned to them or that they are engaged in, the aftercare (follow-ups) not yet recorded on
cases they own, the open complaints they support or handle, and the open cases they own; each
item with its date, overdue first. Items carry the case's id and the case's first line (what the
case list shows) only: callers decide whether the viewer may read that line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg

from projections.db import table
from services.access.need_to_know import CaseFacts, facts_from_document
from services.casework.sealing import sealed_as_text

#: At most this many cases are read for one person's work.
MAX_CASES = 500


class WorkKind(StrEnum):
    STEP = "step"
    FOLLOW_UP = "follow_up"
    COMPLAINT = "complaint"
    CASE = "case"


@dataclass(frozen=True)
class WorkItem:
    """One thing to do: its kind, its case, its date (``None``: no date) and its details."""

    kind: WorkKind
    case_id: UUID
    summary: str
    due_on: date | None
    overdue: bool
    #: Kind-specific words: the step's kind and description, the complaint's level, the case's
    #: status.
    data: dict[str, Any]
    #: What decides who reads the case's first line (need-to-know).
    facts: CaseFacts


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _items(row: asyncpg.Record, mine: set[str], today: date) -> list[WorkItem]:
    detail = row["detail"]
    detail = detail if isinstance(detail, dict) else {}
    case_id: UUID = row["case_id"]
    # Sealed in the view (a passage): kept as its JSON text, opened when the page is rendered.
    summary = str(sealed_as_text(detail.get("summary")) or "")
    facts = facts_from_document(detail)
    found = []

    def item(kind: WorkKind, due: date | None, **data: Any) -> WorkItem:
        return WorkItem(kind, case_id, summary, due, due is not None and due < today, data, facts)

    for step_id, step in (detail.get("steps") or {}).items():
        if step.get("status") != "planned":
            continue
        engaged = {str(e.get("user_id")) for e in step.get("engaged") or []}
        if step.get("assignee_id") in mine or engaged & mine:
            found.append(
                item(
                    WorkKind.STEP,
                    _day(step.get("due_on")),
                    step_id=step_id,
                    step_kind=step.get("kind"),
                    description=step.get("description", ""),
                )
            )
    owner = row["owner_id"] in mine
    if owner and row["status"] != "closed":
        for follow_up_id, f in (detail.get("follow_ups") or {}).items():
            if not f.get("completed"):
                found.append(
                    item(WorkKind.FOLLOW_UP, _day(f.get("due_on")), follow_up_id=follow_up_id)
                )
    for complaint_id, c in (detail.get("complaints") or {}).items():
        support = c.get("support") or {}
        roles = sorted({str(r) for uid, r in support.items() if uid in mine})
        if c.get("status") == "open" and roles:
            found.append(
                item(
                    WorkKind.COMPLAINT,
                    _day(c.get("filed_at")),
                    complaint_id=complaint_id,
                    level=c.get("level"),
                    support_roles=roles,
                )
            )
    if owner and row["status"] != "closed":
        found.append(
            item(
                WorkKind.CASE,
                row["next_follow_up_due"],
                status=row["status"],
                reported_at=row["reported_at"].date().isoformat(),
            )
        )
    return found


def order(items: Sequence[WorkItem]) -> list[WorkItem]:
    """Overdue first (oldest date first), then by date, undated last."""
    return sorted(
        items,
        key=lambda i: (
            not i.overdue,
            i.due_on is None,
            i.due_on or date.max,
            list(WorkKind).index(i.kind),
            str(i.case_id),
        ),
    )


async def my_work(
    conn: asyncpg.Connection, schema: str, person_ids: Sequence[str], *, today: date
) -> list[WorkItem]:
    """The work of the person with ``person_ids`` at this school (see the module's docstring)."""
    ids = [i for i in person_ids if i]
    if not ids:
        return []
    records = await conn.fetch(
        "SELECT case_id, status, owner_id, reported_at, next_follow_up_due, detail"  # noqa: S608 (identifiers via table(); values are parameters)
        f" FROM {table(schema, 'cases')}"
        " WHERE owner_id = ANY($1::text[]) OR engaged_user_ids && $1::text[]"
        " OR EXISTS (SELECT 1 FROM jsonb_each(detail -> 'steps') s"
        "            WHERE s.value ->> 'assignee_id' = ANY($1::text[]))"
        " OR EXISTS (SELECT 1 FROM jsonb_each(detail -> 'complaints') c"
        "            WHERE (c.value -> 'support') ?| $1::text[])"
        " ORDER BY last_activity_at DESC LIMIT $2",
        ids,
        MAX_CASES,
    )
    mine = set(ids)
    found: list[WorkItem] = []
    for row in records:
        found.extend(_items(row, mine, today))
    return order(found)
