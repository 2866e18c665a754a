"""A school's social-safety monitor averages per school year (``platform.monitor_averages``).

Dutch schools measure every year how safe their pupils feel (Wet veiligheid op school): a
monitor gives the school averages — experienced safety, bullying, well-being. The coordinator
enters them per school year (issue 15 §2); the yearly report shows them beside the case
figures. Three numbers per school and year (0 to 100, as the monitor gives them: a percentage or
a score), and when they were last entered: no personal data, no names, no user ids.

They can also be imported from a CSV file (:mod:`infra.adapters.monitor_csv`); each import is
recorded in
``platform.monitor_average_imports`` (when, by which staff user id, which school years, and
which of them it replaced): a staff member's id, never a pupil's data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from uuid import UUID, uuid4

import asyncpg

from services.shared.errors import InvalidInput

#: One statement per execute (what a Citus coordinator accepts); idempotent, run at start-up.
MONITOR_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS platform.monitor_averages ("
    " school_id uuid NOT NULL,"
    " school_year integer NOT NULL,"
    " safety numeric(5,1) NOT NULL,"
    " bullying numeric(5,1) NOT NULL,"
    " wellbeing numeric(5,1) NOT NULL,"
    " recorded_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (school_id, school_year))",
    "CREATE TABLE IF NOT EXISTS platform.monitor_average_imports ("
    " import_id uuid PRIMARY KEY,"
    " school_id uuid NOT NULL,"
    " imported_at timestamptz NOT NULL,"
    " imported_by text NOT NULL,"
    " school_years integer[] NOT NULL,"
    " replaced integer[] NOT NULL)",
)

#: The form's fields, in order, with the column each fills.
FIELDS: tuple[tuple[str, str], ...] = (
    ("veiligheid", "safety"),
    ("pesten", "bullying"),
    ("welbevinden", "wellbeing"),
)
INVALID_AVERAGE = "invalid_average"


@dataclass(frozen=True)
class MonitorAverages:
    safety: Decimal
    bullying: Decimal
    wellbeing: Decimal


async def ensure_monitor_table(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('vangnet.monitor_averages'))")
        for statement in MONITOR_TABLE_DDL:
            await conn.execute(statement)


def parse_average(field: str, text: str | None) -> Decimal:
    """``87,5`` or ``87.5``: 0 to 100 with at most one decimal; else InvalidInput naming
    ``field``."""
    raw = (text or "").strip().replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 <= value <= 100 or value != value.quantize(Decimal("0.1")):
        raise InvalidInput(
            f"{field} must be a number from 0 to 100 with at most one decimal",
            field=field,
            reason=INVALID_AVERAGE,
        )
    return value.quantize(Decimal("0.1"))


def parse_form(form: Mapping[str, str]) -> MonitorAverages:
    """The three averages of a submitted form (the first bad field is named)."""
    values = [parse_average(field, form.get(field)) for field, _ in FIELDS]
    return MonitorAverages(*values)


async def record(
    pool: asyncpg.Pool, school_id: UUID, school_year: int, averages: MonitorAverages
) -> None:
    """Enter (or correct) the school's averages of a school year."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO platform.monitor_averages"
            " (school_id, school_year, safety, bullying, wellbeing, recorded_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (school_id, school_year) DO UPDATE SET safety = excluded.safety,"
            " bullying = excluded.bullying, wellbeing = excluded.wellbeing,"
            " recorded_at = excluded.recorded_at",
            school_id,
            school_year,
            averages.safety,
            averages.bullying,
            averages.wellbeing,
            datetime.now(UTC),  # bound, not now(): the SQL conventions (Citus)
        )


@dataclass(frozen=True)
class ImportRecord:
    """One import of a school's averages: when, by whom (a staff user id), which years."""

    school_id: UUID
    imported_at: datetime
    imported_by: str
    school_years: tuple[int, ...]
    replaced: tuple[int, ...]


async def record_import(
    pool: asyncpg.Pool,
    school_id: UUID,
    rows: Sequence[tuple[int, MonitorAverages]],
    *,
    imported_by: str,
) -> ImportRecord:
    """Store a file's averages (school year start, averages) in one transaction: a year entered
    before is replaced; the import itself is recorded."""
    (found,) = await record_imports(pool, {school_id: rows}, imported_by=imported_by)
    return found


async def record_imports(
    pool: asyncpg.Pool,
    rows_by_school: Mapping[UUID, Sequence[tuple[int, MonitorAverages]]],
    *,
    imported_by: str,
) -> list[ImportRecord]:
    """The same for several schools (a board's file), all in one transaction."""
    now = datetime.now(UTC)  # bound, not now(): the SQL conventions (Citus)
    found: list[ImportRecord] = []
    async with pool.acquire() as conn, conn.transaction():
        for school_id, rows in rows_by_school.items():
            found.append(await _record(conn, school_id, rows, imported_by, now))
    return found


async def _record(
    conn: asyncpg.Connection,
    school_id: UUID,
    rows: Sequence[tuple[int, MonitorAverages]],
    imported_by: str,
    now: datetime,
) -> ImportRecord:
    years = [year for year, _ in rows]
    existing = await conn.fetch(
        "SELECT school_year FROM platform.monitor_averages"
        " WHERE school_id = $1 AND school_year = ANY($2::int[]) FOR UPDATE",
        school_id,
        years,
    )
    replaced = sorted(r[0] for r in existing)
    await conn.executemany(
        "INSERT INTO platform.monitor_averages"
        " (school_id, school_year, safety, bullying, wellbeing, recorded_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (school_id, school_year) DO UPDATE SET safety = excluded.safety,"
        " bullying = excluded.bullying, wellbeing = excluded.wellbeing,"
        " recorded_at = excluded.recorded_at",
        [(school_id, y, a.safety, a.bullying, a.wellbeing, now) for y, a in rows],
    )
    await conn.execute(
        "INSERT INTO platform.monitor_average_imports"
        " (import_id, school_id, imported_at, imported_by, school_years, replaced)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        uuid4(),
        school_id,
        now,
        imported_by,
        sorted(years),
        replaced,
    )
    return ImportRecord(school_id, now, imported_by, tuple(sorted(years)), tuple(replaced))


async def read(
    conn: asyncpg.Connection, school_ids: Sequence[UUID], school_years: Sequence[int]
) -> dict[tuple[UUID, int], MonitorAverages]:
    """The averages entered for these schools and years, by (school, year start)."""
    rows = await conn.fetch(
        "SELECT school_id, school_year, safety, bullying, wellbeing"
        " FROM platform.monitor_averages"
        " WHERE school_id = ANY($1::uuid[]) AND school_year = ANY($2::int[])",
        list(school_ids),
        list(school_years),
    )
    return {(r[0], r[1]): MonitorAverages(r[2], r[3], r[4]) for r in rows}


async def read_all(conn: asyncpg.Connection, school_id: UUID) -> dict[int, MonitorAverages]:
    """Every school year's averages entered for one school, by year start."""
    rows = await conn.fetch(
        "SELECT school_year, safety, bullying, wellbeing FROM platform.monitor_averages"
        " WHERE school_id = $1",
        school_id,
    )
    return {
        r["school_year"]: MonitorAverages(r["safety"], r["bullying"], r["wellbeing"]) for r in rows
    }
