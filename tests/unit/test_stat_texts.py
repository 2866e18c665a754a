"""How statistics read on the pages (issue 15 §2): a suppressed count shows "<5", a median or
share over fewer than 5 cases is not computed and says "te weinig zaken" (never "<5", which
would read like a value)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from infra.entrypoints.web.pages import charts
from projections.board_stats import queries as q
from projections.board_stats.queries import StatCell
from services.casework.labels import dutch_date

MONTH = date(2026, 3, 1)


def _cell(measure: str, value: float | None, *, suppressed: bool) -> StatCell:
    return StatCell(uuid4(), MONTH, measure, None, value, suppressed)


def test_a_suppressed_count_shows_less_than_five() -> None:
    shown = charts.show(_cell(q.NEW_CASES, None, suppressed=True), q.NEW_CASES)
    assert (shown.text, shown.suppressed, shown.too_few) == ("<5", True, False)


def test_a_median_or_share_over_too_few_cases_says_so() -> None:
    for measure in (q.MEDIAN_DAYS_TO_INTAKE, q.MEDIAN_DAYS_TO_CLOSE, q.AFTERCARE_STOPPED_SHARE):
        shown = charts.show(_cell(measure, None, suppressed=True), measure)
        assert shown.text == "te weinig zaken"
        assert shown.too_few
        assert shown.value is None


def test_computed_values_and_a_chart_of_too_few_cases() -> None:
    share = charts.show(_cell(q.AFTERCARE_STOPPED_SHARE, 0.8, suppressed=False),
                        q.AFTERCARE_STOPPED_SHARE)  # fmt: skip
    assert share.text == "80%"
    values = [charts.Shown("te weinig zaken", suppressed=True, too_few=True), share]
    chart = charts.bar_chart("c", "Titel", [("maart", "mrt", ""), ("april", "apr", "")], values)
    # Above the bar a dash (the bar is a stub); the chart's description names the reason.
    assert chart.bars[0].text == charts.NO_VALUE
    assert chart.bars[0].suppressed
    assert "maart: te weinig zaken" in chart.description
    assert chart.bars[1].height > chart.bars[0].height


def test_trend_charts_each_have_their_table() -> None:
    school = uuid4()
    months = [MONTH, date(2026, 4, 1)]
    cells = charts.index(
        [
            StatCell(school, MONTH, q.BY_FORM, "online", 7, False),
            StatCell(school, MONTH, q.MEDIAN_DAYS_TO_INTAKE, None, None, True),
        ]
    )
    trends = charts.trend_charts("t", cells, school, months)
    assert len(trends) == len(charts.TREND_MEASURES)
    assert len({t.chart.id for t in trends}) == len(trends)  # ids unique on a page
    by_title = {t.chart.title: t for t in trends}
    online = by_title["Nieuwe meldingen met online pesten"]
    assert [b.text for b in online.chart.bars] == ["7", "0"]
    assert [v.text for v in online.table.rows[0].values] == ["7", "0"]
    intake = by_title["Mediaan aantal dagen tot het opvanggesprek, per maand van melding"]
    assert intake.table.rows[0].values[0].text == "te weinig zaken"


def test_a_moment_is_named_by_its_dutch_calendar_day() -> None:
    # 23:30 UTC on 30 November is half past midnight on 1 December in Amsterdam.
    assert dutch_date("2026-11-30T23:30:00+00:00") == "1 december 2026"
    assert dutch_date(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == "1 december 2026"
    assert dutch_date("2026-11-30") == "30 november 2026"
    assert dutch_date("geen datum") == "geen datum"
