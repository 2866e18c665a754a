"""The yearly social-safety report: per school and per board, for one school year (issue 15 §2).

A school year runs from 1 August to 31 July (``2025-2026``). The figures come from the anonymous
per-case rows (``platform.stats_cases`` and ``platform.stats_incidents``), never from the cases:
they hold vocabulary values, months, whole-day durations and flags only. A case counts in the
school year it was **reported** in (Europe/Amsterdam month), except closing, which counts in the
year the case was **closed** (closed cases, median days to close) — the same convention as the
monthly statistics (:mod:`projections.board_stats.queries`).

Cells are :class:`~projections.board_stats.queries.StatCell`\\ s with ``month`` = the first day of
the school year (1 August). Suppression follows the monthly statistics' rules with the same
threshold (``DEFAULT_THRESHOLD``), decided in :mod:`projections.board_stats.suppression`: a count
of 1 .. threshold-1 is hidden; a median or share over a basis of 1 .. threshold-1 cases is not
computed (shown as "te weinig zaken"), and neither is the share of aftercare that found the
bullying stopped while a count of aftercare outcomes is 1 .. threshold-1 or hidden (the share
and the other count would give it back); a board total is also hidden when the part of it in
hidden school cells would give one back. Medians over the year
are computed over the year's cases (not from monthly medians).

The computation (:func:`year_cells`) is pure, so it is tested without a database;
:func:`yearly` reads the rows and calls it.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

import asyncpg

from projections.board_stats import suppression
from projections.board_stats.queries import (
    AFTERCARE_STOPPED_SHARE,
    BY_FORM,
    CLOSED,
    COMPLAINTS,
    DEFAULT_THRESHOLD,
    MEDIAN_DAYS_TO_CLOSE,
    MEDIAN_DAYS_TO_INTAKE,
    NEW_CASES,
    POLICE_ADVISED,
    StatCell,
)
from projections.incident_stats.queries import (
    BY_INCIDENT_CATEGORY,
    INSPECTIE_REPORTED,
    SERIOUS_INCIDENTS,
)
from services.casework.vocabulary import ComplaintLevel, Form, IncidentCategory

#: Aftercare outcomes (counts of cases reported in the year with a completed follow-up).
AFTERCARE_STOPPED = "aftercare_stopped"
AFTERCARE_CONTINUED = "aftercare_continued"

#: The count cells of a school year, in the order they come back.
COUNT_KEYS: tuple[tuple[str, str | None], ...] = (
    (NEW_CASES, None),
    (CLOSED, None),
    *((BY_FORM, v.value) for v in Form),
    *((BY_INCIDENT_CATEGORY, v.value) for v in IncidentCategory),
    (AFTERCARE_STOPPED, None),
    (AFTERCARE_CONTINUED, None),
    *((COMPLAINTS, v.value) for v in ComplaintLevel),
    (POLICE_ADVISED, None),
    (SERIOUS_INCIDENTS, None),
    (INSPECTIE_REPORTED, None),
)
#: The aftercare outcome counts: while one of them is hidden, so is the share of their sum.
_OUTCOMES = frozenset({AFTERCARE_STOPPED, AFTERCARE_CONTINUED})
#: The medians and shares, after the counts.
STAT_MEASURES: tuple[str, ...] = (
    MEDIAN_DAYS_TO_INTAKE,
    MEDIAN_DAYS_TO_CLOSE,
    AFTERCARE_STOPPED_SHARE,
)

_SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


@dataclass(frozen=True, order=True)
class SchoolYear:
    """1 August ``start`` .. 31 July ``start + 1``."""

    start: int

    @classmethod
    def parse(cls, text: str) -> SchoolYear:
        """``2025-2026``; anything else raises ValueError (the message names the expected form)."""
        match = _SCHOOL_YEAR.match(text.strip())
        if match is None or int(match[2]) != int(match[1]) + 1 or not 2000 <= int(match[1]) < 2100:
            msg = "expected a school year like 2025-2026"
            raise ValueError(msg)
        return cls(int(match[1]))

    @classmethod
    def containing(cls, day: date) -> SchoolYear:
        return cls(day.year if day.month >= 8 else day.year - 1)

    @property
    def first_month(self) -> date:
        return date(self.start, 8, 1)

    @property
    def last_month(self) -> date:
        return date(self.start + 1, 7, 1)

    @property
    def previous(self) -> SchoolYear:
        return SchoolYear(self.start - 1)

    def __str__(self) -> str:
        return f"{self.start}-{self.start + 1}"

    def holds(self, month: date | None) -> bool:
        return month is not None and self.first_month <= month <= self.last_month


@dataclass(frozen=True)
class CaseRow:
    """The columns of ``platform.stats_cases`` the report reads."""

    school_id: UUID
    month_reported: date
    forms: Sequence[str]
    days_to_intake: int | None
    month_closed: date | None
    days_to_close: int | None
    aftercare_stopped: bool | None
    complaint_levels: Sequence[str]
    police_advised: bool


@dataclass(frozen=True)
class IncidentRow:
    """The columns of ``platform.stats_incidents`` the report reads."""

    school_id: UUID
    month_reported: date
    categories: Sequence[str]
    serious: bool
    reported: bool


@dataclass
class _Tally:
    counts: dict[tuple[str, str | None], int]
    intake_days: list[int]
    close_days: list[int]
    aftercare: list[bool]


class _Window(Protocol):
    """A span of months: a school year, or one month (``holds``)."""

    def holds(self, month: date | None) -> bool: ...


@dataclass(frozen=True)
class _Month:
    first: date

    def holds(self, month: date | None) -> bool:
        return month == self.first


def _tally(year: _Window, cases: Iterable[CaseRow], incidents: Iterable[IncidentRow]) -> _Tally:
    counts = dict.fromkeys(COUNT_KEYS, 0)
    tally = _Tally(counts, [], [], [])

    def add(key: tuple[str, str | None]) -> None:
        if key in counts:  # a value outside today's vocabulary counts nowhere
            counts[key] += 1

    for case in cases:
        if year.holds(case.month_closed):
            add((CLOSED, None))
            if case.days_to_close is not None:
                tally.close_days.append(case.days_to_close)
        if not year.holds(case.month_reported):
            continue
        add((NEW_CASES, None))
        for form in set(case.forms):
            add((BY_FORM, form))
        for level in set(case.complaint_levels):
            add((COMPLAINTS, level))
        if case.police_advised:
            add((POLICE_ADVISED, None))
        if case.days_to_intake is not None:
            tally.intake_days.append(case.days_to_intake)
        if case.aftercare_stopped is not None:
            tally.aftercare.append(case.aftercare_stopped)
            add(
                (AFTERCARE_STOPPED, None) if case.aftercare_stopped else (AFTERCARE_CONTINUED, None)
            )
    for incident in incidents:
        if not year.holds(incident.month_reported):
            continue
        for category in set(incident.categories):
            add((BY_INCIDENT_CATEGORY, category))
        if incident.serious:
            add((SERIOUS_INCIDENTS, None))
            if incident.reported:
                add((INSPECTIE_REPORTED, None))
    return tally


def _stat_cells(
    school_id: UUID | None, month: date, tally: _Tally, threshold: int, *, outcomes_hidden: bool
) -> list[StatCell]:
    """The medians and the share; ``outcomes_hidden``: a count of aftercare outcomes (stopped or
    not) is hidden, so the share is not computed either (with the other count, or the basis's
    bounds, it would give the hidden count back: 3 of 5 is 60%)."""
    share = (
        sum(tally.aftercare) / len(tally.aftercare) if tally.aftercare else None
    )  # computed only when shown (basis checked below)
    bases: tuple[tuple[str, int, float | None], ...] = (
        (
            MEDIAN_DAYS_TO_INTAKE,
            len(tally.intake_days),
            float(statistics.median(tally.intake_days)) if tally.intake_days else None,
        ),
        (
            MEDIAN_DAYS_TO_CLOSE,
            len(tally.close_days),
            float(statistics.median(tally.close_days)) if tally.close_days else None,
        ),
        (AFTERCARE_STOPPED_SHARE, len(tally.aftercare), share),
    )
    stopped = sum(tally.aftercare)
    cells = []
    for measure, basis, value in bases:
        if basis == 0:
            cells.append(StatCell(school_id, month, measure, None, None, False))
        elif (
            suppression.hides_share(stopped, basis, threshold) or outcomes_hidden
            if measure == AFTERCARE_STOPPED_SHARE
            else suppression.hides_median(basis, threshold)
        ):
            cells.append(StatCell(school_id, month, measure, None, None, True))
        else:
            cells.append(StatCell(school_id, month, measure, None, value, False))
    return cells


def year_cells(
    year: SchoolYear,
    school_ids: Sequence[UUID],
    cases: Sequence[CaseRow],
    incidents: Sequence[IncidentRow],
    *,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[StatCell]:
    """The suppressed cells of ``year``: per school of ``school_ids`` (every school, zeros
    explicit), then the total over exactly those schools (``school_id=None``). Rows of other
    schools are ignored."""
    suppression.check(threshold)
    month = year.first_month
    wanted = set(school_ids)
    cells: list[StatCell] = []
    hidden = dict.fromkeys(COUNT_KEYS, 0)
    hidden_cells = dict.fromkeys(COUNT_KEYS, 0)
    months = [_Month(m) for m in _months_of(year)]
    # The monthly statistics show each month of the year on their own page: a year's figure is
    # a total over those months too (see :func:`_months_pin`).
    monthly: dict[UUID, list[dict[tuple[str, str | None], int]]] = {}
    for school_id in school_ids:
        own_cases = [c for c in cases if c.school_id == school_id]
        own_incidents = [i for i in incidents if i.school_id == school_id]
        tally = _tally(year, own_cases, own_incidents)
        monthly[school_id] = [_tally(m, own_cases, own_incidents).counts for m in months]
        outcomes_hidden = False
        for (measure, category), n in tally.counts.items():
            parts = [counts[(measure, category)] for counts in monthly[school_id]]
            hide = suppression.hides_count(n, threshold) or _months_pin(parts, threshold)
            if hide:
                hidden[(measure, category)] += n
                hidden_cells[(measure, category)] += 1
                outcomes_hidden |= measure in _OUTCOMES
            cells.append(StatCell(school_id, month, measure, category, None if hide else n, hide))
        cells.extend(
            _stat_cells(school_id, month, tally, threshold, outcomes_hidden=outcomes_hidden)
        )
    total = _tally(
        year,
        (c for c in cases if c.school_id in wanted),
        (i for i in incidents if i.school_id in wanted),
    )
    outcomes_hidden = False
    for (measure, category), n in total.counts.items():
        key = (measure, category)
        # The board's months, as the board's monthly page shows them (a month's total hidden
        # by the rule beside its schools' months), against the board's year.
        board_months = [
            (
                sum(monthly[sid][i][key] for sid in school_ids),
                [monthly[sid][i][key] for sid in school_ids],
            )
            for i in range(len(months))
        ]
        board_hidden = [_total_hidden(t, parts, threshold) for t, parts in board_months]
        hide = suppression.hides_total(n, hidden[key], hidden_cells[key], threshold) or (
            _months_pin([t for t, _ in board_months], threshold, hidden=board_hidden)
        )
        outcomes_hidden |= hide and measure in _OUTCOMES
        cells.append(StatCell(None, month, measure, category, None if hide else n, hide))
    cells.extend(_stat_cells(None, month, total, threshold, outcomes_hidden=outcomes_hidden))
    return cells


def _months_of(year: SchoolYear) -> list[date]:
    """The first days of the twelve months of ``year``."""
    return [date(year.start + (m < 8), m, 1) for m in (*range(8, 13), *range(1, 8))]


def _total_hidden(total: int, parts: Sequence[int], threshold: int) -> bool:
    """A total beside its parts (rule 2), the parts hidden by rule 1."""
    small = [p for p in parts if suppression.hides_count(p, threshold)]
    return suppression.hides_total(total, sum(small), len(small), threshold)


def _months_pin(
    month_counts: Sequence[int],
    threshold: int,
    *,
    hidden: Sequence[bool] | None = None,
) -> bool:
    """Whether a year's figure, beside its months as the monthly statistics show them (a month
    of 1 .. threshold-1 hidden, unless ``hidden`` says which are), gives a hidden month away:
    6 new cases in August and "<5" in January on the monthly page, and 10 for the year, make
    January 4. The year's figure is then hidden too (rule 2 of
    :mod:`projections.board_stats.suppression`, with the months as the parts)."""
    if hidden is None:
        hidden = [suppression.hides_count(n, threshold) for n in month_counts]
    hidden_part = sum(n for n, h in zip(month_counts, hidden, strict=True) if h and n)
    hidden_cells = sum(1 for n, h in zip(month_counts, hidden, strict=True) if h and n)
    return suppression.pins(hidden_part, hidden_cells, threshold)


_CASES_SQL = (
    "SELECT school_id, month_reported, forms, days_to_intake, month_closed, days_to_close,"
    " aftercare_stopped, complaint_levels, police_advised FROM platform.stats_cases"
    " WHERE school_id = ANY($1::uuid[])"
    " AND (month_reported BETWEEN $2 AND $3 OR month_closed BETWEEN $2 AND $3)"
)
_INCIDENTS_SQL = (
    "SELECT school_id, month_reported, categories, serious, reported"
    " FROM platform.stats_incidents"
    " WHERE school_id = ANY($1::uuid[]) AND month_reported BETWEEN $2 AND $3"
)


async def yearly(
    conn: asyncpg.Connection,
    school_ids: Sequence[UUID],
    years: Sequence[SchoolYear],
    *,
    threshold: int = DEFAULT_THRESHOLD,
) -> dict[SchoolYear, list[StatCell]]:
    """The cells of each of ``years`` for ``school_ids`` (per school and their total)."""
    if not school_ids or not years:
        return {year: [] for year in years}
    first = min(years).first_month
    last = max(years).last_month
    ids = list(school_ids)
    async with conn.transaction(readonly=True):
        case_rows = [CaseRow(*r) for r in await conn.fetch(_CASES_SQL, ids, first, last)]
        incident_rows = [
            IncidentRow(*r) for r in await conn.fetch(_INCIDENTS_SQL, ids, first, last)
        ]
    return {
        year: year_cells(year, ids, case_rows, incident_rows, threshold=threshold) for year in years
    }
