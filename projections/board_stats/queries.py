"""Reading the board statistics (asyncpg): per school and month, board totals, all schools.

Every function returns a flat list of :class:`StatCell` (one number each), already suppressed.
Board membership is not known here: the caller passes the school ids (from the registry).

Cohorts. A case counts in the month it was **reported** (Europe/Amsterdam) for: new cases, the
counts by form, location and reporter kind, median days to intake, the share where aftercare
found the bullying stopped, reopened cases, complaints per level and police advice. Closing is
counted in the month the case was **closed**: closed cases and median days to close. A group
(school, month) appears when at least one case was reported or closed in it; within a group
every measure and every vocabulary category is present (so a 0 is explicit). A school-month
that is absent had no cases at all.

Suppression rules (``threshold``, default 5, at least 1):

1. **Counts**: a count of 1 .. threshold-1 comes back as ``value=None, suppressed=True``. A count
   of 0 is shown (it singles out nobody), a count at or above the threshold is shown.
2. **Medians and shares** are computed over a basis (cases with an intake, closed cases, cases
   with an aftercare result). Over a basis of 1 .. threshold-1 cases they are suppressed; over no
   cases they are ``None`` but not suppressed (there is nothing to show or hide). The basis
   itself is never returned.
3. **Totals** across schools (board totals, all schools) follow rules 1 and 2 on the summed
   counts / pooled cases, and one more: a total count is also suppressed when the part of it
   hidden in suppressed school cells (total minus the shown school cells) is 1 .. threshold-1,
   since otherwise subtracting the shown school cells from the total would reveal the hidden
   ones (e.g. one school with 3 cases beside one with 9 and a total of 12). Totals are computed
   over exactly the schools passed in; a caller showing totals beside per-school cells must pass
   the same school ids to both.

Not attempted: complementary suppression within one school-month (e.g. 6 new cases of which 6
were reported by parents is shown as such), or differencing across different sets of schools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg

from services.casework.vocabulary import ComplaintLevel, Form, Location, ReporterKind

DEFAULT_THRESHOLD = 5

# Measures (the ``measure`` of a cell). Counts unless named median/share.
NEW_CASES = "new_cases"
BY_FORM = "by_form"
BY_LOCATION = "by_location"
BY_REPORTER_KIND = "by_reporter_kind"
MEDIAN_DAYS_TO_INTAKE = "median_days_to_intake"
AFTERCARE_STOPPED_SHARE = "aftercare_stopped_share"
REOPENED = "reopened"
COMPLAINTS = "complaints"
POLICE_ADVISED = "police_advised"
CLOSED = "closed"
MEDIAN_DAYS_TO_CLOSE = "median_days_to_close"

#: Count measures with a category, the array column they test, and their vocabulary.
CATEGORIES: tuple[tuple[str, str, type[StrEnum]], ...] = (
    (BY_FORM, "forms", Form),
    (BY_LOCATION, "locations", Location),
    (COMPLAINTS, "complaint_levels", ComplaintLevel),
)


@dataclass(frozen=True)
class StatCell:
    """One number of the statistics.

    ``school_id`` is None for a total across schools; ``month`` is the first day of the month;
    ``category`` names the form, location, reporter kind or complaint level (None for measures
    without one). ``value`` is None when suppressed (``suppressed=True``) or when a median or
    share has no cases to be computed over.
    """

    school_id: UUID | None
    month: date
    measure: str
    category: str | None
    value: int | float | None
    suppressed: bool


@dataclass
class _Group:
    """Raw (unsuppressed) numbers of one school-month or one total-month."""

    counts: dict[tuple[str, str | None], int]
    #: measure -> (basis, value)
    stats: dict[str, tuple[int, float | None]]


def _month(day: date) -> date:
    return day.replace(day=1)


def _count_plan() -> list[tuple[tuple[str, str | None], str, list[Any]]]:
    """(cell key, SQL expression with {} placeholders for parameters, parameter values)."""
    plan: list[tuple[tuple[str, str | None], str, list[Any]]] = [
        ((NEW_CASES, None), "count(*)", []),
        ((REOPENED, None), "count(*) FILTER (WHERE reopened > 0)", []),
        ((POLICE_ADVISED, None), "count(*) FILTER (WHERE police_advised)", []),
    ]
    for kind in ReporterKind:
        plan.append(
            (
                (BY_REPORTER_KIND, kind.value),
                "count(*) FILTER (WHERE reporter_kind = {})",
                [kind.value],
            )
        )
    for measure, column, vocabulary in CATEGORIES:
        for value in vocabulary:
            plan.append(
                (
                    (measure, value.value),
                    f"count(*) FILTER (WHERE {column} @> ARRAY[{{}}::text])",
                    [value.value],
                )
            )
    return plan


COUNT_PLAN = _count_plan()


def _reported_query(by_school_filter: bool) -> str:
    """The cohort query by month reported (parameters: [school ids], first, last, plan values)."""
    expressions = []
    n = 3 if by_school_filter else 2
    for i, (_, expression, values) in enumerate(COUNT_PLAN):
        placeholders = []
        for _ in values:
            n += 1
            placeholders.append(f"${n}")
        expressions.append(expression.format(*placeholders) + f" AS c{i}")
    where = (
        "school_id = ANY($1::uuid[]) AND month_reported BETWEEN $2 AND $3"
        if by_school_filter
        else "month_reported BETWEEN $1 AND $2"
    )
    # Only constants and numbered placeholders are put together here; values are parameters.
    return (
        "SELECT school_id, month_reported AS month, GROUPING(school_id) AS is_total, "  # noqa: S608
        + ", ".join(expressions)
        + ", count(days_to_intake) AS n_intake,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_intake) AS median_intake,"
        " count(aftercare_stopped) AS n_aftercare,"
        " count(*) FILTER (WHERE aftercare_stopped) AS aftercare_stopped"
        " FROM platform.stats_cases WHERE "
        + where
        + " GROUP BY GROUPING SETS ((school_id, month_reported), (month_reported))"
    )


def _closed_query(by_school_filter: bool) -> str:
    where = (
        "school_id = ANY($1::uuid[]) AND month_closed BETWEEN $2 AND $3"
        if by_school_filter
        else "month_closed BETWEEN $1 AND $2"
    )
    return (
        "SELECT school_id, month_closed AS month, GROUPING(school_id) AS is_total,"  # noqa: S608
        " count(*) AS closed,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_close) AS median_close"
        " FROM platform.stats_cases WHERE "
        + where
        + " GROUP BY GROUPING SETS ((school_id, month_closed), (month_closed))"
    )


def _new_group() -> _Group:
    counts: dict[tuple[str, str | None], int] = {key: 0 for key, _, _ in COUNT_PLAN}
    counts[CLOSED, None] = 0
    return _Group(
        counts=counts,
        stats={
            MEDIAN_DAYS_TO_INTAKE: (0, None),
            AFTERCARE_STOPPED_SHARE: (0, None),
            MEDIAN_DAYS_TO_CLOSE: (0, None),
        },
    )


async def _raw(
    conn: asyncpg.Connection, school_ids: Sequence[UUID] | None, first: date, last: date
) -> dict[tuple[UUID | None, date], _Group]:
    """Raw numbers per (school, month) and per (None, month) for the total."""
    first, last = _month(first), _month(last)
    if first > last:
        msg = f"first month {first} is after last month {last}"
        raise ValueError(msg)
    filtered = school_ids is not None
    fixed: list[Any] = [list(school_ids)] if school_ids is not None else []
    fixed += [first, last]
    sql = _reported_query(filtered)
    values = [v for _, _, vs in COUNT_PLAN for v in vs]
    groups: dict[tuple[UUID | None, date], _Group] = {}

    def group(record: asyncpg.Record) -> _Group:
        key = (None if record["is_total"] else record["school_id"], record["month"])
        if key not in groups:
            groups[key] = _new_group()
        return groups[key]

    for record in await conn.fetch(sql, *fixed, *values):
        g = group(record)
        for i, (key, _, _) in enumerate(COUNT_PLAN):
            g.counts[key] = int(record[f"c{i}"])
        g.stats[MEDIAN_DAYS_TO_INTAKE] = (int(record["n_intake"]), record["median_intake"])
        n_aftercare = int(record["n_aftercare"])
        share = int(record["aftercare_stopped"]) / n_aftercare if n_aftercare else None
        g.stats[AFTERCARE_STOPPED_SHARE] = (n_aftercare, share)
    for record in await conn.fetch(_closed_query(filtered), *fixed):
        g = group(record)
        g.counts[CLOSED, None] = int(record["closed"])
        g.stats[MEDIAN_DAYS_TO_CLOSE] = (int(record["closed"]), record["median_close"])
    return groups


def _count_cell(value: int, threshold: int) -> tuple[int | None, bool]:
    if 0 < value < threshold:
        return None, True
    return value, False


def _stat_cell(basis: int, value: float | None, threshold: int) -> tuple[float | None, bool]:
    if basis == 0:
        return None, False
    if basis < threshold:
        return None, True
    return (float(value) if value is not None else None), False


def _cells(
    school_id: UUID | None,
    month: date,
    g: _Group,
    threshold: int,
    hidden: dict[tuple[str, str | None], int] | None = None,
) -> list[StatCell]:
    """The suppressed cells of one group; ``hidden`` (totals only): the part of each total
    count that is in suppressed school cells."""
    cells = []
    for key, count in g.counts.items():
        value, suppressed = _count_cell(count, threshold)
        if not suppressed and hidden is not None and 0 < hidden.get(key, 0) < threshold:
            value, suppressed = None, True
        cells.append(StatCell(school_id, month, key[0], key[1], value, suppressed))
    for measure, (basis, raw) in g.stats.items():
        stat, suppressed = _stat_cell(basis, raw, threshold)
        cells.append(StatCell(school_id, month, measure, None, stat, suppressed))
    return cells


def _check(threshold: int) -> None:
    if threshold < 1:
        msg = f"threshold must be at least 1, not {threshold}"
        raise ValueError(msg)


def _per_school(groups: dict[tuple[UUID | None, date], _Group], threshold: int) -> list[StatCell]:
    cells: list[StatCell] = []
    for (school_id, month), g in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if school_id is not None:
            cells.extend(_cells(school_id, month, g, threshold))
    return cells


def _totals(groups: dict[tuple[UUID | None, date], _Group], threshold: int) -> list[StatCell]:
    hidden: dict[date, dict[tuple[str, str | None], int]] = {}
    for (school_id, month), g in groups.items():
        if school_id is None:
            continue
        per_month = hidden.setdefault(month, {})
        for key, count in g.counts.items():
            if 0 < count < threshold:
                per_month[key] = per_month.get(key, 0) + count
    cells: list[StatCell] = []
    for (school_id, month), g in sorted(groups.items(), key=lambda kv: kv[0][1]):
        if school_id is None:
            cells.extend(_cells(None, month, g, threshold, hidden.get(month, {})))
    return cells


async def monthly(
    conn: asyncpg.Connection,
    school_ids: Sequence[UUID],
    *,
    first_month: date,
    last_month: date,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[StatCell]:
    """Cells per school and month (first..last month, inclusive) for the given schools."""
    _check(threshold)
    if not school_ids:
        return []
    groups = await _raw(conn, school_ids, first_month, last_month)
    return _per_school(groups, threshold)


async def board_totals(
    conn: asyncpg.Connection,
    school_ids: Sequence[UUID],
    *,
    first_month: date,
    last_month: date,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[StatCell]:
    """Cells per month totalled over the given schools (a board's), ``school_id=None``."""
    _check(threshold)
    if not school_ids:
        return []
    groups = await _raw(conn, school_ids, first_month, last_month)
    return _totals(groups, threshold)


async def all_schools(
    conn: asyncpg.Connection,
    *,
    first_month: date,
    last_month: date,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[StatCell]:
    """Cells per month totalled over every school on the platform (for operators)."""
    _check(threshold)
    groups = await _raw(conn, None, first_month, last_month)
    return _totals(groups, threshold)


def cell(
    cells: Sequence[StatCell],
    measure: str,
    category: str | None = None,
    *,
    school_id: UUID | None = None,
    month: date | None = None,
) -> StatCell:
    """The one cell of ``cells`` matching the arguments (a convenience for callers and tests)."""
    found = [
        c
        for c in cells
        if c.measure == measure
        and c.category == category
        and c.school_id == school_id
        and (month is None or c.month == _month(month))
    ]
    if len(found) != 1:
        msg = f"{len(found)} cells match {measure}/{category} for {school_id} in {month}"
        raise LookupError(msg)
    return found[0]
