"""The yearly social-safety report (jaarverslag sociale veiligheid) for the school and the board:
a page, a CSV and a PDF for one school year (``?schooljaar=2025-2026``; default: the current
one), beside the year before. Anonymous, suppressed figures only (issue 15 §2)."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Response, Template

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
    cells = await yearly_statistics(
        Services.of(request.app.state), viewer.principal, [school.id], year, board=False
    )
    report = build_report(
        title=f"Jaarverslag sociale veiligheid {year}, {school.name}",
        year=year,
        schools=[(school.id, school.slug, school.name)],
        cells=cells,
        board=False,
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
    cells = await yearly_statistics(
        services, viewer.principal, [s.id for s in schools], year, board=True
    )
    report = build_report(
        title=f"Jaarverslag sociale veiligheid {year}, bestuur",
        year=year,
        schools=[(s.id, s.slug, s.name) for s in schools],
        cells=cells,
        board=True,
    )
    return viewer, report


def _page(
    viewer: Viewer,
    report: YearlyReport | None,
    base: str,
    active: str,
    *,
    asked: str | None = None,
    error: InvalidInput | None = None,
) -> Template:
    return render(
        viewer,
        "yearly_report.html",
        status=422 if error is not None else 200,
        active=active,
        report=report,
        base=base,
        asked=asked,
        error=field_problem_nl(error) if error is not None else None,
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
    request: Request[Any, Any, Any], schooljaar: SchoolYearParam = None
) -> Template:
    """The school's yearly report beside last year (a bad school year: the form says so)."""
    try:
        viewer, report = await _school_report(request, schooljaar)
    except InvalidInput as error:
        viewer = await viewer_of(request)
        return _page(
            viewer, None, "/school/jaarverslag", "statistiek", asked=schooljaar, error=error
        )
    return _page(viewer, report, "/school/jaarverslag", "statistiek")


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
    board_yearly_page,
    board_yearly_csv,
    board_yearly_pdf,
]
