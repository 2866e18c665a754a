"""The board (bestuur): anonymous statistics across the board's schools, per school and month."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages import charts
from infra.entrypoints.web.pages.common import render, viewer_of
from infra.entrypoints.web.reads import (
    board_incident_statistics,
    board_statistics,
    pupil_signal_counts,
)
from projections.board_stats import queries as q
from projections.pupils.queries import PUPIL_SIGNAL_LABELS_NL
from services.access.roles import Permission


@get(
    "/bestuur/statistiek",
    name="page-board-stats",
    include_in_schema=False,
    guards=[requires(Permission.STATS_BOARD)],
)
async def board_stats_page(
    request: Request[Any, Any, Any],
    months: Annotated[int, QueryParameter(ge=1, le=36)] = 12,
) -> Template:
    viewer = await viewer_of(request)
    services = Services.of(request.app.state)
    found = await board_statistics(services, viewer.principal, months)
    board_schools = await anyio.to_thread.run_sync(
        services.registry.list_schools, viewer.principal.board_id
    )
    pupil_counts = await pupil_signal_counts(services, board_schools)
    month_list = charts.months_between(found["first_month"], found["last_month"])
    totals = charts.index(found["totals"])
    per_school = charts.index(found["per_school"])
    incidents = await board_incident_statistics(
        Services.of(request.app.state),
        viewer.principal,
        [school["school_id"] for school in found["schools"]],
        months,
    )
    incident_totals = charts.index(incidents["totals"])
    incident_per_school = charts.index(incidents["per_school"])
    schools = []
    for school in found["schools"]:
        slug = school["slug"]
        schools.append(
            {
                "name": school["name"],
                "chart": charts.monthly_chart(
                    f"school-{slug}",
                    f"Nieuwe meldingen per maand, {school['name']}",
                    per_school,
                    school["school_id"],
                    month_list,
                    q.NEW_CASES,
                ),
                "table": charts.table(
                    f"cijfers-{slug}",
                    per_school,
                    school["school_id"],
                    month_list,
                    charts.SCHOOL_ROWS,
                    f"Cijfers per maand, {school['name']}",
                ),
                "trends": charts.trend_charts(
                    f"school-{slug}", per_school, school["school_id"], month_list
                ),
                "incidents": charts.table(
                    f"incidenten-{slug}",
                    incident_per_school,
                    school["school_id"],
                    month_list,
                    charts.INCIDENT_ROWS,
                    f"Incidenten per maand, {school['name']}",
                ),
            }
        )
    return render(
        viewer,
        "board/stats.html",
        active="bestuur",
        months=months,
        school_count=len(found["schools"]),
        chart=charts.monthly_chart(
            "bestuur-meldingen",
            "Nieuwe meldingen per maand, alle scholen samen",
            totals,
            None,
            month_list,
            q.NEW_CASES,
        ),
        table=charts.table(
            "cijfers-bestuur",
            totals,
            None,
            month_list,
            charts.FULL_ROWS,
            "Cijfers per maand, alle scholen samen",
        ),
        trends=charts.trend_charts("bestuur", totals, None, month_list),
        incidents=charts.table(
            "incidenten-bestuur",
            incident_totals,
            None,
            month_list,
            charts.INCIDENT_ROWS,
            "Incidenten per maand, alle scholen samen",
        ),
        schools=schools,
        suppressed_text=charts.SUPPRESSED_TEXT,
        suppressed_explanation=charts.SUPPRESSED_EXPLANATION,
        suppression_threshold=charts.SUPPRESSION_THRESHOLD,
        pupil_counts=[(PUPIL_SIGNAL_LABELS_NL[k], n) for k, n in pupil_counts.items()],
    )


BOARD_PAGE_ROUTES: list[Any] = [board_stats_page]
