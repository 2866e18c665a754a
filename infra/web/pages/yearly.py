"""The yearly social-safety report (jaarverslag sociale veiligheid) for the school and the board:
a page, a CSV and a PDF for one school year (``?schooljaar=2025-2026``; default: the current
one), beside the year before. Anonymous, suppressed figures only (issue 15 §2)."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from decimal import Decimal
from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from infra.monitor_averages import FIELDS, parse_form, record
from infra.web.context import Services, today
from infra.web.guards import requires
from infra.web.pages import charts
from infra.web.pages.common import Viewer, render, school_required, viewer_of
from infra.web.pages.yearly_report import YearlyReport, build_report, render_yearly_pdf, report_csv
from infra.web.reads import yearly_statistics
from infra.web.refusals import field_problem_nl
from projections.yearly_report import SchoolYear
from services.access.roles import Permission
from services.shared.errors import InvalidInput, PermissionDenied

SchoolYearParam = Annotated[str | None, QueryParameter(max_length=20)]
MONITOR_URL = "/school/jaarverslag/monitor"
#: The monitor form's fields and their Dutch labels.
MONITOR_FIELDS_NL: tuple[tuple[str, str], ...] = (
    ("veiligheid", "Ervaren veiligheid"),
    ("pesten", "Gepest"),
    ("welbevinden", "Welbevinden"),
)


def school_year(text: str | None) -> SchoolYear:
    """The asked school year, or the one today is in."""
    if text is None or not text.strip():
        return SchoolYear.containing(today())
    try:
        return SchoolYear.parse(text)
    except ValueError:
        raise InvalidInput(
            "schooljaar must look like 2025-2026", field="schooljaar", reason="invalid_school_year"
        ) from None


async def _school_report(
    request: Request[Any, Any, Any], text: str | None
) -> tuple[Viewer, YearlyReport]:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    year = school_year(text)
    cells, monitor = await yearly_statistics(
        Services.of(request.app.state), viewer.principal, [school.id], year, board=False
    )
    report = build_report(
        title=f"Jaarverslag sociale veiligheid {year}, {school.name}",
        year=year,
        schools=[(school.id, school.slug, school.name)],
        cells=cells,
        board=False,
        monitor=monitor,
    )
    return viewer, report


async def _board_report(
    request: Request[Any, Any, Any], text: str | None
) -> tuple[Viewer, YearlyReport]:
    viewer = await viewer_of(request)
    services = Services.of(request.app.state)
    year = school_year(text)
    if viewer.principal.board_id is None:
        raise PermissionDenied(f"role '{viewer.principal.role}' has no board")
    schools = await anyio.to_thread.run_sync(
        services.registry.list_schools, viewer.principal.board_id
    )
    cells, monitor = await yearly_statistics(
        services, viewer.principal, [s.id for s in schools], year, board=True
    )
    report = build_report(
        title=f"Jaarverslag sociale veiligheid {year}, bestuur",
        year=year,
        schools=[(s.id, s.slug, s.name) for s in schools],
        cells=cells,
        board=True,
        monitor=monitor,
    )
    return viewer, report


def _format(value: Decimal) -> str:
    return f"{value:.1f}".replace(".", ",")


def _entered(report: YearlyReport) -> dict[str, str]:
    """The monitor form's values: what was entered for the report's year, if anything."""
    found = report.monitor_now
    if found is None:
        return {}
    return {field: _format(getattr(found, column)) for field, column in FIELDS}


def _page(
    viewer: Viewer,
    report: YearlyReport | None,
    base: str,
    active: str,
    *,
    asked: str | None = None,
    error: InvalidInput | None = None,
    monitor_values: dict[str, str] | None = None,
    monitor_error: InvalidInput | None = None,
    saved: bool = False,
) -> Template:
    return render(
        viewer,
        "yearly_report.html",
        status=422 if error is not None or monitor_error is not None else 200,
        active=active,
        report=report,
        base=base,
        asked=asked,
        error=field_problem_nl(error) if error is not None else None,
        # The coordinator enters the school's monitor averages on the school's page.
        monitor_form=report is not None
        and report.comparison is None
        and viewer.may(Permission.PROTOCOL_MANAGE),
        monitor_fields=MONITOR_FIELDS_NL,
        monitor_values=monitor_values or {},
        monitor_error=(
            (monitor_error.field, field_problem_nl(monitor_error))
            if monitor_error is not None
            else None
        ),
        saved=saved,
        suppressed_text=charts.SUPPRESSED_TEXT,
        suppressed_explanation=charts.SUPPRESSED_EXPLANATION,
        suppression_threshold=charts.SUPPRESSION_THRESHOLD,
    )


def _download(data: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(
        content=data,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def _csv(report: YearlyReport, name: str) -> Response[bytes]:
    # A BOM, so that a spreadsheet opens the Dutch text as UTF-8.
    data = ("\ufeff" + report_csv(report)).encode()
    return _download(data, "text/csv; charset=utf-8", f"{name}-{report.year}.csv")


async def _pdf(report: YearlyReport, name: str) -> Response[bytes]:
    data = await anyio.to_thread.run_sync(render_yearly_pdf, report)
    return _download(data, "application/pdf", f"{name}-{report.year}.pdf")


@get(
    "/school/jaarverslag",
    name="page-school-yearly",
    include_in_schema=False,
    guards=[requires(Permission.STATS_SCHOOL)],
)
async def school_yearly_page(
    request: Request[Any, Any, Any],
    schooljaar: SchoolYearParam = None,
    opgeslagen: FromQuery[bool] = False,
) -> Template:
    """The school's yearly report beside last year (a bad school year: the form says so)."""
    try:
        viewer, report = await _school_report(request, schooljaar)
        values = _entered(report)
    except InvalidInput as error:
        viewer = await viewer_of(request)
        return _page(
            viewer, None, "/school/jaarverslag", "statistiek", asked=schooljaar, error=error
        )
    return _page(
        viewer,
        report,
        "/school/jaarverslag",
        "statistiek",
        monitor_values=values,
        saved=opgeslagen,
    )


@get(
    "/school/jaarverslag.csv",
    name="page-school-yearly-csv",
    include_in_schema=False,
    guards=[requires(Permission.STATS_SCHOOL)],
)
async def school_yearly_csv(
    request: Request[Any, Any, Any], schooljaar: SchoolYearParam = None
) -> Response[bytes]:
    _, report = await _school_report(request, schooljaar)
    return await _csv(report, "jaarverslag-school")


@get(
    "/school/jaarverslag.pdf",
    name="page-school-yearly-pdf",
    include_in_schema=False,
    guards=[requires(Permission.STATS_SCHOOL)],
)
async def school_yearly_pdf(
    request: Request[Any, Any, Any], schooljaar: SchoolYearParam = None
) -> Response[bytes]:
    _, report = await _school_report(request, schooljaar)
    return await _pdf(report, "jaarverslag-school")


@post(
    MONITOR_URL,
    name="page-school-monitor-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def school_monitor_post(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Enter (or correct) the school's monitor averages of a school year; nothing is stored
    when a field is wrong, and the form says which."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    data = await request.form()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    year_text = form.get("schooljaar")
    year = school_year(year_text)
    try:
        averages = parse_form(form)
    except InvalidInput as error:
        _, report = await _school_report(request, str(year))
        entered = {field: form.get(field, "") for field, _ in FIELDS}
        return _page(
            viewer,
            report,
            "/school/jaarverslag",
            "statistiek",
            monitor_values=entered,
            monitor_error=error,
        )
    services = Services.of(request.app.state)
    await record(services.read_pool, school.id, year.start, averages)
    return Redirect(f"/school/jaarverslag?schooljaar={year}&opgeslagen=true", status_code=303)


@get(
    "/bestuur/jaarverslag",
    name="page-board-yearly",
    include_in_schema=False,
    guards=[requires(Permission.STATS_BOARD)],
)
async def board_yearly_page(
    request: Request[Any, Any, Any], schooljaar: SchoolYearParam = None
) -> Template:
    """The board's yearly report: its schools compared, each beside last year."""
    try:
        viewer, report = await _board_report(request, schooljaar)
    except InvalidInput as error:
        viewer = await viewer_of(request)
        return _page(viewer, None, "/bestuur/jaarverslag", "bestuur", asked=schooljaar, error=error)
    return _page(viewer, report, "/bestuur/jaarverslag", "bestuur")


@get(
    "/bestuur/jaarverslag.csv",
    name="page-board-yearly-csv",
    include_in_schema=False,
    guards=[requires(Permission.STATS_BOARD)],
)
async def board_yearly_csv(
    request: Request[Any, Any, Any], schooljaar: SchoolYearParam = None
) -> Response[bytes]:
    _, report = await _board_report(request, schooljaar)
    return await _csv(report, "jaarverslag-bestuur")


@get(
    "/bestuur/jaarverslag.pdf",
    name="page-board-yearly-pdf",
    include_in_schema=False,
    guards=[requires(Permission.STATS_BOARD)],
)
async def board_yearly_pdf(
    request: Request[Any, Any, Any], schooljaar: SchoolYearParam = None
) -> Response[bytes]:
    _, report = await _board_report(request, schooljaar)
    return await _pdf(report, "jaarverslag-bestuur")


YEARLY_PAGE_ROUTES: list[Any] = [
    school_yearly_page,
    school_yearly_csv,
    school_yearly_pdf,
    school_monitor_post,
    board_yearly_page,
    board_yearly_csv,
    board_yearly_pdf,
]
