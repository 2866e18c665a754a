"""Hand-over of a pupil's file (issue 15 §5), in memory: consent is required before anything is
sent, only the cases where the pupil is target go, each as the receiving school needs it, the
copy lands in the receiving school's log only, and confirming is recorded on both sides. All
names are fictitious."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from services.access.roles import Role
from services.casework.application import register_of
from services.casework.commands import AddParticipant, HoldIntake, ReportCase
from services.exports.reader import CaseFileReader
from services.handover.domain import HandOver, ReceivedFile
from services.handover.service import (
    SENT_SECTIONS,
    Consent,
    HandOverService,
    Inbox,
    ReceivedFileNotFound,
    confirm_receipt,
    years_later,
)
from services.people.names import Names
from services.pupils.domain import PupilDetails
from services.shared.actor import SYSTEM, acting_as
from services.shared.errors import InvalidInput, PermissionDenied
from tenants.registry import School
from tests.unit.support import CONTACT, actor, new_app, new_service

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
CONSENT = Consent("2026-11-20", "Fictieve vader", "2026-11-21")


def _school(slug: str) -> School:
    with acting_as(SYSTEM):
        return School(
            board_id=uuid4(),
            name=f"Fictieve school {slug}",
            slug=slug,
            schema_name=f"school_{slug}",
            wrapped_data_key="unused",
        )


class World:
    def __init__(self) -> None:
        self.sender, self.receiver = _school("zender"), _school("ontvanger")
        self.app_a, self.app_b = new_app(), new_app()
        self.service = new_service(self.app_a, self.sender.id)
        register = register_of(self.app_a, self.sender.id)
        self.pupil = register.register(
            CONTACT, PupilDetails("LLN-1", "Fictieve Pien Verhuis", "groep 6")
        )
        self.target = self.case("target", other="Fictieve Joep Achternaamloos")
        self.actor_case = self.case("actor")
        self.inbox = Inbox(self.app_b, self.receiver.id)
        self.sending = HandOverService(self.app_a, self.sender)

    def case(self, role: str, other: str = "") -> UUID:
        case_id = self.service.report(
            CONTACT, ReportCase(reporter_kind="parent", summary="Fictieve MELDING")
        )
        self.service.handle(
            CONTACT, AddParticipant(case_id=case_id, pupil_id=str(self.pupil.id), role=role)
        )
        if other:
            self.service.handle(
                CONTACT,
                AddParticipant(case_id=case_id, pupil_ref="LLN-2", display_name=other,
                               role="actor"),
            )  # fmt: skip
            self.service.handle(
                CONTACT,
                HoldIntake(case_id=case_id, held_on=date(2026, 11, 2), summary="Fictief INTAKE"),
            )
        return case_id

    def send(self, consent: Consent = CONSENT, who: object = CONTACT) -> HandOver:
        reader = CaseFileReader(self.app_a, self.sender.id)
        records = [reader.read(CONTACT, c) for c in (self.target, self.actor_case)]
        return self.sending.send(
            who,  # type: ignore[arg-type]
            pupil_id=self.pupil.id,
            pupil_name=self.pupil.display_name,
            receiving=self.receiver,
            inbox=self.inbox,
            consent=consent,
            records=records,
            names=Names(),
            now=NOW,
            today=TODAY,
        )


@pytest.mark.parametrize(
    ("consent", "field", "reason"),
    [
        (Consent(None, "Fictieve vader", "2026-11-21"), "pupil_consent_on", "required"),
        (Consent("2026-11-20", "", "2026-11-21"), "parents_consent_by", "required"),
        (Consent("2026-11-20", "Fictieve vader", " "), "parents_consent_on", "required"),
        (Consent("20-11-2026", "Fictieve vader", "2026-11-21"), "pupil_consent_on", "not_a_date"),
        (Consent("2026-12-01", "Fictieve vader", "2026-11-21"), "pupil_consent_on",
         "in_the_future"),
    ],
)  # fmt: skip
def test_nothing_is_sent_without_both_consents(consent: Consent, field: str, reason: str) -> None:
    world = World()
    with pytest.raises(InvalidInput) as refused:
        world.send(consent)
    assert (refused.value.field, refused.value.reason) == (field, reason)
    assert world.inbox.all(CONTACT) == []


def test_only_the_contact_person_hands_over_and_receives() -> None:
    world = World()
    with pytest.raises(PermissionDenied):
        world.send(who=actor(Role.COORDINATOR))
    with pytest.raises(PermissionDenied):
        world.inbox.all(actor(Role.AUDITOR))


def test_the_target_cases_go_as_the_receiving_school_needs_them() -> None:
    world = World()
    handover = world.send()
    assert handover.case_ids == [world.target]
    assert (handover.pupil_consent_on, handover.parents_consent_by) == (
        date(2026, 11, 20),
        "Fictieve vader",
    )
    [received] = world.inbox.all(CONTACT)
    assert received.handover_id == handover.id
    assert received.keep_until == date(2028, 11, 30)
    [document] = received.documents
    assert tuple(s["key"] for s in document["sections"]) == SENT_SECTIONS
    participants = next(s for s in document["sections"] if s["key"] == "participants")
    assert [e["title"] for e in participants["entries"]] == ["Fictieve Pien Verhuis", "Fictieve"]
    flat = repr(document)
    assert "Fictieve MELDING" in flat
    for absent in ("Achternaamloos", "LLN-1", "LLN-2", "INTAKE"):
        assert absent not in flat, absent
    # The copy is in the receiving school's log only; the record of sending in the sender's.
    assert Inbox(world.app_a, world.sender.id).all(CONTACT) == []
    assert HandOverService(world.app_b, world.receiver).load(handover.id) is None


def test_confirming_is_recorded_on_both_sides_once() -> None:
    world = World()
    handover = world.send()
    [received] = world.inbox.all(CONTACT)
    other = actor(Role.CONTACT_PERSON, "user-ontvanger")
    confirm_receipt(other, world.inbox, received.id, world.sending, "Fictieve ontvanger", NOW)
    confirm_receipt(other, world.inbox, received.id, world.sending, "Nog eens", NOW)
    assert world.inbox.get(CONTACT, received.id).confirmed_by == "Fictieve ontvanger"
    sent = world.sending.load(handover.id)
    assert sent is not None
    assert sent.confirmed_at == NOW
    assert [type(e).__name__ for e in world.app_b.events.get(received.id)] == [
        "FileReceived",
        "ReceiptConfirmed",
    ]
    # Another school's inbox does not know the file.
    with pytest.raises(ReceivedFileNotFound):
        Inbox(world.app_b, uuid4()).get(CONTACT, received.id)
    assert isinstance(received, ReceivedFile)


def test_a_received_copy_is_kept_two_calendar_years() -> None:
    assert years_later(date(2026, 11, 30), 2) == date(2028, 11, 30)
    assert years_later(date(2028, 2, 29), 2) == date(2030, 2, 28)
