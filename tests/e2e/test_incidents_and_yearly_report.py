"""End to end: a serious incident reported to the Inspectie, and the board's yearly report
(issue 15, "Done when").

- The contact person reports a case, adds the (fictitious) target pupil and records the incident
  categories; the coordinator marks the case as a serious incident, sees the signal "Ernstig
  incident nog niet gemeld bij de Inspectie" on the case and on the signals page, records the
  report (day, channel, reference) and the signal is gone; the case shows the report, and the
  registration shows no pupil's name.
- A board member downloads the yearly report of a past school year through the page's links
  (Playwright's download API) as PDF and CSV. The cases are seeded deterministically in school
  year 2025-2026 through the seeding path (``HistorySeeder`` on a ``SeedClock``), so the test
  does not depend on today's date: School De Proef has 7 cases (enough to show), School Klein 3
  (hidden as "<5", its median "te weinig zaken"), and the board's total of a category is hidden
  where subtracting De Proef's shown count would reveal Klein's.

Same harness as ``test_case_journey``. All names and texts are fictitious.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school, ensure_school_views
from infra.config.settings import Settings
from infra.entrypoints.web.context import today
from infra.entrypoints.web.pages.yearly_report import label
from projections.board_stats import queries as q
from projections.incident_stats import queries as iq
from projections.yearly_report import AFTERCARE_CONTINUED, AFTERCARE_STOPPED
from services.access.roles import Role
from services.casework import commands as cw
from services.casework.seeding import HistorySeeder
from services.shared.actor import Actor
from services.shared.clock import SeedClock
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY
from tests.e2e.axe import check_page
from tests.e2e.conftest import Idp
from tests.e2e.test_case_journey import SCHOOL_NAME, act, fresh_page, log_in, provision

PUPIL_NAME = "Leerling Fictief Incident"
SMALL_SCHOOL = "E2E Basisschool Klein"
YEAR = "2025-2026"
PREVIOUS = "2024-2025"
REFERENCE = "INSP-2026-0042"
SIGNAL = "Ernstig incident nog niet gemeld bij de Inspectie"


# --- a serious incident ------------------------------------------------------------------------


def test_the_coordinator_marks_a_serious_incident_and_records_the_report(
    idp: Idp,
    web_server_factory: Any,
    web_database_url: str,
    browser: Any,
    page: Any,
    tmp_path: Path,
) -> None:
    school = provision(web_database_url, idp, tmp_path)
    web = web_server_factory()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    # The contact person reports the case, adds the pupil and records the categories.
    log_in(page, web, school, "contact_person")
    page.goto(f"{web.url}/zaken/nieuw")
    page.select_option("select[name=reporter_kind]", "parent")
    page.fill("textarea[name=summary]", "Ouder meldt dat een fictieve leerling is bedreigd.")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "De melding is vastgelegd." in page.content(), page.inner_text("main")
    case_url = page.url.split("?")[0]
    act(
        page,
        "add-participant",
        {"pupil_ref": "E2E-INC-1", "role": "target", "display_name": PUPIL_NAME},
    )
    act(page, "categorise-incident", {"categories": ["threat", "severe_bullying"]})
    incident = page.inner_text("#incident")
    assert "bedreiging" in incident.lower(), incident

    # The coordinator, in their own browser, marks it as a serious incident.
    coordinator = fresh_page(browser)
    coordinator.on("console", lambda message: console.append(message.text))
    log_in(coordinator, web, school, "coordinator")
    coordinator.goto(case_url)
    assert coordinator.locator("#actie-mark-serious-incident form").count() == 1
    assert coordinator.locator("#actie-record-inspectie-report form").count() == 0
    act(coordinator, "mark-serious-incident", {})
    assert coordinator.locator("#actie-mark-serious-incident form").count() == 0  # done
    incident = coordinator.inner_text("#incident")
    assert "Ernstig incident" in incident, incident
    assert "nog niet gemeld" in incident, incident
    # "Wat nu?" says it is to be reported, with the form to record it at hand.
    assert "Nog melden bij de Inspectie." in coordinator.inner_text("#wat-nu")
    assert coordinator.locator("#wat-nu #actie-record-inspectie-report form").count() == 1
    blocking = {"zaak-ernstig-incident": check_page(coordinator, "zaak-ernstig-incident")}

    # The signal: on the signals page while the report is due.
    coordinator.goto(f"{web.url}/school/signalen")
    signals = coordinator.inner_text("main")
    assert f"{SIGNAL}: 1" in signals, signals  # the count, and the case listed with it
    case_id = case_url.rsplit("/", 1)[-1]
    listed = coordinator.locator(f"main a[href$='{case_id}']")
    assert listed.count() >= 1, signals
    assert signals.count(SIGNAL) >= 2, signals
    blocking["signalen-inspectie"] = check_page(coordinator, "signalen-inspectie")

    # A report dated tomorrow is refused with the reason; nothing is recorded.
    reported_on = today()
    coordinator.goto(case_url)
    form = "#actie-record-inspectie-report form"
    coordinator.locator("#actie-record-inspectie-report").evaluate(
        "e => { for (let d = e; d; d = d.parentElement)"
        " if (d.tagName === 'DETAILS') d.open = true; }"
    )
    coordinator.fill(f"{form} [name='reported_on']", (reported_on + timedelta(days=2)).isoformat())
    coordinator.select_option(f"{form} [name='channel']", "inspectie_portal")
    with coordinator.expect_navigation() as refused:
        coordinator.click(f"{form} button[type=submit]")
    assert refused.value.status == 422, refused.value.status
    assert "Deze datum ligt in de toekomst." in coordinator.inner_text("main")
    coordinator.goto(case_url)
    assert "nog niet gemeld" in coordinator.inner_text("#incident")

    # The report to the Inspectie is recorded: day, channel, reference.
    act(
        coordinator,
        "record-inspectie-report",
        {
            "reported_on": reported_on.isoformat(),
            "channel": "inspectie_portal",
            "reference": REFERENCE,
        },
    )
    assert coordinator.locator("#actie-record-inspectie-report form").count() == 0  # done
    incident = coordinator.inner_text("#incident")
    assert "nog niet gemeld" not in incident, incident
    assert "gemeld op" in incident, incident
    assert f"kenmerk {REFERENCE}" in incident, incident
    # No personal data in the registration of the report (the pupil is on the case page, but
    # not in what is recorded for the Inspectie).
    assert PUPIL_NAME in coordinator.inner_text("main")
    assert PUPIL_NAME not in incident
    assert "E2E-INC-1" not in incident
    # The signal is gone.
    coordinator.goto(f"{web.url}/school/signalen")
    signals = coordinator.inner_text("main")
    assert f"{SIGNAL}: 0" in signals, signals
    assert signals.count(SIGNAL) == 1, signals
    assert coordinator.locator(f"main a[href$='{case_id}']").count() == 0, signals

    # A case closed (referred) before its report to the Inspectie was made: the report is
    # still due, so the signal stays, and the report can still be recorded on the closed case.
    page.goto(f"{web.url}/zaken/nieuw")
    page.select_option("select[name=reporter_kind]", "staff")
    page.fill("textarea[name=summary]", "Docent meldt een fictieve bedreiging met een mes.")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    closed_url = page.url.split("?")[0]
    closed_id = closed_url.rsplit("/", 1)[-1]
    act(page, "categorise-incident", {"categories": ["weapon"]})
    act(page, "mark-serious-incident", {})
    act(page, "close", {"reason": "referred", "explanation": "Doorverwezen naar de politie."})
    assert "Deze zaak is afgesloten" in page.content()
    coordinator.goto(f"{web.url}/school/signalen")
    signals = coordinator.inner_text("main")
    assert f"{SIGNAL}: 1" in signals, signals
    assert coordinator.locator(f"main a[href$='{closed_id}']").count() >= 1, signals
    # The count links to the case list filtered on the signal: the closed case is in it.
    with coordinator.expect_navigation():
        coordinator.click(f"main a:has-text('{SIGNAL}')")
    assert "signal=inspectie_report_due" in coordinator.url
    listed = coordinator.inner_text("main")
    assert coordinator.locator(f"main a[href$='{closed_id}']").count() >= 1, listed
    coordinator.goto(closed_url)
    assert "Nog melden bij de Inspectie." in coordinator.inner_text("#wat-nu")  # closed, still due
    act(
        coordinator,
        "record-inspectie-report",
        {"reported_on": reported_on.isoformat(), "channel": "email", "reference": ""},
    )
    incident = coordinator.inner_text("#incident")
    assert "gemeld op" in incident, incident
    assert "Deze zaak is afgesloten" in coordinator.content()
    coordinator.goto(f"{web.url}/school/signalen")
    signals = coordinator.inner_text("main")
    assert f"{SIGNAL}: 0" in signals, signals
    assert not [m for m in console if "Content Security Policy" in m], console
    assert not any(blocking.values()), blocking


# --- the board's yearly report -----------------------------------------------------------------


def _moment(day: date, hour: int = 10) -> datetime:
    """``day`` at ``hour`` o'clock UTC (midday-ish in Amsterdam: no midnight edge)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


#: A seeded case: its incident categories, whether it had an intake, and the aftercare's
#: finding (``None``: no aftercare).
Seeded = tuple[list[str], bool, bool | None]


def _seed_year(container: Container, school: School, cases: list[Seeded], first: date) -> None:
    """Cases of ``school`` reported on school days from ``first`` (a Monday) on, one a week:
    each with its incident categories, when asked an intake three days later (Thursday) and
    aftercare a week after that (whether the bullying stopped)."""
    contact = Actor(user_id=f"e2e-seed-{school.slug}", role=Role.CONTACT_PERSON)
    clock = SeedClock(_moment(first))
    seeder = HistorySeeder(container.case_service(school.id), clock)
    for n, (categories, intake, stopped) in enumerate(cases):
        monday = first + timedelta(weeks=n)
        assert monday.weekday() == 0
        clock.set(_moment(monday))
        case_id = seeder.report(
            contact,
            cw.ReportCase(reporter_kind="parent", summary=f"Fictieve melding jaarverslag {n}."),
        )
        clock.set(_moment(monday, 11))
        seeder.handle(contact, cw.CategoriseIncident(case_id=case_id, categories=categories))
        if intake:
            thursday = monday + timedelta(days=3)
            clock.set(_moment(thursday))
            seeder.handle(
                contact,
                cw.HoldIntake(case_id=case_id, held_on=thursday, summary="Fictief gesprek."),
            )
        if stopped is not None:
            follow_up = cw.ScheduleFollowUp(case_id=case_id, due_on=thursday + timedelta(weeks=1))
            seeder.handle(contact, follow_up)
            clock.set(_moment(follow_up.due_on))
            seeder.handle(
                contact,
                cw.CompleteFollowUp(
                    case_id=case_id,
                    follow_up_id=follow_up.follow_up_id,
                    agreements_kept=stopped,
                    bullying_stopped=stopped,
                    pupil_feels_safe=stopped,
                ),
            )
    seeder.save()


def seed_two_schools(database_url: str, tmp_path: Path, school: School) -> School:
    """School De Proef: 7 cases in 2025-2026, all "grove pesterijen", 2 also "discriminatie",
    6 with an intake after 3 days and aftercare (5 found the bullying stopped, 1 not); 5 "grove
    pesterijen" cases in 2024-2025. A second school of the board (Klein): 3 cases in 2025-2026,
    "grove pesterijen", each with an intake."""
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        master_key=TEST_MASTER_KEY,
        loopback_issuers=True,
    )
    with Container.open(settings) as container:
        board = container.registry.board(school.board_id)
        small = container.create_school(board.slug, SMALL_SCHOOL)
        ensure_school_views(container, small.id)
        bullying, both = ["severe_bullying"], ["severe_bullying", "discrimination"]
        this_year: list[Seeded] = [(both, True, True), (both, True, False)]
        this_year += [(bullying, True, True)] * 4 + [(bullying, False, None)]
        _seed_year(container, school, this_year, date(2025, 9, 8))
        _seed_year(container, school, [(bullying, True, None)] * 5, date(2024, 9, 9))
        _seed_year(container, small, [(bullying, True, None)] * 3, date(2025, 10, 6))
        catch_up_school(container, school.id)
        catch_up_school(container, small.id)
        return container.registry.school(small.id)


def _download(page: Any, link_text: str, tmp_path: Path) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click(f"main a:has-text('{link_text}')")
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    return download.suggested_filename, target.read_bytes()


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_board_downloads_the_yearly_report(
    idp: Idp,
    web_server_factory: Any,
    web_database_url: str,
    page: Any,
    tmp_path: Path,
) -> None:
    school = provision(web_database_url, idp, tmp_path)
    seed_two_schools(web_database_url, tmp_path, school)
    web = web_server_factory()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    log_in(page, web, school, "board")
    page.goto(f"{web.url}/bestuur/jaarverslag?schooljaar={YEAR}")
    main = page.inner_text("main")
    assert f"Jaarverslag sociale veiligheid {YEAR}" in main, main
    assert "Fictieve melding" not in page.content()
    blocking = {"bestuur-jaarverslag": check_page(page, "bestuur-jaarverslag")}

    # The CSV, through its link.
    name, data = _download(page, "Download als CSV", tmp_path)
    assert name.endswith(".csv"), name
    rows = _csv_rows(data)
    assert rows[0] == ["eenheid", "schooljaar", "gegeven", "waarde"]
    bullying = label(iq.BY_INCIDENT_CATEGORY, "severe_bullying")
    discrimination = label(iq.BY_INCIDENT_CATEGORY, "discrimination")
    new_cases = label(q.NEW_CASES, None)
    intake = label(q.MEDIAN_DAYS_TO_INTAKE, None)
    stopped, continued = label(AFTERCARE_STOPPED, None), label(AFTERCARE_CONTINUED, None)
    share = label(q.AFTERCARE_STOPPED_SHARE, None)
    expected = [
        [SCHOOL_NAME, YEAR, new_cases, "7"],
        [SCHOOL_NAME, YEAR, bullying, "7"],
        [SCHOOL_NAME, YEAR, discrimination, "<5"],  # 2 cases
        [SCHOOL_NAME, YEAR, intake, "3 dagen"],  # six intakes, each after 3 days
        [SCHOOL_NAME, PREVIOUS, bullying, "5"],  # last year beside it
        [SCHOOL_NAME, YEAR, stopped, "5"],
        [SCHOOL_NAME, YEAR, continued, "<5"],  # 1
        # 83% of the 6 outcomes would give the hidden 1 away: not computed either
        [SCHOOL_NAME, YEAR, share, "te weinig zaken"],
        ["alle scholen samen", YEAR, share, "te weinig zaken"],
        [SMALL_SCHOOL, YEAR, new_cases, "<5"],  # 3 cases
        [SMALL_SCHOOL, YEAR, bullying, "<5"],
        [SMALL_SCHOOL, YEAR, intake, "te weinig zaken"],  # a median over 3 cases
        # 10 in all, but 7 are shown at De Proef: the total would give Klein's 3 away.
        ["alle scholen samen", YEAR, bullying, "<5"],
        ["alle scholen samen", YEAR, new_cases, "<5"],
    ]
    missing = [row for row in expected if row not in rows]
    assert not missing, (missing, [r for r in rows if r[2] in {bullying, new_cases, intake}])
    for unit, year, measure, value in rows[1:]:
        if value.isdigit():  # no count of 1 to 4 anywhere
            assert int(value) == 0 or int(value) >= 5, (unit, year, measure, value)

    # The PDF, through its link: the same figures in its text.
    name, data = _download(page, "Download als PDF", tmp_path)
    assert name.endswith(".pdf"), name
    assert data.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    assert f"Jaarverslag sociale veiligheid {YEAR}, bestuur" in text, text
    assert "Fictieve melding" not in text
    sections = _pdf_sections(text, [SCHOOL_NAME, SMALL_SCHOOL, "alle scholen samen"])
    proef, klein, total = (sections[n] for n in (SCHOOL_NAME, SMALL_SCHOOL, "alle scholen samen"))
    assert _pdf_row(proef, new_cases) == ["7", "5"], proef
    assert _pdf_row(proef, bullying) == ["7", "5"], proef
    assert _pdf_row(proef, discrimination) == ["<5", "0"], proef
    assert _pdf_row(proef, intake) == ["3", "3"], proef
    assert _pdf_row(proef, stopped) == ["5", "0"], proef
    assert _pdf_row(proef, continued) == ["<5", "0"], proef
    assert _pdf_row(proef, share)[0] == "te weinig zaken", proef
    assert "%" not in proef
    assert _pdf_row(klein, new_cases) == ["<5", "0"], klein
    assert _pdf_row(klein, bullying) == ["<5", "0"], klein
    assert _pdf_row(klein, intake)[0] == "te weinig zaken", klein
    assert _pdf_row(total, bullying)[0] == "<5", total
    assert _pdf_row(total, new_cases)[0] == "<5", total
    for section in (klein, total):  # no count of 1 to 4 in these sections (medians aside)
        values = [
            re.sub(r"[\d,]+ dagen", "", line.replace(YEAR, "").replace(PREVIOUS, "")).replace(
                "E2E", ""
            )
            for line in section.splitlines()
            if "pagina" not in line
        ]
        assert not re.search(r"(?<![\d<])[1-4](?![\d])", "\n".join(values)), section

    assert not [m for m in console if "Content Security Policy" in m], console
    assert not any(blocking.values()), blocking


def _pdf_sections(text: str, names: list[str]) -> dict[str, str]:
    """The text of each unit's section (from its heading line to the next unit's)."""
    lines = text.splitlines()
    starts = [next(i for i, line in enumerate(lines) if line.strip() == n) for n in names]
    ends = [*starts[1:], len(lines)]
    return {n: "\n".join(lines[s:e]) for n, s, e in zip(names, starts, ends, strict=True)}


def _pdf_row(section: str, row_label: str) -> list[str]:
    """The values after ``row_label`` on its line of a section's table."""
    for line in section.splitlines():
        if line.startswith(row_label[:60] + " "):
            rest = line[len(row_label[:60]) :].strip()
            return re.findall(r"te weinig zaken|niet ingevuld|<5|[\d,]+|—|-", rest)
    msg = f"no row {row_label!r} in:\n{section}"
    raise AssertionError(msg)
