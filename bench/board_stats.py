"""Board statistics: query latency for a board of 50 schools and for all schools.

The rows (1,000 schools x 100 cases in the full run) are written straight into
``platform.stats_cases`` with ``COPY``, not produced by replaying events through the board
statistics projection. Why that is fair: the queries (:mod:`projections.board_stats.queries`)
read only that table and its indexes; the generated rows have exactly the projection's columns
and value domains (vocabulary values, first-of-month dates, whole days, flags), spread over 24
months like a real platform's, and the table is ANALYZEd as autovacuum would. How rows get there
does not change what a query has to read; the per-(school, month) aggregate the projection keeps
beside them (``platform.stats_months``) is then computed from them as the projection does.
(Replaying 100,000 cases through the projection
would measure the projection — that is the rebuild figure's job — and take minutes.) The rows
the command run's projections wrote stay in the table too.

Measured with one asyncpg connection (as the web's read pool uses), ``query_repeats`` times
each, rotating over the boards: ``monthly`` (per school and month, a board's 50 schools),
``board_totals`` (the board's totals per month) and ``all_schools`` (the platform's totals), all
over the last 12 months, suppression included.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from bench.stats import Latency
from infra.bootstrap.container import Container
from projections import db as read_db
from projections.board_stats import queries
from projections.board_stats.projection import COLUMNS, refresh_months
from services.casework.vocabulary import ComplaintLevel, Form, Location, ReporterKind

MONTHS_OF_DATA = 24


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def generate_rows(
    school_ids: list[UUID], cases: int, today: date, rng: random.Random
) -> list[tuple[Any, ...]]:
    """``cases`` anonymous statistics rows per school, in :data:`COLUMNS` order."""
    this_month = today.replace(day=1)
    forms = [f.value for f in Form]
    locations = [loc.value for loc in Location]
    kinds = [k.value for k in ReporterKind]
    levels = [lvl.value for lvl in sorted(ComplaintLevel, key=lambda lvl: lvl.rank)]
    rows = []
    for school_id in school_ids:
        for _ in range(cases):
            reported = _add_months(this_month, -rng.randrange(MONTHS_OF_DATA))
            closed = rng.random() < 0.7
            month_closed = (
                min(this_month, _add_months(reported, rng.randrange(4))) if closed else None
            )
            complaint = rng.random()
            reached = 1 if complaint < 0.05 else (2 if complaint < 0.06 else 0)
            rows.append(
                (
                    school_id,
                    f"{rng.getrandbits(64):016x}",
                    reported,
                    rng.choice(kinds),
                    sorted(rng.sample(forms, rng.randint(1, 3))),
                    sorted(rng.sample(locations, rng.randint(1, 2))),
                    None if rng.random() < 0.1 else rng.randrange(21),
                    month_closed,
                    rng.randrange(5, 120) if closed else None,
                    (rng.random() < 0.8) if closed and rng.random() < 0.6 else None,
                    1 if rng.random() < 0.05 else 0,
                    levels[:reached],
                    rng.random() < 0.03,
                )
            )
    return rows


@dataclass(frozen=True)
class BoardStatsResult:
    schools: int
    rows: int
    generate_s: float
    monthly: Latency
    board_totals: Latency
    all_schools: Latency

    def as_json(self) -> dict[str, Any]:
        return {
            "schools": self.schools,
            "rows": self.rows,
            "generate_s": self.generate_s,
            "board_monthly": self.monthly.as_json(),
            "board_totals": self.board_totals.as_json(),
            "all_schools": self.all_schools.as_json(),
        }


def fill(container: Container, school_ids: list[UUID], cases: int) -> tuple[int, float]:
    """Write the generated rows with COPY, then ANALYZE; returns (rows, seconds)."""
    began = time.perf_counter()
    rows = generate_rows(school_ids, cases, datetime.now(UTC).date(), random.Random(42))
    columns = ", ".join(COLUMNS)
    copy_sql = f"COPY platform.stats_cases ({columns}) FROM STDIN"
    with (
        container.pool.connection() as conn,
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(copy_sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    with container.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        # What the projection keeps beside the rows it writes (refreshed per touched month).
        refresh_months(cur)
    with container.pool.connection() as conn:
        conn.execute("ANALYZE platform.stats_cases")
        conn.execute("ANALYZE platform.stats_months")
    return len(rows), time.perf_counter() - began


async def _measure(
    conninfo: str, boards: list[list[UUID]], repeats: int
) -> tuple[Latency, Latency, Latency]:
    today = datetime.now(UTC).date()
    first, last = _add_months(today.replace(day=1), -11), today.replace(day=1)
    conn = await read_db.connect(conninfo)
    try:
        timings: dict[str, list[float]] = {"monthly": [], "totals": [], "all": []}
        for i in range(repeats + 2):  # the first two are warm-up
            board = boards[i % len(boards)]
            for name in ("monthly", "totals", "all"):
                began = time.perf_counter()
                if name == "monthly":
                    cells = await queries.monthly(conn, board, first_month=first, last_month=last)
                elif name == "totals":
                    cells = await queries.board_totals(
                        conn, board, first_month=first, last_month=last
                    )
                else:
                    cells = await queries.all_schools(conn, first_month=first, last_month=last)
                elapsed = time.perf_counter() - began
                if not cells:
                    msg = f"board statistics query {name} returned nothing"
                    raise RuntimeError(msg)
                if i >= 2:
                    timings[name].append(elapsed)
    finally:
        await conn.close()
    return (
        Latency.of(timings["monthly"]),
        Latency.of(timings["totals"]),
        Latency.of(timings["all"]),
    )


def run_board_stats(
    container: Container, conninfo: str, boards: list[list[UUID]], cases: int, repeats: int
) -> BoardStatsResult:
    """Generate ``cases`` rows for every school of ``boards``, then time the three queries."""
    school_ids = [s for board in boards for s in board]
    rows, seconds = fill(container, school_ids, cases)
    monthly, totals, everything = asyncio.run(_measure(conninfo, boards, repeats))
    return BoardStatsResult(
        schools=len(school_ids),
        rows=rows,
        generate_s=seconds,
        monthly=monthly,
        board_totals=totals,
        all_schools=everything,
    )
