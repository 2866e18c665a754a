"""Anonymous statistics as tables and server-rendered SVG bar charts (no script needed).

Every chart has a table with the same numbers next to it (the accessible alternative). A
suppressed count (1 to 4: the threshold is the read side's, ``DEFAULT_THRESHOLD``) is shown as
"<5" and drawn as an outlined stub, never as its value: the read side already hid it. A median
or a share over fewer than 5 cases is not computed at all and says so: "te weinig zaken" (a
"<5" there would read like a value), drawn as a stub with a dash above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from projections.board_stats import queries as q
from projections.board_stats.queries import StatCell
from projections.incident_stats import queries as iq
from services.casework.labels import MONTHS_NL, label_of
from services.casework.vocabulary import (
    ComplaintLevel,
    Form,
    IncidentCategory,
    Location,
    ReporterKind,
)

SUPPRESSED_TEXT = q.SUPPRESSED_TEXT
SUPPRESSION_THRESHOLD = q.DEFAULT_THRESHOLD
NO_VALUE = "\u2013"  # an en dash: nothing to compute
#: A median or share over fewer cases than the threshold: not computed.
TOO_FEW_TEXT = "te weinig zaken"
SUPPRESSED_EXPLANATION = (
    f"minder dan {q.DEFAULT_THRESHOLD}, of terug te rekenen uit andere cijfers: verborgen, "
    "zodat geen leerling herkenbaar is"
)

MEASURE_LABELS_NL: dict[str, str] = {
    q.NEW_CASES: "Nieuwe meldingen",
    q.CLOSED: "Afgesloten zaken",
    q.MEDIAN_DAYS_TO_INTAKE: "Mediaan aantal dagen tot het opvanggesprek",
    q.MEDIAN_DAYS_TO_CLOSE: "Mediaan aantal dagen tot afsluiten",
    q.AFTERCARE_STOPPED_SHARE: "Nazorg: aandeel waarin het pesten gestopt is",
    q.REOPENED: "Heropende zaken",
    q.POLICE_ADVISED: "Aangifte bij de politie geadviseerd",
    q.BY_FORM: "Vorm",
    q.BY_LOCATION: "Plaats",
    q.BY_REPORTER_KIND: "Gemeld door",
    q.COMPLAINTS: "Klachten",
    iq.BY_INCIDENT_CATEGORY: "Incidenten",
    iq.SERIOUS_INCIDENTS: "Ernstige incidenten",
    iq.INSPECTIE_REPORTED: "Ernstige incidenten gemeld bij de Inspectie",
}

#: The rows of a full statistics table: (measure, category), in reading order.
FULL_ROWS: tuple[tuple[str, str | None], ...] = (
    (q.NEW_CASES, None),
    (q.CLOSED, None),
    (q.MEDIAN_DAYS_TO_INTAKE, None),
    (q.MEDIAN_DAYS_TO_CLOSE, None),
    (q.AFTERCARE_STOPPED_SHARE, None),
    (q.REOPENED, None),
    (q.POLICE_ADVISED, None),
    *((q.BY_FORM, v.value) for v in Form),
    *((q.BY_LOCATION, v.value) for v in Location),
    *((q.BY_REPORTER_KIND, v.value) for v in ReporterKind),
    *((q.COMPLAINTS, v.value) for v in ComplaintLevel),
)
#: The rows shown per school on the board page.
SCHOOL_ROWS: tuple[tuple[str, str | None], ...] = FULL_ROWS[:5]
#: The rows of an incident table (the incident statistics' cells).
INCIDENT_ROWS: tuple[tuple[str, str | None], ...] = (
    *((iq.BY_INCIDENT_CATEGORY, v.value) for v in IncidentCategory),
    (iq.SERIOUS_INCIDENTS, None),
    (iq.INSPECTIE_REPORTED, None),
)

_VOCABULARY = {q.BY_FORM: Form, q.BY_LOCATION: Location, q.BY_REPORTER_KIND: ReporterKind,
               q.COMPLAINTS: ComplaintLevel,
               iq.BY_INCIDENT_CATEGORY: IncidentCategory}  # fmt: skip
_STATS = {q.MEDIAN_DAYS_TO_INTAKE, q.MEDIAN_DAYS_TO_CLOSE, q.AFTERCARE_STOPPED_SHARE}

Key = tuple[UUID | None, date, str, str | None]


def row_label(measure: str, category: str | None) -> str:
    label = MEASURE_LABELS_NL.get(measure, measure)
    if category is None:
        return label
    kind = _VOCABULARY.get(measure)
    name = category
    if kind is not None:
        try:
            name = label_of(kind(category))
        except ValueError:
            name = category
    return f"{label}: {name}"


def months_between(first: date, last: date) -> list[date]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return months


@dataclass(frozen=True)
class Shown:
    """One number as a page shows it."""

    text: str
    suppressed: bool = False
    value: float | None = None
    #: A median or share not computed: fewer cases than the threshold ("te weinig zaken").
    too_few: bool = False


def _format_number(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def show(cell: StatCell | None, measure: str) -> Shown:
    if cell is None:
        # The read side leaves out school-months without any case: a zero, or nothing to compute.
        return Shown(NO_VALUE) if measure in _STATS else Shown("0", value=0)
    if cell.suppressed and measure in _STATS:
        return Shown(TOO_FEW_TEXT, suppressed=True, too_few=True)
    if cell.suppressed:
        return Shown(SUPPRESSED_TEXT, suppressed=True)
    if cell.value is None:
        return Shown(NO_VALUE)
    if measure == q.AFTERCARE_STOPPED_SHARE:
        return Shown(f"{round(cell.value * 100)}%", value=float(cell.value))
    if measure in _STATS:
        return Shown(f"{_format_number(float(cell.value))} dagen", value=float(cell.value))
    return Shown(str(int(cell.value)), value=float(cell.value))


def index(cells: Iterable[StatCell]) -> dict[Key, StatCell]:
    return {(c.school_id, c.month, c.measure, c.category): c for c in cells}


@dataclass(frozen=True)
class Row:
    label: str
    values: list[Shown]


@dataclass(frozen=True)
class StatTable:
    id: str
    caption: str
    months: list[date]
    rows: list[Row]


def table(
    table_id: str,
    cells: dict[Key, StatCell],
    school_id: UUID | None,
    months: Sequence[date],
    rows: Sequence[tuple[str, str | None]],
    caption: str,
) -> StatTable:
    return StatTable(
        id=table_id,
        caption=caption,
        months=list(months),
        rows=[
            Row(
                row_label(measure, category),
                [show(cells.get((school_id, m, measure, category)), measure) for m in months],
            )
            for measure, category in rows
        ],
    )


# --- bar charts ------------------------------------------------------------------------------

CHART_HEIGHT = 160
BAR_WIDTH = 32
BAR_GAP = 16
LEFT = 8
TOP = 22
BOTTOM = 34
STUB = 6


@dataclass(frozen=True)
class Bar:
    label: str
    tick: str
    subtick: str
    text: str
    suppressed: bool
    x: int
    y: int
    height: int
    label_x: int


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    baseline: int
    bar_width: int
    bars: list[Bar]


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[tuple[str, str, str]],
    values: Sequence[Shown],
) -> BarChart:
    """Vertical bars scaled to the largest shown value; ``labels``: (full label for the
    description, tick under the bar, second tick line) per bar."""
    top = max((v.value or 0.0 for v in values), default=0.0) or 1.0
    plot = CHART_HEIGHT - TOP - BOTTOM
    baseline = CHART_HEIGHT - BOTTOM
    bars = []
    for i, ((label, tick, subtick), shown) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * (BAR_WIDTH + BAR_GAP)
        height = STUB if shown.suppressed else round((shown.value or 0.0) / top * plot)
        bars.append(
            Bar(
                label=label,
                tick=tick,
                subtick=subtick,
                text=NO_VALUE if shown.too_few else shown.text,
                suppressed=shown.suppressed,
                x=x,
                y=baseline - height,
                height=height,
                label_x=x + BAR_WIDTH // 2,
            )
        )
    width = LEFT * 2 + max(len(bars), 1) * (BAR_WIDTH + BAR_GAP)
    described = "; ".join(f"{b.label}: {v.text}" for b, v in zip(bars, values, strict=True))
    return BarChart(
        id=chart_id,
        title=title,
        description=described,
        width=width,
        height=CHART_HEIGHT,
        baseline=baseline,
        bar_width=BAR_WIDTH,
        bars=bars,
    )


def month_ticks(months: Sequence[date]) -> list[tuple[str, str, str]]:
    """(``november 2026``, ``nov``, the year under the first bar and every January)."""
    return [
        (
            f"{MONTHS_NL[m.month - 1]} {m.year}",
            MONTHS_NL[m.month - 1][:3],
            str(m.year) if i == 0 or m.month == 1 else "",
        )
        for i, m in enumerate(months)
    ]


def monthly_chart(
    chart_id: str,
    title: str,
    cells: dict[Key, StatCell],
    school_id: UUID | None,
    months: Sequence[date],
    measure: str,
    category: str | None = None,
) -> BarChart:
    """One measure (of one category) per month as bars."""
    values = [show(cells.get((school_id, m, measure, category)), measure) for m in months]
    return bar_chart(chart_id, title, month_ticks(months), values)


#: The trend charts beside "new cases" (issue 15 §3): (measure, category, title), each with its
#: table. The full tables hold every form and category per month.
TREND_MEASURES: tuple[tuple[str, str | None, str], ...] = (
    (q.MEDIAN_DAYS_TO_INTAKE, None,
     "Mediaan aantal dagen tot het opvanggesprek, per maand van melding"),
    (q.AFTERCARE_STOPPED_SHARE, None, "Nazorg: aandeel zaken waarin het pesten gestopt is"),
    (q.BY_FORM, "online", "Nieuwe meldingen met online pesten"),
    (q.BY_FORM, "physical", "Nieuwe meldingen met fysiek pesten"),
)  # fmt: skip


@dataclass(frozen=True)
class Trend:
    chart: BarChart
    table: StatTable


def trend_charts(
    prefix: str,
    cells: dict[Key, StatCell],
    school_id: UUID | None,
    months: Sequence[date],
) -> list[Trend]:
    """A chart and its one-row table per trend measure (server-rendered SVG, no script)."""
    found = []
    for measure, category, title in TREND_MEASURES:
        chart_id = f"{prefix}-{measure}-{category or 'alle'}".replace("_", "-")
        found.append(
            Trend(
                chart=monthly_chart(chart_id, title, cells, school_id, months, measure, category),
                table=table(
                    f"{chart_id}-tabel", cells, school_id, months, [(measure, category)], title
                ),
            )
        )
    return found
