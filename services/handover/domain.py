"""Hand-over of a pupil's bullying file to their next school (issue 15 §5), as events.

Two aggregates, one in each school's own log (never one log for both):

- :class:`HandOver` lives in the **sending** school's log: what was sent (which cases, to which
  school), the consents recorded before it (the pupil's, the parents'), who sent it and when;
  and, once the receiving school confirmed, who confirmed and when.
- :class:`ReceivedFile` lives in the **receiving** school's log: the read-only copy (the case
  documents as rendered at sending), from which school, sent by whom and when; and who confirmed
  receipt and when. Stored inside the receiving school's own encryption (its log's cipher),
  and the pupil's name and the documents each sealed with a passage key of the file's own
  (``SEALED_CONTENT``, :func:`services.casework.sealing.whole_fields`): erasing the copy
  (``ReceivedFileErased``: retention, or the receiving contact person) destroys those keys, so
  the name and the documents are gone while the event, and the chain over it, stay.

Event names are a permanent contract.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date, datetime
from typing import Any, ClassVar
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
        #: Sealed with passage keys of this file (destroyed when the copy is erased).
        SEALED_CONTENT: ClassVar[tuple[str, ...]] = ("pupil_name", "documents")

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

    class ReceivedFileErased(Event):
        """The copy was erased (its keys destroyed): at retention expiry, or earlier by the
        receiving contact person. ``reason`` is a stable word (:class:`ErasureReason`)."""

        reason: str
        erased_at: datetime

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
        self.erased_at: datetime | None = None
        self.erase_reason: str | None = None

    @event(ReceiptConfirmed)
    def confirm_receipt(self, confirmed_by: str, confirmed_at: datetime) -> None:
        self.confirmed_by = confirmed_by
        self.confirmed_at = confirmed_at

    @event(ReceivedFileErased)
    def erase(self, reason: str, erased_at: datetime) -> None:
        self.erase_reason = reason
        self.erased_at = erased_at

    @property
    def erased(self) -> bool:
        return self.erased_at is not None


class ErasureReason:
    """Why a received copy was erased (stable words, no free text: nothing personal)."""

    RETENTION = "retention"  # keep_until passed (the retention run)
    NOT_ENROLLED = "not_enrolled"  # the pupil did not come to this school
    NOT_NEEDED = "not_needed"  # the school does not need the copy
    SENT_IN_ERROR = "sent_in_error"  # meant for another school or pupil

    BY_PERSON = (NOT_ENROLLED, NOT_NEEDED, SENT_IN_ERROR)


#: The hand-over's event catalogue (both sides).
EVENT_TYPES: tuple[type[Aggregate.Event], ...] = (
    HandOver.HandOverSent,
    HandOver.HandOverConfirmed,
    ReceivedFile.FileReceived,
    ReceivedFile.ReceiptConfirmed,
    ReceivedFile.ReceivedFileErased,
)
