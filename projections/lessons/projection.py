"""Lessons: the evaluated lessons of a school's cases, for the anti-bullying coordinator (APC).

One row per evaluated case in the school's schema (``lessons``): when it was evaluated, what went
well, what could improve, the lessons, and whether (when, with whom) they were shared with the
coordinator. A re-evaluation (after reopening) replaces the row, and its lessons count as not
shared until they are shared again. Cases that were never evaluated have no row. Built from the
events only, so replay equals live.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL, Identifier

from projections.engine import Batch, Target, View
from services.casework.domain import Case
from services.casework.sealing import sealed_as_text

Row = dict[str, Any]

LESSONS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    case_id uuid PRIMARY KEY,
    evaluated_at timestamptz NOT NULL,
    evaluated_by text NOT NULL,
    went_well text NOT NULL,
    to_improve text NOT NULL,
    lessons text[] NOT NULL,
    shared boolean NOT NULL,
    shared_at timestamptz,
    coordinator_id text
)"""

#: The events this view reads; every other event leaves it unchanged.
RELEVANT: tuple[type, ...] = (Case.CaseEvaluated, Case.LessonsShared)


def _evaluated(row: Row | None, e: Case.CaseEvaluated) -> Row:
    return {
        "evaluated_at": e.timestamp.isoformat(),
        "evaluated_by": e.actor_id,
        # Sealed passages are kept as their JSON text (the columns are text): opened when read.
        "went_well": sealed_as_text(e.went_well),
        "to_improve": sealed_as_text(e.to_improve),
        "lessons": [sealed_as_text(lesson) for lesson in e.lessons],
        "shared": False,
        "shared_at": None,
        "coordinator_id": None,
    }


def _shared(row: Row | None, e: Case.LessonsShared) -> Row | None:
    if row is None:  # the aggregate refuses this; ignore rather than invent an evaluation
        return None
    return {**row, "shared": True, "shared_at": e.timestamp.isoformat(),
            "coordinator_id": e.coordinator_id}  # fmt: skip


HANDLERS: dict[type, Callable[[Row | None, Any], Row | None]] = {
    Case.CaseEvaluated: _evaluated,
    Case.LessonsShared: _shared,
}


def evolve(row: Row | None, event: Any) -> Row | None:
    """The case's lessons row after ``event`` (pure); None: the case has no evaluation."""
    handler = HANDLERS.get(type(event))
    return handler(row, event) if handler is not None else row


def _columns(case_id: UUID, row: Row) -> tuple[Any, ...]:
    return (
        case_id,
        datetime.fromisoformat(row["evaluated_at"]),
        row["evaluated_by"],
        row["went_well"],
        row["to_improve"],
        list(row["lessons"]),
        row["shared"],
        datetime.fromisoformat(row["shared_at"]) if row["shared_at"] else None,
        row["coordinator_id"],
    )


def _row(record: Any) -> Row:
    r = record if isinstance(record, dict) else dict(zip(COLUMNS, record, strict=True))
    return {
        "evaluated_at": r["evaluated_at"].isoformat(),
        "evaluated_by": r["evaluated_by"],
        "went_well": r["went_well"],
        "to_improve": r["to_improve"],
        "lessons": list(r["lessons"]),
        "shared": r["shared"],
        "shared_at": r["shared_at"].isoformat() if r["shared_at"] else None,
        "coordinator_id": r["coordinator_id"],
    }


COLUMNS = ("case_id", "evaluated_at", "evaluated_by", "went_well", "to_improve", "lessons",
           "shared", "shared_at", "coordinator_id")  # fmt: skip


class LessonsView(View):
    """Evaluations and lessons of one school's cases."""

    name = "lessons"
    school_tables = {"lessons": LESSONS_DDL}

    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        events: list[Any] = [e for _, e in batch if isinstance(e, RELEVANT)]
        if not events:
            return
        ids = sorted({e.originator_id for e in events})
        curs.execute(
            SQL("SELECT * FROM {} WHERE case_id = ANY(%s)").format(target.table("lessons")),
            (ids,),
        )
        rows: dict[UUID, Row | None] = {}
        for record in curs.fetchall():
            case_id = record["case_id"] if isinstance(record, dict) else record[0]
            rows[case_id] = _row(record)
        for event in events:
            rows[event.originator_id] = evolve(rows.get(event.originator_id), event)
        placeholders = SQL(", ").join(SQL("%s") for _ in COLUMNS)
        updates = SQL(", ").join(
            SQL("{0} = excluded.{0}").format(Identifier(c)) for c in COLUMNS[1:]
        )
        curs.executemany(
            SQL(
                "INSERT INTO {table} ({columns}) VALUES ({placeholders})"
                " ON CONFLICT (case_id) DO UPDATE SET {updates}"
            ).format(
                table=target.table("lessons"),
                columns=SQL(", ").join(Identifier(c) for c in COLUMNS),
                placeholders=placeholders,
                updates=updates,
            ),
            [_columns(case_id, row) for case_id, row in sorted(rows.items()) if row is not None],
        )
