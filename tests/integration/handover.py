"""A hand-over sent and a file received, stored straight in one school's log: path parameter
values for the route-table tests (isolation, need-to-know). Every name is fictitious."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from eventsourcing.application import Application

from services.access.roles import Role
from services.handover.domain import HandOver, ReceivedFile
from services.shared.actor import Actor, acting_as

CONTACT = Actor(user_id="test-handover-contact", role=Role.CONTACT_PERSON)


def stored_handover(app: Application[UUID], school_id: UUID, marker: str) -> tuple[UUID, UUID]:
    """(hand-over id, received file id) of ``school_id``, each holding ``marker``."""
    now = datetime.now(UTC)
    with acting_as(CONTACT):
        sent = HandOver(
            school_id=school_id,
            pupil_id=uuid4(),
            to_school_id=uuid4(),
            to_school_slug=f"elders-{marker.lower()}"[:63],
            case_ids=[uuid4()],
            pupil_consent_on=date(2026, 11, 1),
            parents_consent_by=f"Ouder {marker}",
            parents_consent_on=date(2026, 11, 1),
            received_file_id=uuid4(),
            sent_by=CONTACT.user_id,
        )
        received = ReceivedFile(
            school_id=school_id,
            from_school_id=uuid4(),
            from_school_name="Fictieve Vorige School",
            handover_id=uuid4(),
            pupil_name=f"Leerling {marker}",
            sent_by="Fictieve Afzender",
            sent_at=now,
            keep_until=date(2028, 11, 1),
            documents=[{"summary": f"Fictief {marker}"}],
        )
    app.save(sent, received)
    return sent.id, received.id
