"""The yearly social-safety report over the API (issue 15 §2): the same suppressed figures as the
pages, the PDF and the CSV (``/school/jaarverslag``, ``/bestuur/jaarverslag``), as data.

- ``GET /api/stats/school/yearly``: the school's cells of a school year and of the year before
  (``month`` is 1 August of the year), its monitor averages, and the titles of the lessons
  learned that year for roles that read lessons (``lesson_titles`` is null for the others).
- ``GET /api/stats/board/yearly``: the same per school of the board and for all of them
  together (``school_id`` null), the schools' monitor averages, and per school only the
  number of lessons learned (1 to 4 suppressed), never their text.

Every count, median and share is decided by :mod:`projections.board_stats.suppression` before it
gets here (a hidden cell has ``value`` null and ``suppressed`` true).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Request, get
from litestar.params import QueryParameter

from infra.entrypoints.web.api.monitor import SCHOOL_YEAR_PATTERN, MonitorYear
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of, today
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.reads import (
    yearly_lesson_counts,
    yearly_lesson_titles,
    yearly_statistics,
)
from projections.board_stats import suppression
from projections.board_stats.queries import StatCell
from projections.yearly_report import SchoolYear
from services.access.roles import Permission
from services.shared.errors import InvalidInput, PermissionDenied

SchoolYearParam = Annotated[
    str | None,
    QueryParameter(
        pattern=SCHOOL_YEAR_PATTERN, description="Like 2025-2026; default the current one."
    ),
]


class SchoolRef(msgspec.Struct, frozen=True):
    school_id: UUID
    slug: str
    name: str


class SchoolMonitor(msgspec.Struct, frozen=True):
    """A school's monitor averages of a school year."""

    school_id: UUID
    averages: MonitorYear


class LessonCount(msgspec.Struct, frozen=True):
    """How many lessons a school learned in the year (``count`` null when 1 to 4)."""

    school_id: UUID
    count: int | None
    suppressed: bool


class SchoolYearly(msgspec.Struct, frozen=True):
    school_year: str
    previous_year: str
    cells: list[StatCell]
    monitor: list[SchoolMonitor]
    lesson_titles: list[str] | None


class BoardYearly(msgspec.Struct, frozen=True):
    school_year: str
    previous_year: str
    schools: list[SchoolRef]
    cells: list[StatCell]
    monitor: list[SchoolMonitor]
    lesson_counts: list[LessonCount]


def _year(text: str | None) -> SchoolYear:
    if text is None:
        return SchoolYear.containing(today())
    try:
        return SchoolYear.parse(text)
    except ValueError:
        msg = "school_year must be two following years, like 2025-2026"
        raise InvalidInput(msg, field="school_year", reason="invalid_school_year") from None


def _monitor(found: dict[tuple[UUID, int], Any]) -> list[SchoolMonitor]:
    return [
        SchoolMonitor(
            school_id,
            MonitorYear(
                school_year=str(SchoolYear(start)),
                safety=float(a.safety),
                bullying=float(a.bullying),
                wellbeing=float(a.wellbeing),
            ),
        )
        for (school_id, start), a in sorted(found.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
    ]


def _cells(by_year: dict[SchoolYear, list[StatCell]], year: SchoolYear) -> list[StatCell]:
    return [*by_year.get(year, []), *by_year.get(year.previous, [])]


@get(
    "/api/stats/school/yearly",
    summary="My school's yearly social-safety report (this school year and the one before)",
    tags=["stats"],
    responses=problems(422),
    guards=[requires(Permission.STATS_SCHOOL)],
)
async def api_school_yearly(
    request: Request[Any, Any, Any], school_year: SchoolYearParam = None
) -> SchoolYearly:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    year = _year(school_year)
    services = Services.of(request.app.state)
    cells, monitor = await yearly_statistics(services, principal, [school.id], year, board=False)
    titles = (
        await yearly_lesson_titles(services, school, principal, year)
        if principal.may(Permission.LESSONS_READ)
        else None
    )
    return SchoolYearly(
        school_year=str(year),
        previous_year=str(year.previous),
        cells=_cells(cells, year),
        monitor=_monitor(monitor),
        lesson_titles=titles,
    )


@get(
    "/api/stats/board/yearly",
    summary="My board's yearly social-safety report, per school and for all together",
    tags=["stats"],
    responses=problems(422),
    guards=[requires(Permission.STATS_BOARD)],
)
async def api_board_yearly(
    request: Request[Any, Any, Any], school_year: SchoolYearParam = None
) -> BoardYearly:
    principal = await principal_of(request)
    if principal.board_id is None:
        raise PermissionDenied(f"role '{principal.role}' has no board")
    year = _year(school_year)
    services = Services.of(request.app.state)
    schools = await anyio.to_thread.run_sync(services.registry.list_schools, principal.board_id)
    cells, monitor = await yearly_statistics(
        services, principal, [s.id for s in schools], year, board=True
    )
    counts = await yearly_lesson_counts(services, principal, schools, year)
    lesson_counts = []
    for school in schools:
        n = counts.get(school.id, 0)
        hidden = suppression.hides_count(n)
        lesson_counts.append(LessonCount(school.id, None if hidden else n, hidden))
    return BoardYearly(
        school_year=str(year),
        previous_year=str(year.previous),
        schools=[SchoolRef(s.id, s.slug, s.name) for s in schools],
        cells=_cells(cells, year),
        monitor=_monitor(monitor),
        lesson_counts=lesson_counts,
    )


YEARLY_ROUTES: list[Any] = [api_school_yearly, api_board_yearly]
