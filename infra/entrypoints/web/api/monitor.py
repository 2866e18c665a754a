"""The school's social-safety monitor averages over the API (issue 15 §2): read them per school
year, and enter a year's three averages as a monitor tool or a school's own integration gives
them. The pages take the same numbers by form and as a CSV file (``/school/jaarverslag``); the
averages are the school's, no personal data (:mod:`infra.monitor_averages`).

An entry through the API is recorded like an import (when, by which staff member, which year,
whether it replaced one): ``platform.monitor_average_imports``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, put
from litestar.params import JSONBody, PathParameter

from infra.adapters import monitor_averages
from infra.adapters.monitor_averages import MonitorAverages, parse_average
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import requires
from projections.yearly_report import SchoolYear
from services.access.roles import Permission
from services.shared.errors import InvalidInput

#: A school year in a path: ``2025-2026`` (the second year follows the first).
SCHOOL_YEAR_PATTERN = r"^20[0-9]{2}-20[0-9]{2}$"

Average = Annotated[
    float,
    msgspec.Meta(
        ge=0, le=100, description="0 to 100, at most one decimal (as the monitor gives it)."
    ),
]


class MonitorYear(msgspec.Struct, frozen=True):
    """A school year's monitor averages: experienced safety, bullying, well-being."""

    school_year: str
    safety: float
    bullying: float
    wellbeing: float


class MonitorBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The three averages of one school year."""

    safety: Average
    bullying: Average
    wellbeing: Average


def _year(text: str) -> SchoolYear:
    try:
        return SchoolYear.parse(text)
    except ValueError:
        msg = "school_year must be two following years, like 2025-2026"
        raise InvalidInput(msg, field="school_year", reason="invalid_school_year") from None


def _averages(data: MonitorBody) -> MonitorAverages:
    """The body's numbers checked as the form checks them (one decimal at most)."""
    return MonitorAverages(
        *(parse_average(name, repr(getattr(data, name))) for name in MonitorBody.__struct_fields__)
    )


def _out(year: int, found: MonitorAverages) -> MonitorYear:
    return MonitorYear(
        school_year=str(SchoolYear(year)),
        safety=float(found.safety),
        bullying=float(found.bullying),
        wellbeing=float(found.wellbeing),
    )


@get(
    "/api/school/monitor-averages",
    summary="My school's monitor averages per school year",
    tags=["stats"],
    responses=problems(),
    guards=[requires(Permission.STATS_SCHOOL)],
)
async def api_monitor_averages(request: Request[Any, Any, Any]) -> list[MonitorYear]:
    """Every school year with averages entered, oldest first."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    async with Services.of(request.app.state).read_pool.acquire() as conn:
        found = await monitor_averages.read_all(conn, school.id)
    return [_out(year, averages) for year, averages in sorted(found.items())]


@put(
    "/api/school/monitor-averages/{school_year:str}",
    summary="Enter my school's monitor averages of a school year",
    tags=["stats"],
    responses=problems(422, body=True),
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def api_put_monitor_averages(
    request: Request[Any, Any, Any],
    school_year: Annotated[
        str, PathParameter(pattern=SCHOOL_YEAR_PATTERN, description="Like 2025-2026.")
    ],
    data: JSONBody[MonitorBody],
) -> MonitorYear:
    """Enter (or replace) the averages of ``school_year``: 0 to 100, at most one decimal
    (422 naming the field otherwise); recorded with who entered them and whether they replaced
    earlier ones."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    year = _year(school_year)
    averages = _averages(data)
    await monitor_averages.record_import(
        Services.of(request.app.state).read_pool,
        school.id,
        [(year.start, averages)],
        imported_by=principal.actor.user_id,
    )
    return _out(year.start, averages)


MONITOR_ROUTES: list[Any] = [api_monitor_averages, api_put_monitor_averages]
