"""Reading the incident statistics (asyncpg): per school and month, and totalled over schools.

Cells are the board statistics' :class:`~projections.board_stats.queries.StatCell`, suppressed
by the same rules (:mod:`projections.board_stats.suppression`): a count of 1 .. threshold-1 is
hidden, and a total across schools is also hidden when the part of it in hidden school cells
would give one back (1 .. threshold-1, one cell, or k cells adding up to k or k * (threshold-1)).
The categories overlap (a case may have several) and the Inspectie reports are a part of the
serious incidents whose rest is not shown, so no shown figure is a sum of shown parts.
A case counts in the month it was reported (Europe/Amsterdam).

Measures: ``by_incident_category`` (category: the code; every code of
:class:`~services.casework.vocabulary.IncidentCategory` is present in a group, 0 explicit),
``serious_incidents`` (cases marked serious) and ``inspectie_reported`` (of those, the report to
the Inspectie recorded). A group (school, month) appears when a case reported in it has an
incident category or was marked serious.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from projections.board_stats import suppression
from projections.board_stats.queries import DEFAULT_THRESHOLD, StatCell
from services.casework.vocabulary import IncidentCategory

BY_INCIDENT_CATEGORY = "by_incident_category"
SERIOUS_INCIDENTS = "serious_incidents"
INSPECTIE_REPORTED = "inspectie_reported"

#: The cells of a group, in the order they come back.
KEYS: tuple[tuple[str, str | None], ...] = (
    *((BY_INCIDENT_CATEGORY, c.value) for c in IncidentCategory),
    (SERIOUS_INCIDENTS, None),
    (INSPECTIE_REPORTED, None),
)

_SQL = (
    "SELECT school_id, month_reported AS month, category, count(*) AS n"
    " FROM platform.stats_incidents, unnest(categories) AS category"
    " WHERE school_id = ANY($1::uuid[]) AND month_reported BETWEEN $2 AND $3"
    " GROUP BY school_id, month_reported, category"
    " UNION ALL"
    " SELECT school_id, month_reported, '.serious', count(*) FROM platform.stats_incidents"
    " WHERE serious AND school_id = ANY($1::uuid[]) AND month_reported BETWEEN $2 AND $3"
    " GROUP BY school_id, month_reported"
    " UNION ALL"
    " SELECT school_id, month_reported, '.reported', count(*) FROM platform.stats_incidents"
    " WHERE serious AND reported AND school_id = ANY($1::uuid[])"
    " AND month_reported BETWEEN $2 AND $3 GROUP BY school_id, month_reported"
)
_MEASURE_OF = {".serious": (SERIOUS_INCIDENTS, None), ".reported": (INSPECTIE_REPORTED, None)}

Counts = dict[tuple[UUID, date], dict[tuple[str, str | None], int]]


_check = suppression.check


async def _counts(
    conn: asyncpg.Connection, school_ids: Sequence[UUID], first_month: date, last_month: date
) -> Counts:
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    if first > last:
        msg = f"first month {first} is after last month {last}"
        raise ValueError(msg)
    counts: Counts = {}
    for r in await conn.fetch(_SQL, list(school_ids), first, last):
        key = _MEASURE_OF.get(r["category"], (BY_INCIDENT_CATEGORY, r["category"]))
        counts.setdefault((r["school_id"], r["month"]), {})[key] = r["n"]
    return counts


async def incident_monthly(
    conn: asyncpg.Connection,
    school_ids: Sequence[UUID],
    *,
    first_month: date,
    last_month: date,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[StatCell]:
    """Incident cells per school and month (first..last month, inclusive)."""
    _check(threshold)
    if not school_ids:
        return []
    counts = await _counts(conn, school_ids, first_month, last_month)
    cells: list[StatCell] = []
    for (school_id, month), group in sorted(counts.items(), key=lambda k: (str(k[0][0]), k[0][1])):
        for measure, category in KEYS:
            n = group.get((measure, category), 0)
            hide = suppression.hides_count(n, threshold)
            cells.append(StatCell(school_id, month, measure, category, None if hide else n, hide))
    return cells


async def incident_totals(
    conn: asyncpg.Connection,
    school_ids: Sequence[UUID],
    *,
    first_month: date,
    last_month: date,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[StatCell]:
    """Incident cells per month totalled over the given schools (``school_id=None``)."""
    _check(threshold)
    if not school_ids:
        return []
    counts = await _counts(conn, school_ids, first_month, last_month)
    totals: dict[date, dict[tuple[str, str | None], list[int]]] = {}
    for (_, month), group in counts.items():
        sums = totals.setdefault(month, {key: [0, 0, 0] for key in KEYS})
        for key in KEYS:
            n = group.get(key, 0)
            sums[key][0] += n
            if suppression.hides_count(n, threshold):
                sums[key][1] += n  # hidden in the school's own cell
                sums[key][2] += 1
    cells: list[StatCell] = []
    for month, sums in sorted(totals.items()):
        for measure, category in KEYS:
            total, hidden, cells_hidden = sums[(measure, category)]
            hide = suppression.hides_total(total, hidden, cells_hidden, threshold)
            cells.append(StatCell(None, month, measure, category, None if hide else total, hide))
    return cells
