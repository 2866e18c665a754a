"""The yearly social-safety report's computation and suppression (issue 15 §2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from infra.adapters.monitor_averages import MonitorAverages, parse_average, parse_form
from infra.entrypoints.web.pages.yearly_report import build_report, render_yearly_pdf, report_csv
from projections.board_stats import queries as q
from projections.board_stats.queries import StatCell, cell
from projections.incident_stats import queries as iq
from projections.yearly_report import (
    AFTERCARE_CONTINUED,
    AFTERCARE_STOPPED,
    CaseRow,
    IncidentRow,
    SchoolYear,
    year_cells,
)
from services.shared.errors import InvalidInput

YEAR = SchoolYear(2025)


def case(
    school: UUID,
    month: date,
    *,
    intake: int | None = None,
    closed: date | None = None,
    close_days: int | None = None,
    stopped: bool | None = None,
    forms: tuple[str, ...] = ("verbal",),
    complaints: tuple[str, ...] = (),
    police: bool = False,
) -> CaseRow:
    return CaseRow(school, month, forms, intake, closed, close_days, stopped, complaints, police)


def test_school_year_parses_and_bounds() -> None:
    year = SchoolYear.parse("2025-2026")
    assert (year.first_month, year.last_month) == (date(2025, 8, 1), date(2026, 7, 1))
    assert str(year.previous) == "2024-2025"
    assert SchoolYear.containing(date(2026, 7, 31)) == year
    assert SchoolYear.containing(date(2026, 8, 1)) == SchoolYear(2026)
    for bad in ("2025-2027", "2025", "25-26", "2025/2026", ""):
        with pytest.raises(ValueError, match="2025-2026"):
            SchoolYear.parse(bad)


def test_counts_medians_and_year_boundaries() -> None:
    school = uuid4()
    cases = [
        case(school, date(2025, 8, 1), intake=d, stopped=d % 2 == 0, police=d < 2) for d in range(6)
    ]
    cases += [
        case(school, date(2025, 7, 1), intake=100),  # last school year: not counted
        case(school, date(2026, 8, 1), intake=100),  # next school year: not counted
        # reported last year, closed in this one: counts as closed this year only
        case(school, date(2025, 6, 1), closed=date(2025, 9, 1), close_days=80),
    ]
    cases += [
        case(school, date(2026, 1, 1), closed=date(2026, 2, 1), close_days=d)
        for d in (10, 20, 30, 40)
    ]
    cells = year_cells(YEAR, [school], cases, [])
    month = YEAR.first_month
    # 6 new cases in August and 4 in January: the monthly page shows 6 and "<5", so the year's
    # 10 would make January 4; the year's figure is hidden (so is the form's, for the same reason)
    new = cell(cells, q.NEW_CASES, school_id=school, month=month)
    assert (new.value, new.suppressed) == (None, True)
    assert cell(cells, q.BY_FORM, "verbal", school_id=school).suppressed
    # closed: 1 in September (hidden on the monthly page) and 4 in February: two hidden months
    # of 1 .. 4 adding up to 5 pin neither, so the year's 5 is shown
    assert cell(cells, q.CLOSED, school_id=school, month=month).value == 5
    assert cell(cells, q.MEDIAN_DAYS_TO_CLOSE, school_id=school).value == 30.0
    assert cell(cells, q.MEDIAN_DAYS_TO_INTAKE, school_id=school).value == 2.5
    # 3 and 3 aftercare outcomes, 2 police advices: each below 5, hidden; and so the share of
    # the outcomes is not computed (50% of 6 or of 8 would give the hidden counts back)
    share = cell(cells, q.AFTERCARE_STOPPED_SHARE, school_id=school)
    assert (share.value, share.suppressed) == (None, True)
    for measure in (AFTERCARE_STOPPED, AFTERCARE_CONTINUED, q.POLICE_ADVISED):
        found = cell(cells, measure, school_id=school)
        assert (found.value, found.suppressed) == (None, True)
    # zero is shown (it singles out nobody)
    assert cell(cells, q.BY_FORM, "online", school_id=school) == StatCell(
        school, month, q.BY_FORM, "online", 0, False
    )


def test_the_aftercare_share_never_gives_a_hidden_count_back() -> None:
    """6 stopped (shown) and 2 not (hidden): 75% would say 2. 5 and 0: shown, 100%. On the
    board, the total's outcome counts hide the small school's, and the total's share too."""
    leaky, clear = uuid4(), uuid4()
    month = date(2025, 10, 1)
    cases = [case(leaky, month, stopped=True) for _ in range(6)]
    cases += [case(leaky, month, stopped=False) for _ in range(2)]
    cases += [case(clear, month, stopped=True) for _ in range(5)]
    cells = year_cells(YEAR, [leaky, clear], cases, [])
    assert cell(cells, AFTERCARE_STOPPED, school_id=leaky).value == 6
    hidden = cell(cells, AFTERCARE_CONTINUED, school_id=leaky)
    assert (hidden.value, hidden.suppressed) == (None, True)
    share = cell(cells, q.AFTERCARE_STOPPED_SHARE, school_id=leaky)
    assert (share.value, share.suppressed) == (None, True)
    assert cell(cells, q.AFTERCARE_STOPPED_SHARE, school_id=clear).value == 1.0
    total = cell(cells, AFTERCARE_CONTINUED, school_id=None)
    assert (total.value, total.suppressed) == (None, True)
    total_share = cell(cells, q.AFTERCARE_STOPPED_SHARE, school_id=None)
    assert (total_share.value, total_share.suppressed) == (None, True)


def test_too_few_cases_for_a_median_is_not_computed() -> None:
    school = uuid4()
    cases = [case(school, date(2025, 10, 1), intake=3) for _ in range(4)]
    cells = year_cells(YEAR, [school], cases, [])
    median = cell(cells, q.MEDIAN_DAYS_TO_INTAKE, school_id=school)
    assert (median.value, median.suppressed) == (None, True)
    nothing = cell(cells, q.MEDIAN_DAYS_TO_CLOSE, school_id=school)
    assert (nothing.value, nothing.suppressed) == (None, False)


def test_board_total_hides_what_subtraction_would_reveal() -> None:
    small, large = uuid4(), uuid4()
    cases = [case(small, date(2025, 9, 1)) for _ in range(3)]
    cases += [case(large, date(2025, 9, 1)) for _ in range(9)]
    cells = year_cells(YEAR, [small, large], cases, [])
    assert cell(cells, q.NEW_CASES, school_id=small).suppressed
    assert cell(cells, q.NEW_CASES, school_id=large).value == 9
    total = cell(cells, q.NEW_CASES, school_id=None)
    assert (total.value, total.suppressed) == (None, True)  # 12 - 9 would reveal 3


def test_incidents_and_no_cell_shows_a_count_below_the_threshold() -> None:
    schools = [uuid4() for _ in range(3)]
    cases = [
        case(s, date(2026, m, 1), complaints=("management",) * (m % 2), police=m % 3 == 0)
        for i, s in enumerate(schools)
        for m in range(1, 2 + 3 * i)
    ]
    incidents = [
        IncidentRow(s, date(2026, m, 1), ["severe_bullying"], m % 2 == 0, m % 4 == 0)
        for i, s in enumerate(schools)
        for m in range(1, 2 + 3 * i)
    ]
    cells = year_cells(YEAR, schools, cases, incidents)
    assert cells
    for found in cells:
        if found.measure in {q.MEDIAN_DAYS_TO_INTAKE, q.MEDIAN_DAYS_TO_CLOSE,
                             q.AFTERCARE_STOPPED_SHARE}:  # fmt: skip
            continue
        assert found.value is None or found.value == 0 or found.value >= 5, found
        assert found.suppressed == (found.value is None)
    # 7 incidents, one in each of 7 months: every month is "<5" on the monthly page, and 7 for
    # the year would say each was 1: hidden
    assert cell(cells, iq.BY_INCIDENT_CATEGORY, "severe_bullying", school_id=schools[2]).suppressed


def test_a_year_is_hidden_where_its_months_on_the_monthly_page_would_give_one_away() -> None:
    a, b = uuid4(), uuid4()
    # School A: 6 new cases in August, 3 in March: "<5" on the monthly page, 9 for the year.
    # School B: 5 in September, 5 in October: nothing hidden anywhere.
    cases = [case(a, date(2025, 8, 1)) for _ in range(6)] + [case(a, date(2026, 3, 1))] * 3
    cases += [case(b, date(2025, 9, 1)) for _ in range(5)] + [case(b, date(2025, 10, 1))] * 5
    cells = year_cells(YEAR, [a, b], cases, [])
    assert cell(cells, q.NEW_CASES, school_id=a).suppressed
    assert cell(cells, q.NEW_CASES, school_id=b).value == 10
    # The board total (19) beside the schools: one school hidden, so the total is too (rule 2).
    assert cell(cells, q.NEW_CASES, school_id=None).suppressed
    # Two small months adding up to something that pins neither: the year is shown.
    spread = [case(a, date(2026, 1, 1))] * 2 + [case(a, date(2026, 2, 1))] * 3
    spread += [case(a, date(2025, 8, 1)) for _ in range(6)]
    shown = year_cells(YEAR, [a], spread, [])
    assert cell(shown, q.NEW_CASES, school_id=a).value == 11


def test_a_board_year_is_hidden_where_the_boards_months_would_give_one_away() -> None:
    a, b = uuid4(), uuid4()
    # Each school: 5 in August (shown), 5 in September (shown). In March A has 2 and B has 1:
    # hidden per school, and the board's March (3) is "<5" on the board's monthly page.
    cases = [case(s, date(2025, m, 1)) for s in (a, b) for m in (8, 9) for _ in range(5)]
    cases += [case(a, date(2026, 3, 1))] * 2 + [case(b, date(2026, 3, 1))]
    cells = year_cells(YEAR, [a, b], cases, [])
    # Each school's year (12 and 11) pins its March: hidden; the board total beside two hidden
    # schools and its own March is hidden too.
    for school in (a, b, None):
        assert cell(cells, q.NEW_CASES, school_id=school).suppressed, school


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="threshold"):
        year_cells(YEAR, [uuid4()], [], [], threshold=0)


def test_monitor_averages_are_numbers_from_0_to_100() -> None:
    assert parse_average("veiligheid", "87,5") == Decimal("87.5")
    assert parse_average("veiligheid", " 100 ") == Decimal("100.0")
    assert parse_average("pesten", "0") == Decimal("0.0")
    for bad in ("", None, "abc", "-1", "100,1", "87,55", "NaN", "Infinity", "1e2x"):
        with pytest.raises(InvalidInput) as refused:
            parse_average("pesten", bad)
        assert refused.value.field == "pesten"
    with pytest.raises(InvalidInput) as refused:
        parse_form({"veiligheid": "80", "pesten": "12", "welbevinden": "veel"})
    assert refused.value.field == "welbevinden"


def test_the_report_shows_monitor_averages_beside_last_year_and_csv_suppresses() -> None:
    school = uuid4()
    cases = [case(school, date(2025, 9, 1)) for _ in range(3)]
    cells = {y: year_cells(y, [school], cases, []) for y in (YEAR, YEAR.previous)}
    monitor = {(school, 2025): MonitorAverages(Decimal("87.5"), Decimal("12.0"), Decimal("7.5"))}
    report = build_report(
        title="Jaarverslag", year=YEAR, schools=[(school, "a", "School A")], cells=cells,
        board=False, monitor=monitor,
    )  # fmt: skip
    rows = {row.label: [v.text for v in row.values] for row in report.units[0].table.rows}
    assert rows["Monitor: ervaren veiligheid"] == ["87,5", "niet ingevuld"]
    assert rows["Nieuwe meldingen"] == ["<5", "0"]
    assert rows["Mediaan aantal dagen tot het opvanggesprek"] == ["\u2013", "\u2013"]
    assert report.monitor_now == monitor[(school, 2025)]
    lines = report_csv(report).splitlines()
    assert "School A;2025-2026;Nieuwe meldingen;<5" in lines
    assert not any(line.endswith(";3") for line in lines)
    assert render_yearly_pdf(report).startswith(b"%PDF")


def test_a_board_total_of_two_hidden_schools_of_four_is_hidden_too() -> None:
    """14 new cases on the board, 6 at A: 14 - 6 = 8 = 4 + 4 would pin B and C both at 4."""
    a, b, c = uuid4(), uuid4(), uuid4()
    month = date(2025, 9, 1)
    rows = [case(a, month) for _ in range(6)]
    rows += [case(b, month) for _ in range(4)] + [case(c, month) for _ in range(4)]
    cells = year_cells(YEAR, [a, b, c], rows, [])
    assert cell(cells, q.NEW_CASES, school_id=a).value == 6
    assert cell(cells, q.NEW_CASES, school_id=b).suppressed
    assert cell(cells, q.NEW_CASES, school_id=c).suppressed
    assert cell(cells, q.NEW_CASES).suppressed
    # With 3 and 4 hidden (7: 3 + 4 or 4 + 3) the total is shown.
    cells = year_cells(YEAR, [a, b, c], rows[:-1], [])
    assert cell(cells, q.NEW_CASES).value == 13


def test_the_yearly_share_hides_a_complement_below_the_threshold() -> None:
    """5 stopped, 1 not: 83% over 6 gives the 1 back; 5 stopped, 5 not: 50% is shown."""
    school = uuid4()
    month = date(2025, 9, 1)
    rows = [case(school, month, stopped=True) for _ in range(5)]
    cells = year_cells(YEAR, [school], [*rows, case(school, month, stopped=False)], [])
    assert cell(cells, q.AFTERCARE_STOPPED_SHARE, school_id=school).suppressed
    rows += [case(school, month, stopped=False) for _ in range(5)]
    cells = year_cells(YEAR, [school], rows, [])
    assert cell(cells, q.AFTERCARE_STOPPED_SHARE, school_id=school).value == 0.5
