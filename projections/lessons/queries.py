"""Reading the lessons of one school (asyncpg), for the anti-bullying coordinator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Lesson:
    """The evaluation of one case and whether its lessons were shared with the coordinator."""

    case_id: UUID
    evaluated_at: datetime
    evaluated_by: str
    went_well: str
    to_improve: str
    lessons: list[str]
    shared: bool
    shared_at: datetime | None
    coordinator_id: str | None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def lessons(
    conn: asyncpg.Connection, schema: str, *, shared_only: bool = False
) -> list[Lesson]:
    """The school's evaluations, newest first; ``shared_only``: only those shared with the
    coordinator."""
    where = " WHERE shared" if shared_only else ""
    records = await conn.fetch(
        "SELECT case_id, evaluated_at, evaluated_by, went_well, to_improve, lessons, shared,"  # noqa: S608
        f" shared_at, coordinator_id FROM {_quote(schema)}.lessons{where}"
        " ORDER BY evaluated_at DESC, case_id"
    )
    return [
        Lesson(
            case_id=r["case_id"],
            evaluated_at=r["evaluated_at"],
            evaluated_by=r["evaluated_by"],
            went_well=r["went_well"],
            to_improve=r["to_improve"],
            lessons=list(r["lessons"]),
            shared=r["shared"],
            shared_at=r["shared_at"],
            coordinator_id=r["coordinator_id"],
        )
        for r in records
    ]


async def lessons_between(
    conn: asyncpg.Connection, schema: str, since: datetime, until: datetime
) -> list[Lesson]:
    """The evaluations made from ``since`` up to (not including) ``until``, oldest first (their
    texts still sealed: the caller opens them as it renders)."""
    records = await conn.fetch(
        "SELECT case_id, evaluated_at, evaluated_by, went_well, to_improve, lessons, shared,"  # noqa: S608
        f" shared_at, coordinator_id FROM {_quote(schema)}.lessons"
        " WHERE evaluated_at >= $1 AND evaluated_at < $2 ORDER BY evaluated_at, case_id",
        since,
        until,
    )
    return [
        Lesson(
            case_id=r["case_id"],
            evaluated_at=r["evaluated_at"],
            evaluated_by=r["evaluated_by"],
            went_well=r["went_well"],
            to_improve=r["to_improve"],
            lessons=list(r["lessons"]),
            shared=r["shared"],
            shared_at=r["shared_at"],
            coordinator_id=r["coordinator_id"],
        )
        for r in records
    ]


async def lesson_count(
    conn: asyncpg.Connection, schema: str, since: datetime, until: datetime
) -> int:
    """How many lessons the evaluations from ``since`` up to ``until`` hold (no text read)."""
    found = await conn.fetchval(
        f"SELECT coalesce(sum(cardinality(lessons)), 0) FROM {_quote(schema)}.lessons"  # noqa: S608
        " WHERE evaluated_at >= $1 AND evaluated_at < $2",
        since,
        until,
    )
    return int(found or 0)
