"""The protocol checklist: validation, school-day arithmetic, progress; and the registry's
School configuration events (in memory)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.access.roles import Role
from services.casework.protocol import (
    DEFAULT_PROTOCOL,
    InvalidProtocol,
    ProtocolStep,
    add_school_days,
    done_events,
    is_school_day,
    local_date,
    progress,
    school_days_between,
    validate_protocol,
)
from services.shared.actor import SYSTEM, Actor, acting_as
from services.shared.errors import DomainError, PermissionDenied
from tenants.contacts import InvalidContacts, validate_contacts
from tenants.registry import Registry

MONDAY = date(2025, 3, 3)
FRIDAY = date(2025, 3, 7)
SATURDAY = date(2025, 3, 8)


def step(**overrides: Any) -> dict[str, Any]:
    base = {"key": "intake", "label": "Intake", "event_type": "IntakeHeld"}
    return base | overrides


# --- school days ------------------------------------------------------------------------------


def test_add_school_days_skips_weekends() -> None:
    assert add_school_days(MONDAY, 0) == MONDAY
    assert add_school_days(MONDAY, 2) == date(2025, 3, 5)  # Wednesday
    assert add_school_days(FRIDAY, 1) == date(2025, 3, 10)  # Monday
    assert add_school_days(FRIDAY, 2) == date(2025, 3, 11)  # Tuesday
    assert add_school_days(SATURDAY, 2) == date(2025, 3, 11)  # Tuesday
    assert add_school_days(SATURDAY, 5) == date(2025, 3, 14)  # Friday, not the next Saturday
    assert add_school_days(MONDAY, 10) == date(2025, 3, 17)
    with pytest.raises(ValueError, match="negative"):
        add_school_days(MONDAY, -1)


def test_school_days_between() -> None:
    assert school_days_between(MONDAY, MONDAY) == 0
    assert school_days_between(FRIDAY, date(2025, 3, 10)) == 1
    assert school_days_between(FRIDAY, date(2025, 3, 9)) == 0  # Sat and Sun do not count
    assert school_days_between(MONDAY, date(2025, 3, 17)) == 10
    assert school_days_between(date(2025, 3, 17), MONDAY) == -10


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))


@given(start=days, n=st.integers(min_value=0, max_value=400))
def test_add_and_between_agree(start: date, n: int) -> None:
    end = add_school_days(start, n)
    assert school_days_between(start, end) == n
    if n > 0:
        assert is_school_day(end)
        # the earliest such day: one day less counts one school day less
        assert school_days_between(start, end - timedelta(days=1)) == n - 1


@given(a=days, b=days)
def test_between_is_antisymmetric_and_counts_weekdays(a: date, b: date) -> None:
    assert school_days_between(a, b) == -school_days_between(b, a)
    lo, hi = sorted((a, b))
    if (hi - lo).days <= 60:
        brute = sum(is_school_day(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
        assert school_days_between(lo, hi) == brute


def test_local_date_is_dutch() -> None:
    # 23:30 UTC on Sunday 2 March 2025 is 00:30 on Monday in Amsterdam.
    assert local_date(datetime(2025, 3, 2, 23, 30, tzinfo=UTC)) == MONDAY
    assert local_date(MONDAY) == MONDAY


# --- validation -------------------------------------------------------------------------------


def test_default_protocol_follows_the_seed() -> None:
    keys = [s.key for s in DEFAULT_PROTOCOL.steps]
    assert keys == [
        "melding_vastgelegd",
        "intakegesprek",
        "situatie_in_kaart",
        "oplossingen_besproken",
        "toestemming_leerling",
        "afspraken_vastgelegd",
        "nazorg_ingepland",
        "nazorg_uitgevoerd",
        "geevalueerd",
        "leerpunten_gedeeld",
    ]
    assert DEFAULT_PROTOCOL.intake_deadline == 2
    assert DEFAULT_PROTOCOL.step("leerpunten_gedeeld").event_type == "LessonsShared"
    # The default is itself valid and survives a JSON round trip.
    assert validate_protocol(DEFAULT_PROTOCOL.to_json()) == DEFAULT_PROTOCOL


@pytest.mark.parametrize(
    ("steps", "mentions"),
    [
        ([], "at least one step"),
        ([step(event_type="IntakeDone")], "unknown event type"),
        ([step(deadline_school_days=-1)], "must not be negative"),
        ([step(deadline_school_days=1.5)], "whole number"),
        ([step(deadline_school_days=True)], "whole number"),
        ([step(deadline_school_days=999)], "at most 200"),
        ([step(), step(label="Nog eens")], "duplicate key"),
        ([step(key="Intake Gesprek")], "lowercase"),
        ([step(label="   ")], "label"),
        ([step(colour="rood")], "unknown field"),
        ([{"key": "x"}], "missing field(s): label, event_type"),
        (["IntakeHeld"], "must be an object"),
        ([step(key=f"s{i}") for i in range(51)], "at most 50"),
    ],
)
def test_invalid_protocols_are_refused_clearly(steps: list[Any], mentions: str) -> None:
    with pytest.raises(InvalidProtocol) as info:
        validate_protocol(steps)
    assert mentions in info.value.message
    assert isinstance(info.value, DomainError)


def test_error_names_the_step() -> None:
    with pytest.raises(InvalidProtocol, match=r"step 2 \('nazorg'\): unknown event type"):
        validate_protocol([step(), step(key="nazorg", event_type="Nazorg")])


def test_valid_protocol_is_cleaned() -> None:
    protocol = validate_protocol(
        [step(label="  Intake  ", deadline_school_days=3), ProtocolStep("k", "K", "CaseClosed")]
    )
    assert protocol.steps[0] == ProtocolStep("intake", "Intake", "IntakeHeld", 3)
    assert protocol.intake_deadline == 3


# --- progress ---------------------------------------------------------------------------------


def test_progress_marks_done_due_and_overdue() -> None:
    reported = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # Monday
    done = {"CaseReported": reported, "IntakeHeld": date(2025, 3, 6)}  # intake on Thursday
    checklist = progress(DEFAULT_PROTOCOL, done, reported, today=date(2025, 3, 12))
    by_key = {p.key: p for p in checklist}
    assert [p.key for p in checklist] == [s.key for s in DEFAULT_PROTOCOL.steps]
    assert by_key["melding_vastgelegd"].done
    assert by_key["melding_vastgelegd"].done_on == MONDAY
    assert by_key["melding_vastgelegd"].due_on is None
    intake = by_key["intakegesprek"]
    assert (intake.done, intake.done_on, intake.due_on, intake.overdue) == (
        True, date(2025, 3, 6), date(2025, 3, 5), False,
    )  # fmt: skip
    mapped = by_key["situatie_in_kaart"]  # 5 school days: due Monday 10 March
    assert (mapped.done, mapped.due_on, mapped.overdue) == (False, date(2025, 3, 10), True)
    solutions = by_key["oplossingen_besproken"]  # 10 school days: due 17 March
    assert (solutions.due_on, solutions.overdue) == (date(2025, 3, 17), False)
    assert not by_key["nazorg_uitgevoerd"].overdue  # no deadline, never overdue


def test_progress_due_day_itself_is_not_overdue() -> None:
    reported = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    on_due = progress(DEFAULT_PROTOCOL, {}, reported, today=date(2025, 3, 5))
    after = progress(DEFAULT_PROTOCOL, {}, reported, today=date(2025, 3, 6))
    assert not on_due[1].overdue
    assert after[1].overdue


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 3, day, hour, 0, tzinfo=UTC)


def _aftercare(day: int, *, stopped: bool) -> tuple[str, datetime, dict[str, Any]]:
    fields = {"agreements_kept": stopped, "bullying_stopped": stopped, "pupil_feels_safe": stopped}
    return ("FollowUpCompleted", _at(day), fields)


def _aftercare_step(events: list[tuple[str, datetime, dict[str, Any]]]) -> Any:
    checklist = progress(DEFAULT_PROTOCOL, done_events(events), _at(3), today=date(2025, 3, 31))
    return {p.key: p for p in checklist}["nazorg_uitgevoerd"]


def test_aftercare_that_found_the_bullying_going_on_is_not_done() -> None:
    # Issue #10: agreements not kept, bullying not stopped, pupil not safe: still ticked.
    scheduled = ("FollowUpScheduled", _at(4), {"due_on": "2025-03-10"})
    step = _aftercare_step([("CaseReported", _at(3), {}), scheduled, _aftercare(10, stopped=False)])
    assert (step.label, step.done, step.done_on) == (
        "Nazorg: afspraken nagekomen en pesten gestopt?", False, None,
    )  # fmt: skip


def test_the_latest_aftercare_decides_the_checklist() -> None:
    stopped_then_not = [_aftercare(10, stopped=True), _aftercare(17, stopped=False)]
    assert not _aftercare_step(stopped_then_not).done
    # A later check finds it stopped: done, on that day.
    step = _aftercare_step([*stopped_then_not, _aftercare(24, stopped=True)])
    assert (step.done, step.done_on) == (True, date(2025, 3, 24))
    # Stopped twice: done on the latest.
    step = _aftercare_step([_aftercare(10, stopped=True), _aftercare(17, stopped=True)])
    assert step.done_on == date(2025, 3, 17)


def test_after_reopening_aftercare_evaluation_and_closing_are_open_again() -> None:
    before = [
        ("CaseReported", _at(3), {}),
        ("IntakeHeld", _at(4), {"held_on": "2025-03-04"}),
        _aftercare(10, stopped=True),
        ("CaseEvaluated", _at(11), {}),
        ("CaseClosed", _at(12), {}),
    ]
    done = done_events(before)
    assert {"FollowUpCompleted", "CaseEvaluated", "CaseClosed"} <= set(done)
    done = done_events([*before, ("CaseReopened", _at(20), {})])
    assert set(done) == {"CaseReported", "IntakeHeld", "CaseReopened"}
    assert done["IntakeHeld"] == date(2025, 3, 4)  # what was done stays done
    # Fresh aftercare and a fresh evaluation count again, on their own days.
    done = done_events(
        [*before, ("CaseReopened", _at(20), {}), _aftercare(27, stopped=True),
         ("CaseEvaluated", _at(28), {})]
    )  # fmt: skip
    assert (done["FollowUpCompleted"], done["CaseEvaluated"]) == (_at(27), _at(28))


def test_done_events_counts_the_intake_on_the_day_it_was_held() -> None:
    done = done_events(
        [("CaseReported", _at(3), {}), ("IntakeHeld", _at(6), {"held_on": "2025-03-05"}),
         ("IntakeHeld", _at(7), {"held_on": "2025-03-07"}), ("NoteAdded", _at(7), {}),
         ("NoteAdded", _at(8), {})]
    )  # fmt: skip
    assert done == {"CaseReported": _at(3), "IntakeHeld": date(2025, 3, 5), "NoteAdded": _at(7)}


# --- contacts ---------------------------------------------------------------------------------


def test_contacts_are_normalised_and_validated() -> None:
    contacts = validate_contacts(
        contact_person_emails=[" AP@School.nl ", "ap@school.nl"], board_emails=["b@bestuur.nl"]
    )
    assert contacts.contact_person_emails == ("ap@school.nl",)
    assert contacts.board_emails == ("b@bestuur.nl",)
    assert contacts.coordinator_emails == ()
    with pytest.raises(InvalidContacts, match="management_emails: address 2") as info:
        validate_contacts(management_emails=["d@school.nl", "geen-adres"])
    assert "geen-adres" not in info.value.message  # the value is not echoed
    with pytest.raises(InvalidContacts, match="at most 20"):
        validate_contacts(board_emails=[f"b{i}@x.nl" for i in range(21)])


# --- the registry's School configuration (in memory) ------------------------------------------


@pytest.fixture
def registry_school() -> tuple[Registry, Any]:
    registry = Registry(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with acting_as(SYSTEM):
        board = registry.register_board("Testbestuur", "testbestuur")
        school = registry.register_school(board.id, "Testschool", "testschool", "wrapped")
    return registry, school


def test_school_protocol_defaults_then_configured(registry_school: tuple[Registry, Any]) -> None:
    registry, school = registry_school
    assert registry.school(school.id).protocol == DEFAULT_PROTOCOL
    assert registry.school(school.id).protocol_is_default
    coordinator = Actor("user-apc", Role.COORDINATOR)
    registry.configure_protocol(school.id, [step(deadline_school_days=3)], actor=coordinator)
    stored = registry.school(school.id)
    assert stored.protocol.intake_deadline == 3
    assert not stored.protocol_is_default
    events = list(registry.events.get(school.id))
    assert type(events[-1]).__name__ == "ProtocolConfigured"
    assert (events[-1].actor_id, events[-1].actor_role) == ("user-apc", "coordinator")


def test_school_contacts_configured(registry_school: tuple[Registry, Any]) -> None:
    registry, school = registry_school
    assert registry.school(school.id).notification_contacts.board_emails == ()
    registry.configure_contacts(
        school.id, contact_person_emails=["ap@school.nl"], coordinator_emails=["apc@school.nl"]
    )  # as SYSTEM (operator)
    contacts = registry.school(school.id).notification_contacts
    assert contacts.contact_person_emails == ("ap@school.nl",)
    assert contacts.coordinator_emails == ("apc@school.nl",)
    assert [s.notification_contacts for s in registry.list_schools()] == [contacts]


def test_configuration_needs_permission_and_valid_input(
    registry_school: tuple[Registry, Any],
) -> None:
    registry, school = registry_school
    before = len(list(registry.events.get(school.id)))
    with pytest.raises(PermissionDenied, match="contact_person"):
        registry.configure_protocol(
            school.id, [step()], actor=Actor("user-ap", Role.CONTACT_PERSON)
        )
    with pytest.raises(PermissionDenied):
        registry.configure_contacts(
            school.id, board_emails=["b@x.nl"], actor=Actor("user-d", Role.MANAGEMENT)
        )
    with pytest.raises(InvalidProtocol):
        registry.configure_protocol(school.id, [step(deadline_school_days=-2)])
    with pytest.raises(InvalidContacts):
        registry.configure_contacts(school.id, board_emails=["nope"])
    assert len(list(registry.events.get(school.id))) == before
