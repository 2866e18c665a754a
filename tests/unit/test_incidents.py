"""Incident categories, serious incidents and their report to the Inspectie (issue 15 §1), and
the seeding clock that backdates events for the demo and tests only (issue 15 §4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from projections.escalation.queries import SignalKind, case_signals
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.commands import (
    AddNote,
    CategoriseIncident,
    HoldIntake,
    MarkSeriousIncident,
    RecordInspectieReport,
    ReportCase,
)
from services.casework.domain import MAX_INSPECTIE_REFERENCE, Case
from services.casework.handlers import CaseService
from services.casework.protocol import DEFAULT_PROTOCOL
from services.casework.seeding import HistorySeeder
from services.casework.vocabulary import (
    CURRENT_INCIDENT_LIST,
    INCIDENT_LISTS,
    LABELS_NL,
    IncidentListVersion,
)
from services.shared.clock import FixedClock, SeedClock, stamped
from services.shared.errors import InvalidInput, PermissionDenied, WrongState
from tests.unit.support import CONTACT, actor, new_service, refused, stored_types

DAY = date(2026, 3, 2)  # a Monday


def stamps_of(app: CaseworkApplication, case_id: UUID) -> list[datetime]:
    """The timestamps of a case's stored events, in order."""
    return [e.timestamp for e in app.events.get(case_id) if isinstance(e, Case.Event)]


APC = actor(Role.COORDINATOR, "user-apc")
MENTOR = actor(Role.TEACHER, "user-mentor")


@pytest.fixture
def service(app: CaseworkApplication, school_id: UUID) -> CaseService:
    return new_service(app, school_id, clock=FixedClock(DAY))


def test_the_default_list_follows_the_dutch_registration_model() -> None:
    codes = {c.value for c in INCIDENT_LISTS[CURRENT_INCIDENT_LIST]}
    labels = {LABELS_NL[c] for c in INCIDENT_LISTS[CURRENT_INCIDENT_LIST]}
    assert {"grove pesterijen", "discriminatie", "seksueel grensoverschrijdend gedrag"} <= labels
    assert {"bedreiging", "fysiek geweld met letsel", "fysiek geweld zonder letsel"} <= labels
    assert {"wapenbezit", "vernieling / diefstal", "drugs"} <= labels
    assert len(codes) == len(INCIDENT_LISTS[CURRENT_INCIDENT_LIST])
    # The versions a form offers are exactly the lists there are.
    assert {v.value for v in IncidentListVersion} == set(INCIDENT_LISTS)


def test_categories_are_recorded_with_their_list_version_in_list_order(
    service: CaseService, case_id: UUID
) -> None:
    service.handle(CONTACT, CategoriseIncident(case_id=case_id, categories=["drugs", "threat"]))
    case = service.app.get_case(case_id, service.school_id)
    assert case.incident_categories == ["threat", "drugs"]
    assert case.incident_list_version == CURRENT_INCIDENT_LIST
    # A new categorisation replaces the set; the coordinator may do it too.
    service.handle(APC, CategoriseIncident(case_id=case_id, categories=["discrimination"]))
    case = service.app.get_case(case_id, service.school_id)
    assert case.incident_categories == ["discrimination"]


@pytest.mark.parametrize(
    ("categories", "version", "field"),
    [
        (["not-a-category"], CURRENT_INCIDENT_LIST, "categories"),
        ([], CURRENT_INCIDENT_LIST, "categories"),
        (["threat"], "1999.9", "list_version"),
    ],
)
def test_bad_categories_are_refused_naming_the_field(
    service: CaseService, case_id: UUID, categories: list[str], version: str, field: str
) -> None:
    command = CategoriseIncident(case_id=case_id, categories=categories, list_version=version)
    error = refused(service, CONTACT, command, InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == field


def test_a_serious_incident_is_marked_once_and_its_report_recorded_once(
    service: CaseService, case_id: UUID
) -> None:
    refused(
        service,
        APC,
        RecordInspectieReport(case_id=case_id, reported_on=DAY, channel="email"),
        WrongState,
    )
    service.handle(APC, MarkSeriousIncident(case_id=case_id))
    case = service.app.get_case(case_id, service.school_id)
    assert case.serious_incident
    assert case.inspectie_report_due_on == date(2026, 3, 4)  # two school days
    refused(service, CONTACT, MarkSeriousIncident(case_id=case_id), WrongState)
    service.handle(
        CONTACT,
        RecordInspectieReport(
            case_id=case_id, reported_on=DAY, channel="inspectie_portal", reference="IvhO-2026-7"
        ),
    )
    case = service.app.get_case(case_id, service.school_id)
    assert case.inspectie_reported_on == DAY
    refused(
        service,
        APC,
        RecordInspectieReport(case_id=case_id, reported_on=DAY, channel="email"),
        WrongState,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reference": "x" * (MAX_INSPECTIE_REFERENCE + 1)}, "reference"),
        ({"reported_on": DAY + timedelta(days=1)}, "reported_on"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_a_bad_report_is_refused_naming_the_field(
    service: CaseService, case_id: UUID, changes: dict[str, object], field: str
) -> None:
    service.handle(APC, MarkSeriousIncident(case_id=case_id))
    values: dict[str, object] = {"reported_on": DAY, "channel": "email", "reference": "R-1"}
    values.update(changes)
    command = RecordInspectieReport(case_id=case_id, **values)  # type: ignore[arg-type]
    error = refused(service, APC, command, InvalidInput)
    assert isinstance(error, InvalidInput)
    assert error.field == field


def test_others_may_not_register_incidents(service: CaseService, case_id: UUID) -> None:
    for who in (MENTOR, actor(Role.MANAGEMENT), actor(Role.BOARD), actor(Role.AUDITOR)):
        refused(service, who, MarkSeriousIncident(case_id=case_id), PermissionDenied)
        refused(
            service,
            who,
            CategoriseIncident(case_id=case_id, categories=["drugs"]),
            PermissionDenied,
        )


# --- the seeding clock ---------------------------------------------------------------------


def test_a_seed_clock_stamps_events_and_tells_the_day(
    app: CaseworkApplication, school_id: UUID
) -> None:
    clock = SeedClock(datetime(2024, 9, 2, 23, 30, tzinfo=UTC))  # already 3 Sept in Amsterdam
    seeding = new_service(app, school_id, clock=clock)
    case_id = seeding.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    clock.advance(timedelta(days=10))
    seeding.handle(CONTACT, AddNote(case_id=case_id, text="Fictieve notitie"))
    stamps = stamps_of(app, case_id)
    assert stamps == [
        datetime(2024, 9, 2, 23, 30, tzinfo=UTC),
        datetime(2024, 9, 12, 23, 30, tzinfo=UTC),
    ]
    assert clock.today() == date(2024, 9, 13)
    with pytest.raises(ValueError, match="time zone"):
        SeedClock(datetime(2024, 9, 2, 12))  # noqa: DTZ001 - the point of the test


def test_a_production_command_cannot_backdate(app: CaseworkApplication, school_id: UUID) -> None:
    """The production handler (system clock) stamps the real time, even inside a block that
    asked for another moment: only a handler given a SeedClock backdates."""
    production = new_service(app, school_id)  # the default clock: SCHOOL_CLOCK
    past = datetime(2020, 1, 6, 9, tzinfo=UTC)
    before = datetime.now(UTC)
    with stamped(past):
        case_id = production.report(CONTACT, ReportCase(reporter_kind="peer", summary="Fictief"))
        production.handle(CONTACT, AddNote(case_id=case_id, text="Fictief"))
    after = datetime.now(UTC)
    stamps = stamps_of(app, case_id)
    assert len(stamps) == 2
    assert all(before <= t <= after for t in stamps)


def test_the_history_seeder_checks_like_the_handler_and_saves_backdated(
    app: CaseworkApplication, school_id: UUID
) -> None:
    clock = SeedClock(datetime(2024, 10, 7, 9, tzinfo=UTC))
    seeder = HistorySeeder(new_service(app, school_id), clock)
    case_id = seeder.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    # The same permission table: a mentor who is not engaged may not mark a serious incident.
    with pytest.raises(PermissionDenied):
        seeder.handle(MENTOR, MarkSeriousIncident(case_id=case_id))
    clock.advance(timedelta(days=2))
    # The same rules, against the seed clock's day: an intake cannot be held tomorrow.
    with pytest.raises(InvalidInput):
        seeder.handle(
            CONTACT,
            HoldIntake(case_id=case_id, held_on=date(2024, 10, 10), summary="Fictief"),
        )
    seeder.handle(CONTACT, HoldIntake(case_id=case_id, held_on=clock.today(), summary="Fictief"))
    assert list(app.events.get(case_id)) == []  # nothing saved before save()
    assert seeder.save() == 1
    assert stored_types(app, case_id) == ["CaseReported", "IntakeHeld"]
    assert stamps_of(app, case_id) == [
        datetime(2024, 10, 7, 9, tzinfo=UTC),
        datetime(2024, 10, 9, 9, tzinfo=UTC),
    ]


def test_a_closed_case_keeps_its_due_inspectie_report_signal() -> None:
    """Closing the case does not report the serious incident: the signal stays until the report
    is recorded; a closed case has no other signal."""
    row = {
        "status": "closed",
        "reported_at": datetime(2026, 1, 5, 9, tzinfo=UTC),
        "intake_on": None,  # no intake: would be overdue on an open case
        "open_follow_up_dues": [],
        "waiting_steps": 0,
        "waiting_step_kinds": [],
        "offence_flagged": False,
        "police_advised": False,
        "last_activity_at": datetime(2026, 1, 5, 9, tzinfo=UTC),
        "inspectie_report_due": "2026-03-04",
    }
    found = case_signals(row, today=DAY, protocol=DEFAULT_PROTOCOL)
    assert [(s.kind, s.due_on) for s in found] == [
        (SignalKind.INSPECTIE_REPORT_DUE, date(2026, 3, 4))
    ]
    reported = {**row, "inspectie_report_due": None}
    assert case_signals(reported, today=DAY, protocol=DEFAULT_PROTOCOL) == []
