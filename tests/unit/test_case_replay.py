"""Replay in memory: the explicit state document, the field-by-field differences, the "as of"
moments and who may replay (no database)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from services.access.roles import Role
from services.audit.replay import CaseReplay, parse_moment, parse_until
from services.casework.application import CaseworkApplication
from services.casework.commands import AddNote, GiveConsent, HoldIntake, PlanStep
from services.casework.handlers import CaseService
from services.casework.state import FieldChange, case_state, diff_states
from services.shared.errors import CaseNotFound, InvalidInput, NotYetReported, PermissionDenied
from tests.unit.support import CONTACT, actor

AUDITOR = actor(Role.AUDITOR, "user-auditor")
ZONE = ZoneInfo("Europe/Amsterdam")


def test_the_state_document_is_plain_json(service: CaseService, case_id: UUID) -> None:
    service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=date(2026, 11, 20), summary="x"))
    consent = uuid4()
    service.handle(
        CONTACT,
        GiveConsent(
            case_id=case_id, consent_id=consent, given_by="pupil", covers=["talk_with_actor"]
        ),
    )
    step = uuid4()
    service.handle(
        CONTACT,
        PlanStep(case_id=case_id, step_id=step, kind="talk_with_actor", description="Gesprek"),
    )
    state = case_state(service.app.get_case(case_id, service.school_id))
    assert json.loads(json.dumps(state)) == state
    assert state["status"] == "in_progress"
    assert state["intake_held_on"] == "2026-11-20"
    assert state["consents"][str(consent)] == {
        "given_by": "pupil",
        "covers": ["talk_with_actor"],
        "withdrawn": False,
    }
    assert state["steps"][str(step)]["status"] == "planned"


def test_differences_are_named_by_path() -> None:
    before = {"status": "reported", "steps": {"a": {"status": "planned"}}, "lessons": []}
    after = {
        "status": "in_progress",
        "steps": {"a": {"status": "completed"}, "b": {"status": "planned"}},
        "lessons": ["x"],
    }
    assert diff_states(before, after) == [
        FieldChange("status", "reported", "in_progress"),
        FieldChange("steps.a.status", "planned", "completed"),
        FieldChange("steps.b", None, {"status": "planned"}),
        FieldChange("lessons", [], ["x"]),
    ]
    assert diff_states(after, after) == []
    # Before the case existed, every field is new (a None value too).
    assert diff_states(None, {"owner_id": None}) == [FieldChange("owner_id", None, None)]


def test_state_as_of_and_diff(service: CaseService, case_id: UUID, school_id: UUID) -> None:
    replay = CaseReplay(service.app, school_id)
    reported = datetime.now(UTC)
    service.handle(CONTACT, AddNote(case_id=case_id, text="Een"))
    service.handle(CONTACT, AddNote(case_id=case_id, text="Twee"))
    assert replay.state_as_of(AUDITOR, case_id, reported).version == 1
    now = replay.state_as_of(AUDITOR, case_id, datetime.now(UTC))
    assert (now.version, now.state["notes"]) == (3, 2)
    with pytest.raises(NotYetReported):
        replay.state_as_of(AUDITOR, case_id, reported - timedelta(days=1))
    diff = replay.diff(AUDITOR, case_id, reported, datetime.now(UTC))
    assert diff.changes == [FieldChange("notes", 0, 2)]
    assert [e.data for e in diff.events] == [{"text": "Een"}, {"text": "Twee"}]
    with pytest.raises(InvalidInput):
        replay.state_as_of(AUDITOR, case_id, datetime(2026, 11, 20))  # noqa: DTZ001 - on purpose


def test_only_auditors_replay_and_only_their_schools_cases(
    app: CaseworkApplication, case_id: UUID, school_id: UUID
) -> None:
    with pytest.raises(PermissionDenied):
        CaseReplay(app, school_id).history(CONTACT, case_id)
    with pytest.raises(CaseNotFound):
        CaseReplay(app, uuid4()).history(AUDITOR, case_id)
    with pytest.raises(CaseNotFound):
        CaseReplay(app, school_id).history(AUDITOR, uuid4())
    history = CaseReplay(app, school_id).history(AUDITOR, case_id)
    assert [(e.version, e.event_type, e.actor_role) for e in history] == [
        (1, "CaseReported", "contact_person")
    ]


def test_moments_typed_by_people() -> None:
    default = datetime(2000, 1, 1, tzinfo=UTC)
    assert parse_moment(None, "x", default, ZONE) is default
    assert parse_moment("2026-11-20T14:30:00Z", "x", default, ZONE) == datetime(
        2026, 11, 20, 14, 30, tzinfo=UTC
    )
    local = parse_moment("2026-11-20 14:30", "x", default, ZONE)
    assert local == datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
    end_of_day = parse_until("2026-11-20", "x", default, ZONE)
    assert end_of_day.astimezone(ZONE).time().hour == 23
    end_of_minute = parse_until("2026-11-20T14:16", "x", default, ZONE)
    assert end_of_minute == datetime(2026, 11, 20, 13, 16, 59, 999999, tzinfo=UTC)
    assert parse_until("2026-11-20T14:16:05", "x", default, ZONE).second == 5
    with pytest.raises(InvalidInput):
        parse_moment("20-11-2026", "x", default, ZONE)
