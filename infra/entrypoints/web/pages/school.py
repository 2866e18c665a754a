"""The school's pages for the anti-bullying coordinator (and others whose role allows):
signals, lessons (leerpunten), the protocol checklist editor, anonymous school statistics."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template

from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages import charts
from infra.entrypoints.web.pages.common import render, school_required, viewer_of
from infra.entrypoints.web.pages.protocol import parse_protocol, protocol_form
from infra.entrypoints.web.reads import (
    month_range,
    pupil_signal_counts,
    school_escalations,
    school_incident_statistics,
    school_lessons,
    school_pupil_signals,
    school_signals,
    school_statistics,
)
from projections.board_stats import queries as q
from projections.escalation.queries import SIGNAL_LABELS_NL, SignalKind
from projections.pupils.queries import PUPIL_SIGNAL_LABELS_NL
from services.access.roles import Permission
from services.casework.protocol import InvalidProtocol

PROTOCOL_URL = "/school/protocol"


@get(
    "/school/signalen",
    name="page-signals",
    include_in_schema=False,
    guards=[requires(Permission.SIGNALS_READ)],
)
async def signals_page(request: Request[Any, Any, Any]) -> Template:
    """Cases that need attention (open ones, and closed ones whose Inspectie report is due), and
    the complaint ladder of cases with a complaint."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    services = Services.of(request.app.state)
    found = await school_signals(services, school, viewer.principal)
    complaints = await school_escalations(services, school, viewer.principal)
    pupil_signals = await school_pupil_signals(services, school, viewer.principal)
    counts = dict.fromkeys(SignalKind, 0)
    for signals in found.values():
        for signal in signals:
            counts[signal.kind] += 1
    return render(
        viewer,
        "school/signals.html",
        active="signalen",
        signals=sorted(found.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))),
        counts=[(kind, SIGNAL_LABELS_NL[kind], n) for kind, n in counts.items()],
        escalations=complaints,
        may_read_cases=viewer.may(Permission.CASE_READ),
        pupil_signals=[(s, p, PUPIL_SIGNAL_LABELS_NL[s.kind]) for s, p in pupil_signals],
        reads_pupils=viewer.reads_pupils,
    )


@get(
    "/school/leerpunten",
    name="page-lessons",
    include_in_schema=False,
    guards=[requires(Permission.LESSONS_READ)],
)
async def lessons_page(request: Request[Any, Any, Any]) -> Template:
    """The evaluations of the school's cases and their lessons, newest first."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    found = await school_lessons(Services.of(request.app.state), school, viewer.principal)
    return render(
        viewer,
        "school/lessons.html",
        active="leerpunten",
        lessons=found,
        may_read_cases=viewer.may(Permission.CASE_READ),
    )


@get(
    PROTOCOL_URL,
    name="page-protocol",
    include_in_schema=False,
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def protocol_page(
    request: Request[Any, Any, Any], opgeslagen: FromQuery[bool] = False
) -> Template:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = protocol_form(school.protocol, is_default=school.protocol_is_default, url=PROTOCOL_URL)
    return render(viewer, "school/protocol.html", active="protocol", form=form, saved=opgeslagen)


@post(
    PROTOCOL_URL,
    name="page-protocol-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def protocol_post(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Replace the school's checklist with the rows of the form (PUT semantics)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    services = Services.of(request.app.state)
    steps, form = parse_protocol(
        (await request.form()).dict(), is_default=school.protocol_is_default, url=PROTOCOL_URL
    )
    if steps is not None:
        try:
            await anyio.to_thread.run_sync(
                lambda: services.registry.configure_protocol(
                    school.id, steps, actor=viewer.principal.actor
                )
            )
        except InvalidProtocol:
            form.errors.append("Het protocol is niet opgeslagen: controleer de stappen.")
        else:
            services.directory.evict(school.id)
            return Redirect(f"{PROTOCOL_URL}?opgeslagen=true", status_code=303)
    return render(viewer, "school/protocol.html", active="protocol", form=form, status=422)


@get(
    "/school/statistiek",
    name="page-school-stats",
    include_in_schema=False,
    guards=[requires(Permission.STATS_SCHOOL)],
)
async def school_stats_page(
    request: Request[Any, Any, Any],
    months: Annotated[int, QueryParameter(ge=1, le=36)] = 12,
) -> Template:
    """Anonymous statistics of the school per month (no case content)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    services = Services.of(request.app.state)
    cells = await school_statistics(services, school, viewer.principal, months)
    pupil_counts = await pupil_signal_counts(services, [school])
    first, last = month_range(months)
    month_list = charts.months_between(first, last)
    indexed = charts.index(cells)
    incident_cells = await school_incident_statistics(
        Services.of(request.app.state), school, viewer.principal, months
    )
    return render(
        viewer,
        "school/stats.html",
        active="statistiek",
        months=months,
        chart=charts.monthly_chart(
            "meldingen-per-maand",
            "Nieuwe meldingen per maand",
            indexed,
            school.id,
            month_list,
            q.NEW_CASES,
        ),
        table=charts.table(
            "cijfers-school",
            indexed,
            school.id,
            month_list,
            charts.FULL_ROWS,
            f"Cijfers per maand, {school.name}",
        ),
        trends=charts.trend_charts("school", indexed, school.id, month_list),
        incidents=charts.table(
            "incidenten-school",
            charts.index(incident_cells),
            school.id,
            month_list,
            charts.INCIDENT_ROWS,
            f"Incidenten per maand, {school.name}",
        ),
        suppressed_text=charts.SUPPRESSED_TEXT,
        suppressed_explanation=charts.SUPPRESSED_EXPLANATION,
        suppression_threshold=charts.SUPPRESSION_THRESHOLD,
        pupil_counts=[(PUPIL_SIGNAL_LABELS_NL[k], n) for k, n in pupil_counts.items()],
    )


SCHOOL_PAGE_ROUTES: list[Any] = [
    signals_page,
    lessons_page,
    protocol_page,
    protocol_post,
    school_stats_page,
]
