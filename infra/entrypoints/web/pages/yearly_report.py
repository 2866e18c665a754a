"""The yearly social-safety report as a page model, CSV and PDF (Dutch; issue 15 §2).

Built from the suppressed cells of :mod:`projections.yearly_report` and shown with the
statistics pages' own rules (:func:`infra.entrypoints.web.pages.charts.show`): a hidden count is
"<5", a
median or share over fewer than 5 cases says "te weinig zaken". The CSV and the PDF print the
same texts as the page, so no format shows a number the page hides.

A report has one section per unit (the school; for a board each school and "alle scholen
samen"), each with this school year beside the previous one, and for a board a comparison of
its schools over this year.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from infra.adapters.exports.pdf import FONT, GREY, _font_path, printable
from infra.adapters.monitor_averages import MonitorAverages
from infra.entrypoints.web.pages import charts
from infra.entrypoints.web.pages.charts import Shown
from projections import yearly_report as y
from projections.board_stats import queries as q
from projections.board_stats import suppression
from projections.board_stats.queries import StatCell
from projections.incident_stats import queries as iq
from services.casework.vocabulary import ComplaintLevel, Form, IncidentCategory

_LABELS_NL = {
    y.AFTERCARE_STOPPED: "Nazorg: pesten gestopt",
    y.AFTERCARE_CONTINUED: "Nazorg: pesten niet gestopt",
}

#: The rows of a unit's table, in reading order.
REPORT_ROWS: tuple[tuple[str, str | None], ...] = (
    (q.NEW_CASES, None),
    (q.CLOSED, None),
    (q.MEDIAN_DAYS_TO_INTAKE, None),
    (q.MEDIAN_DAYS_TO_CLOSE, None),
    *((q.BY_FORM, v.value) for v in Form),
    *((iq.BY_INCIDENT_CATEGORY, v.value) for v in IncidentCategory),
    (iq.SERIOUS_INCIDENTS, None),
    (iq.INSPECTIE_REPORTED, None),
    (y.AFTERCARE_STOPPED, None),
    (y.AFTERCARE_CONTINUED, None),
    (q.AFTERCARE_STOPPED_SHARE, None),
    *((q.COMPLAINTS, v.value) for v in ComplaintLevel),
    (q.POLICE_ADVISED, None),
)
#: The rows of the board's comparison of its schools.
COMPARISON_ROWS: tuple[tuple[str, str | None], ...] = (
    (q.NEW_CASES, None),
    (q.CLOSED, None),
    (q.MEDIAN_DAYS_TO_INTAKE, None),
    (q.MEDIAN_DAYS_TO_CLOSE, None),
    (q.AFTERCARE_STOPPED_SHARE, None),
    (iq.SERIOUS_INCIDENTS, None),
    (q.POLICE_ADVISED, None),
)

Index = dict[tuple[UUID | None, str, str | None], StatCell]
Monitor = dict[tuple[UUID, int], MonitorAverages]

#: The monitor averages' rows: (label, attribute of :class:`MonitorAverages`).
MONITOR_ROWS: tuple[tuple[str, str], ...] = (
    ("Monitor: ervaren veiligheid", "safety"),
    ("Monitor: gepest", "bullying"),
    ("Monitor: welbevinden", "wellbeing"),
)
#: Shown where no monitor average was entered (or for the board's total: none is computed).
NOT_ENTERED = "niet ingevuld"


def _average(monitor: Monitor, school_id: UUID | None, year: int, attribute: str) -> Shown:
    found = monitor.get((school_id, year)) if school_id is not None else None
    if found is None:
        return Shown(NOT_ENTERED if school_id is not None else charts.NO_VALUE)
    value = getattr(found, attribute)
    return Shown(f"{value:.1f}".replace(".", ","), value=float(value))


def _monitor_rows(monitor: Monitor, columns: Sequence[tuple[UUID | None, int]]) -> list[charts.Row]:
    return [
        charts.Row(text, [_average(monitor, sid, year, attr) for sid, year in columns])
        for text, attr in MONITOR_ROWS
    ]


def label(measure: str, category: str | None) -> str:
    return _LABELS_NL.get(measure) or charts.row_label(measure, category)


@dataclass(frozen=True)
class ReportTable:
    id: str
    caption: str
    columns: list[str]
    rows: list[charts.Row]


@dataclass(frozen=True)
class Unit:
    name: str
    table: ReportTable
    chart: charts.BarChart
    #: The chart's numbers as shown (the PDF draws its bars from them).
    chart_values: list[Shown]


@dataclass(frozen=True)
class YearlyReport:
    title: str
    year: str
    previous: str
    units: list[Unit]
    comparison: ReportTable | None
    comparison_chart: charts.BarChart | None
    comparison_values: list[Shown]
    #: A school's report: the monitor averages entered for this year (None: not entered).
    monitor_now: MonitorAverages | None = None
    #: A school's report: the titles of the lessons learned in this year's evaluations
    #: (opened as the report renders); ``None``: not shown (the viewer does not read lessons).
    lesson_titles: tuple[str, ...] | None = None
    #: The board's report: how many lessons each school learned this year (name, shown count:
    #: a number only, small numbers suppressed), never their text.
    lesson_counts: tuple[tuple[str, Shown], ...] = ()


def _index(cells: Sequence[StatCell]) -> Index:
    return {(c.school_id, c.measure, c.category): c for c in cells}


def _shown(cells: Index, school_id: UUID | None, measure: str, category: str | None) -> Shown:
    found = cells.get((school_id, measure, category))
    return charts.show(found, measure) if found is not None else Shown(charts.NO_VALUE)


def _unit(
    slug: str,
    name: str,
    school_id: UUID | None,
    school_year: y.SchoolYear,
    now: Index,
    before: Index,
    monitor: Monitor,
) -> Unit:
    year, previous = str(school_year), str(school_year.previous)
    columns = [(school_id, school_year.start), (school_id, school_year.previous.start)]
    table = ReportTable(
        id=f"jaar-{slug}",
        caption=f"Cijfers {year} naast {previous}, {name}",
        columns=[year, previous],
        rows=[
            charts.Row(label(m, c), [_shown(now, school_id, m, c), _shown(before, school_id, m, c)])
            for m, c in REPORT_ROWS
        ]
        + _monitor_rows(monitor, columns),
    )
    names = [charts.row_label(q.BY_FORM, f.value).split(": ", 1)[-1] for f in Form]
    values = [_shown(now, school_id, q.BY_FORM, f.value) for f in Form]
    chart = charts.bar_chart(
        f"vormen-{slug}",
        f"Nieuwe meldingen per vorm van pesten, {year}, {name}",
        [(n, n[:10], "") for n in names],
        values,
    )
    return Unit(name=name, table=table, chart=chart, chart_values=values)


def build_report(
    *,
    title: str,
    year: y.SchoolYear,
    schools: Sequence[tuple[UUID, str, str]],
    cells: dict[y.SchoolYear, list[StatCell]],
    board: bool,
    monitor: Monitor | None = None,
) -> YearlyReport:
    """The report of ``schools`` (id, slug, name) for ``year`` beside the year before;
    ``board``: add the total over the schools and the comparison of the schools."""
    now = _index(cells.get(year, []))
    before = _index(cells.get(year.previous, []))
    this, last = str(year), str(year.previous)
    monitor = monitor or {}
    units = [_unit(slug, name, sid, year, now, before, monitor) for sid, slug, name in schools]
    comparison = comparison_chart = None
    comparison_values: list[Shown] = []
    if board:
        units.append(_unit("bestuur", "alle scholen samen", None, year, now, before, monitor))
        columns = [(sid, name) for sid, _, name in schools] + [(None, "Alle scholen samen")]
        comparison = ReportTable(
            id="vergelijking",
            caption=f"De scholen vergeleken, {this}",
            columns=[name for _, name in columns],
            rows=[
                charts.Row(label(m, c), [_shown(now, sid, m, c) for sid, _ in columns])
                for m, c in COMPARISON_ROWS
            ]
            + _monitor_rows(monitor, [(sid, year.start) for sid, _ in columns]),
        )
        comparison_values = [_shown(now, sid, q.NEW_CASES, None) for sid, _, _ in schools]
        comparison_chart = charts.bar_chart(
            "vergelijking-meldingen",
            f"Nieuwe meldingen per school, {this}",
            [(name, name[:10], "") for _, _, name in schools],
            comparison_values,
        )
    return YearlyReport(
        title=title,
        year=this,
        previous=last,
        units=units,
        comparison=comparison,
        comparison_chart=comparison_chart,
        comparison_values=comparison_values,
        monitor_now=(
            monitor.get((schools[0][0], year.start)) if len(schools) == 1 and not board else None
        ),
    )


LESSONS_LABEL = "Leerpunt"
LESSON_COUNT_LABEL = "Leerpunten (aantal)"


def lesson_count_shown(count: int) -> Shown:
    """A school's number of lessons as the board sees it: below the threshold, "<5"."""
    if suppression.hides_count(count):
        return Shown(charts.SUPPRESSED_TEXT, suppressed=True)
    return Shown(str(count), value=float(count))


def report_csv(report: YearlyReport) -> str:
    """One line per unit, row and school year: ``eenheid;schooljaar;gegeven;waarde`` (the
    shown texts: "<5", "te weinig zaken", numbers)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["eenheid", "schooljaar", "gegeven", "waarde"])
    for unit in report.units:
        for row in unit.table.rows:
            for column, value in zip(unit.table.columns, row.values, strict=True):
                writer.writerow([unit.name, column, row.label, value.text])
    if report.lesson_titles is not None and report.units:
        for title in report.lesson_titles:
            writer.writerow([report.units[0].name, report.year, LESSONS_LABEL, title])
    for name, shown in report.lesson_counts:
        writer.writerow([name, report.year, LESSON_COUNT_LABEL, shown.text])
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------

_BAR_MAX_MM = 30.0
_BLUE = (31, 78, 121)


class _ReportPdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(FONT, "", _font_path("Regular"))
        self.add_font(FONT, "B", _font_path("Bold"))
        maps = [set(font.cmap) for font in self.fonts.values() if hasattr(font, "cmap")]
        self.covered = set.intersection(*maps)
        self.report_title = printable(title, self.covered)
        self.set_title(self.report_title)
        self.set_author("Vangnet")
        self.set_creator("Vangnet")
        self.set_lang("nl-NL")

    def p(self, text: str) -> str:
        return printable(text, self.covered)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.p(f"{self.report_title} · pagina {self.page_no()}"), align="C")
        self.set_text_color(0, 0, 0)

    def text_block(self, text: str, *, size: float = 10, style: str = "", h: float = 5) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, h, self.p(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def report_table(self, table: ReportTable) -> None:
        self.text_block(table.caption, size=11, style="B", h=6)
        width = self.w - self.l_margin - self.r_margin
        label_w = 70.0 if len(table.columns) <= 3 else 50.0
        col_w = (width - label_w) / max(len(table.columns), 1)
        self.set_font(FONT, "B", 8)
        self.cell(label_w, 5, self.p("Gegeven"), border="B")
        for column in table.columns:
            self.cell(col_w, 5, self.p(column[:24]), border="B", align="R")
        self.ln()
        self.set_font(FONT, "", 8)
        for row in table.rows:
            self.cell(label_w, 4.6, self.p(row.label[:60]))
            for value in row.values:
                self.cell(col_w, 4.6, self.p(value.text), align="R")
            self.ln()
        self.ln(3)

    def bars(self, chart: charts.BarChart, values: Sequence[Shown]) -> None:
        """Horizontal bars: a hidden count is an outlined stub labelled "<5", never its value."""
        self.text_block(chart.title, size=10, style="B")
        top = max((v.value or 0.0 for v in values), default=0.0) or 1.0
        self.set_font(FONT, "", 8)
        for bar, value in zip(chart.bars, values, strict=True):
            if self.will_page_break(5):
                self.add_page()
            x, y0 = self.l_margin, self.get_y()
            self.cell(45, 4.6, self.p(bar.label[:40]))
            length = 2.0 if value.suppressed else (value.value or 0.0) / top * _BAR_MAX_MM
            if length > 0:
                self.set_fill_color(*_BLUE)
                self.rect(x + 46, y0 + 0.8, length, 3.0, style="D" if value.suppressed else "F")
            self.set_xy(x + 48 + length, y0)
            self.cell(30, 4.6, self.p(value.text))
            self.ln()
        self.ln(3)


def render_yearly_pdf(report: YearlyReport) -> bytes:
    """The report as PDF bytes (A4, Dutch, bars drawn for the charts)."""
    pdf = _ReportPdf(report.title)
    pdf.add_page()
    pdf.text_block(report.title, size=15, style="B", h=8)
    pdf.text_block(
        f"Schooljaar {report.year} (1 augustus tot en met 31 juli), naast {report.previous}. "
        f"Anonieme cijfers: een aantal van 1 tot {q.DEFAULT_THRESHOLD} staat er als "
        f'"{charts.SUPPRESSED_TEXT}", en ook een groter aantal dat anders uit de andere cijfers '
        f"terug te rekenen is; een mediaan of aandeel over minder dan {q.DEFAULT_THRESHOLD} "
        f"zaken, of een aandeel dat een verborgen aantal verraadt, is niet berekend "
        f'("{charts.TOO_FEW_TEXT}").',
        size=9,
    )
    pdf.ln(3)
    if report.comparison is not None and report.comparison_chart is not None:
        pdf.report_table(report.comparison)
        pdf.bars(report.comparison_chart, report.comparison_values)
    for unit in report.units:
        if pdf.will_page_break(60):
            pdf.add_page()
        pdf.text_block(unit.name, size=13, style="B", h=7)
        pdf.report_table(unit.table)
        pdf.bars(unit.chart, unit.chart_values)
    if report.lesson_titles is not None:
        pdf.text_block(f"Leerpunten uit de evaluaties, {report.year}", size=13, style="B", h=7)
        for title in report.lesson_titles or ["Geen leerpunten in dit schooljaar."]:
            pdf.text_block(f"- {title}", size=9)
    if report.lesson_counts:
        pdf.text_block(f"Leerpunten per school (aantal), {report.year}", size=13, style="B", h=7)
        for name, shown in report.lesson_counts:
            pdf.text_block(f"{name}: {shown.text}", size=9)
    return bytes(pdf.output())
