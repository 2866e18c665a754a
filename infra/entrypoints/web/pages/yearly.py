"""The yearly social-safety report (jaarverslag sociale veiligheid) for the school and the board:
a page, a CSV and a PDF for one school year (``?schooljaar=2025-2026``; default: the current
one), beside the year before. Anonymous, suppressed figures only (issue 15 §2)."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

import dataclasses
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from infra.adapters.monitor_averages import (
    FIELDS,
    MonitorAverages,
    parse_form,
    record,
    record_import,
    record_imports,
)
from infra.adapters.monitor_csv import MAX_BYTES as MONITOR_CSV_MAX_BYTES
from infra.adapters.monitor_csv import SCHOOL_COLUMN, CsvReason, CsvRefused, MonitorRow
from infra.adapters.monitor_csv import parse as parse_monitor_csv
from infra.entrypoints.web.context import Services, today
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages import charts
from infra.entrypoints.web.pages.common import Viewer, render, school_required, viewer_of
from infra.entrypoints.web.pages.yearly_report import (
    YearlyReport,
    build_report,
    lesson_count_shown,
    render_yearly_pdf,
    report_csv,
)
from infra.entrypoints.web.reads import (
    yearly_lesson_counts,
    yearly_lesson_titles,
    yearly_statistics,
)
from infra.entrypoints.web.refusals import field_problem_nl
from projections.yearly_report import SchoolYear
from services.access.roles import Permission
from services.shared.errors import InvalidInput, PermissionDenied
from tenants.registry import School

SchoolYearParam = Annotated[str | None, QueryParameter(max_length=20)]
MONITOR_URL = "/school/jaarverslag/monitor"
MONITOR_IMPORT_URL = "/school/jaarverslag/monitor/import"
BOARD_MONITOR_IMPORT_URL = "/bestuur/jaarverslag/monitor/import"
#: Dutch sentence per reason a monitor file is refused.
CSV_REFUSALS_NL: dict[str, str] = {
    CsvReason.TOO_LARGE: (
        f"Het bestand is te groot (hoogstens {MONITOR_CSV_MAX_BYTES // 1024} kB). Een "
        "monitorbestand heeft één regel per schooljaar."
    ),
    CsvReason.ENCODING: "Het bestand is geen UTF-8-tekst. Sla het op als 'CSV UTF-8'.",
    CsvReason.UNREADABLE: "Deze regel is geen geldige CSV (controleer de aanhalingstekens).",
    CsvReason.MISSING_COLUMNS: (
        "De eerste regel moet de kolommen schooljaar, veiligheid, pesten en welbevinden noemen."
    ),
    CsvReason.NO_ROWS: "Het bestand heeft geen regels met gemiddelden onder de kopregel.",
    CsvReason.TOO_MANY_ROWS: "Het bestand heeft te veel regels.",
    CsvReason.FORMULA: (
        "Een cel begint met =, +, -, @ of een tab: dat kan een formule van een "
        "rekenprogramma zijn, en die nemen we niet over."
    ),
    CsvReason.SCHOOL_YEAR: "Vul het schooljaar in zoals 2025-2026.",
    CsvReason.AVERAGE: (
        "Een gemiddelde is een getal van 0 tot en met 100, met hoogstens één decimaal "
        "(bijvoorbeeld 87,5)."
    ),
    CsvReason.DUPLICATE_YEAR: "Dit schooljaar staat twee keer in het bestand.",
    CsvReason.MISSING_SCHOOL: "Vul de school in (de korte naam of de naam van de school).",
    CsvReason.UNKNOWN_SCHOOL: (
        "Deze school hoort niet bij uw bestuur (of de naam is niet goed gespeld). U kunt "
        "alleen gemiddelden van de scholen van uw bestuur importeren."
    ),
}


def csv_refusal_nl(error: CsvRefused) -> str:
    """The refusal in Dutch, naming the line (and the column) it is about."""
    sentence = CSV_REFUSALS_NL.get(error.reason or "", "Het bestand kan niet worden gelezen.")
    where = f"Regel {error.line}" if error.line else "Het bestand"
    if error.column:
        where += f", kolom {error.column}"  # the column names are Dutch already
    return f"{where}: {sentence} Er is niets opgeslagen."


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
    services = Services.of(request.app.state)
    cells, monitor = await yearly_statistics(
        services, viewer.principal, [school.id], year, board=False
    )
    report = build_report(
        title=f"Jaarverslag sociale veiligheid {year}, {school.name}",
        year=year,
        schools=[(school.id, school.slug, school.name)],
        cells=cells,
        board=False,
        monitor=monitor,
    )
    if viewer.may(Permission.LESSONS_READ):
        titles = await yearly_lesson_titles(services, school, viewer.principal, year)
        report = dataclasses.replace(report, lesson_titles=tuple(titles))
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
    # A number per school only: lesson titles are free text about a case (need-to-know).
    counts = await yearly_lesson_counts(services, viewer.principal, schools, year)
    report = dataclasses.replace(
        report,
        lesson_counts=tuple((s.name, lesson_count_shown(counts.get(s.id, 0))) for s in schools),
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
    import_error: str | None = None,
    imported: int | None = None,
    status: int | None = None,
) -> Template:
    return render(
        viewer,
        "yearly_report.html",
        status=status or (422 if error is not None or monitor_error is not None else 200),
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
        import_error=import_error,
        imported=imported,
        import_max_kb=MONITOR_CSV_MAX_BYTES // 1024,
        # The board imports its schools' averages (a school column) on the board's page.
        board_import=report is not None
        and report.comparison is not None
        and viewer.may(Permission.STATS_BOARD),
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
    geimporteerd: Annotated[int | None, QueryParameter(ge=1, le=1000)] = None,
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
        imported=geimporteerd,
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
    request: Request[Any, Any, Any],
    schooljaar: SchoolYearParam = None,
    geimporteerd: Annotated[int | None, QueryParameter(ge=1, le=1000)] = None,
) -> Template:
    """The board's yearly report: its schools compared, each beside last year."""
    try:
        viewer, report = await _board_report(request, schooljaar)
    except InvalidInput as error:
        viewer = await viewer_of(request)
        return _page(viewer, None, "/bestuur/jaarverslag", "bestuur", asked=schooljaar, error=error)
    return _page(viewer, report, "/bestuur/jaarverslag", "bestuur", imported=geimporteerd)


def _school_of(row: MonitorRow, schools: dict[str, School]) -> School:
    """The board's school a row names (by short name or name); another board's or an unknown
    school is refused naming the line: a board imports for its own schools only."""
    found = schools.get(row.school.casefold())
    if found is None:
        msg = f"line {row.line}: the school is not one of the board's schools"
        raise CsvRefused(msg, reason=CsvReason.UNKNOWN_SCHOOL, line=row.line, column=SCHOOL_COLUMN)
    return found


@post(
    BOARD_MONITOR_IMPORT_URL,
    name="page-board-monitor-import",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.STATS_BOARD)],
)
async def board_monitor_import(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Import the monitor averages of the board's schools from one CSV file with a ``school``
    column (a school's short name or name): a row naming any other school refuses the whole
    file, naming its line; nothing is stored then."""
    viewer = await viewer_of(request)
    if viewer.principal.board_id is None:
        raise PermissionDenied(f"role '{viewer.principal.role}' has no board")
    services = Services.of(request.app.state)
    schools = await anyio.to_thread.run_sync(
        services.registry.list_schools, viewer.principal.board_id
    )
    by_name: dict[str, School] = {}
    for school in schools:
        by_name[school.slug.casefold()] = school
        by_name[" ".join(school.name.split()).casefold()] = school
    form = await request.form()
    upload = form.get("bestand")
    status = 422
    if not isinstance(upload, UploadFile):
        message = "Kies een CSV-bestand om te importeren. Er is niets opgeslagen."
    else:
        data = await upload.read(MONITOR_CSV_MAX_BYTES + 1)
        try:
            rows = parse_monitor_csv(data, school_column=True)
            grouped: dict[UUID, list[tuple[int, MonitorAverages]]] = {}
            for row in rows:
                school = _school_of(row, by_name)
                grouped.setdefault(school.id, []).append((row.year.start, row.averages))
        except CsvRefused as refused:
            message = csv_refusal_nl(refused)
            status = 413 if refused.reason == CsvReason.TOO_LARGE else 422
        else:
            await record_imports(
                services.read_pool, grouped, imported_by=viewer.principal.actor.user_id
            )
            latest = max(row.year for row in rows)
            return Redirect(
                f"/bestuur/jaarverslag?schooljaar={latest}&geimporteerd={len(rows)}",
                status_code=303,
            )
    _, report = await _board_report(request, None)
    return _page(
        viewer, report, "/bestuur/jaarverslag", "bestuur", import_error=message, status=status
    )


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


@post(
    MONITOR_IMPORT_URL,
    name="page-school-monitor-import",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def school_monitor_import(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Import the school's monitor averages from a CSV file (``bestand``; format in
    :mod:`infra.adapters.monitor_csv`): every row is checked first; a bad row is refused naming its
    line and nothing is stored; a year imported before is replaced, and the import recorded."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = await request.form()
    upload = form.get("bestand")
    status = 422
    if not isinstance(upload, UploadFile):
        message = "Kies een CSV-bestand om te importeren. Er is niets opgeslagen."
    else:
        data = await upload.read(MONITOR_CSV_MAX_BYTES + 1)
        try:
            rows = parse_monitor_csv(data)
        except CsvRefused as refused:
            message = csv_refusal_nl(refused)
            status = 413 if refused.reason == CsvReason.TOO_LARGE else 422
        else:
            services = Services.of(request.app.state)
            await record_import(
                services.read_pool,
                school.id,
                [(row.year.start, row.averages) for row in rows],
                imported_by=viewer.principal.actor.user_id,
            )
            latest = max(row.year for row in rows)
            return Redirect(
                f"/school/jaarverslag?schooljaar={latest}&geimporteerd={len(rows)}",
                status_code=303,
            )
    _, report = await _school_report(request, None)
    return _page(
        viewer,
        report,
        "/school/jaarverslag",
        "statistiek",
        monitor_values=_entered(report),
        import_error=message,
        status=status,
    )


YEARLY_PAGE_ROUTES: list[Any] = [
    school_monitor_import,
    board_monitor_import,
    school_yearly_page,
    school_yearly_csv,
    school_yearly_pdf,
    school_monitor_post,
    board_yearly_page,
    board_yearly_csv,
    board_yearly_pdf,
]
