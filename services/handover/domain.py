"""Hand-over of a pupil's bullying file to their next school (issue 15 §5), as events.

Two aggregates, one in each school's own log (never one log for both):

- :class:`HandOver` lives in the **sending** school's log: what was sent (which cases, to which
  school), the consents recorded before it (the pupil's, the parents'), who sent it and when;
  and, once the receiving school confirmed, who confirmed and when.
- :class:`ReceivedFile` lives in the **receiving** school's log: the read-only copy (the case
  documents as rendered at sending), from which school, sent by whom and when; and who confirmed
  receipt and when. Stored inside the receiving school's own encryption (its log's cipher).

Event names are a permanent contract.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.shared.actor import actor_id_now, actor_role_now


class HandOver(Aggregate):
    """A hand-over sent by this school (the sending side's record)."""

    class Event(Aggregate.Event):
        actor_id: str = field(default_factory=actor_id_now, init=False)
        actor_role: str = field(default_factory=actor_role_now, init=False)

    class HandOverSent(Event, Aggregate.Created):
        school_id: UUID
        pupil_id: UUID
        to_school_id: UUID
        to_school_slug: str
        case_ids: list[UUID]
        pupil_consent_on: date
        parents_consent_by: str
        parents_consent_on: date
        received_file_id: UUID
        sent_by: str

    class HandOverConfirmed(Event):
        """The receiving school confirmed receipt (recorded here by the platform service)."""

        confirmed_by: str
        confirmed_at: datetime

    @event(HandOverSent)
    def __init__(
        self,
        *,
        school_id: UUID,
        pupil_id: UUID,
        to_school_id: UUID,
        to_school_slug: str,
        case_ids: list[UUID],
        pupil_consent_on: date,
        parents_consent_by: str,
        parents_consent_on: date,
        received_file_id: UUID,
        sent_by: str,
    ) -> None:
        self.school_id = school_id
        self.pupil_id = pupil_id
        self.to_school_id = to_school_id
        self.to_school_slug = to_school_slug
        self.case_ids = list(case_ids)
        self.pupil_consent_on = pupil_consent_on
        self.parents_consent_by = parents_consent_by
        self.parents_consent_on = parents_consent_on
        self.received_file_id = received_file_id
        #: The sending contact person (staff directory id).
        self.sent_by = sent_by
        self.confirmed_by: str | None = None
        self.confirmed_at: datetime | None = None

    @event(HandOverConfirmed)
    def confirm(self, confirmed_by: str, confirmed_at: datetime) -> None:
        self.confirmed_by = confirmed_by
        self.confirmed_at = confirmed_at


class ReceivedFile(Aggregate):
    """A pupil's file received from another school (the receiving side's read-only copy)."""

    class Event(Aggregate.Event):
        actor_id: str = field(default_factory=actor_id_now, init=False)
        actor_role: str = field(default_factory=actor_role_now, init=False)

    class FileReceived(Event, Aggregate.Created):
        school_id: UUID
        from_school_id: UUID
        from_school_name: str
        handover_id: UUID
        pupil_name: str
        sent_by: str
        sent_at: datetime
        keep_until: date
        documents: list[dict[str, Any]]

    class ReceiptConfirmed(Event):
        """The receiving contact person confirmed receipt."""

        confirmed_by: str
        confirmed_at: datetime

    @event(FileReceived)
    def __init__(
        self,
        *,
        school_id: UUID,
        from_school_id: UUID,
        from_school_name: str,
        handover_id: UUID,
        pupil_name: str,
        sent_by: str,
        sent_at: datetime,
        keep_until: date,
        documents: list[dict[str, Any]],
    ) -> None:
        self.school_id = school_id
        self.from_school_id = from_school_id
        self.from_school_name = from_school_name
        self.handover_id = handover_id
        self.pupil_name = pupil_name
        self.sent_by = sent_by
        self.sent_at = sent_at
        self.keep_until = keep_until
        self.documents = documents
        self.confirmed_by: str | None = None
        self.confirmed_at: datetime | None = None

    @event(ReceiptConfirmed)
    def confirm_receipt(self, confirmed_by: str, confirmed_at: datetime) -> None:
        self.confirmed_by = confirmed_by
        self.confirmed_at = confirmed_at


#: The hand-over's event catalogue (both sides).
EVENT_TYPES: tuple[type[Aggregate.Event], ...] = (
    HandOver.HandOverSent,
    HandOver.HandOverConfirmed,
    ReceivedFile.FileReceived,
    ReceivedFile.ReceiptConfirmed,
)
