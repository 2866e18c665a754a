"""A pupil of a school's pupil register, as an event-sourced aggregate (see README.md).

Pupils live in the school's own log beside its cases and staff. The identifying fields
(``reference``: the school's own pupil number, ``display_name``, ``group``) are sealed with that
pupil's own key on the way to storage (:mod:`services.casework.sealing`); destroying the key
erases the pupil everywhere at once. Event names are a permanent contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.shared.actor import actor_id_now, actor_role_now
from services.shared.errors import InvalidInput
from services.shared.text import clean_text

#: Longest pupil number, name and group.
MAX_REFERENCE = 64
MAX_NAME = 200
MAX_GROUP = 64

#: The fields of a pupil that identify them (sealed with the pupil's key).
IDENTIFYING = ("reference", "display_name", "group")


@dataclass(frozen=True)
class PupilDetails:
    """What identifies a pupil: the school's pupil number, a name and a group (class)."""

    reference: str
    display_name: str = ""
    group: str = ""

    def cleaned(self, prefix: str = "") -> PupilDetails:
        """The details through the one rule for text, bounded; ``prefix`` names the fields in
        errors (``pupil_`` in a form that also holds other fields)."""
        return PupilDetails(
            reference=clean_text(self.reference, f"{prefix}reference", max_len=MAX_REFERENCE),
            display_name=clean_text(
                self.display_name, f"{prefix}display_name", required=False, max_len=MAX_NAME
            ),
            group=clean_text(self.group, f"{prefix}group", required=False, max_len=MAX_GROUP),
        )


def reference_key(reference: str) -> str:
    """How pupil numbers compare (unique per school): trimmed, case-insensitively."""
    return reference.strip().casefold()


class Pupil(Aggregate):
    """One pupil of one school's register."""

    class Event(Aggregate.Event):
        actor_id: str = field(default_factory=actor_id_now, init=False)
        actor_role: str = field(default_factory=actor_role_now, init=False)

    class PupilRegistered(Event, Aggregate.Created):
        school_id: UUID
        reference: str
        display_name: str
        group: str

    class PupilErasureRequested(Event):
        """The pupil is to be erased (a request, or the school's retention period ran out
        after their last case closed). Storage destroys the pupil's key when it saves this."""

        reason: str

    @classmethod
    def register(
        cls, *, school_id: UUID, details: PupilDetails, pupil_id: UUID | None = None
    ) -> Pupil:
        """A new pupil in the register (``pupil_id``: chosen by the caller, else random)."""
        cleaned = details.cleaned()
        if pupil_id is None:
            return cls._create(
                cls.PupilRegistered,
                school_id=school_id,
                reference=cleaned.reference,
                display_name=cleaned.display_name,
                group=cleaned.group,
            )
        return cls._create(
            cls.PupilRegistered,
            id=pupil_id,
            school_id=school_id,
            reference=cleaned.reference,
            display_name=cleaned.display_name,
            group=cleaned.group,
        )

    @event(PupilRegistered)
    def __init__(self, *, school_id: UUID, reference: str, display_name: str, group: str) -> None:
        self.school_id = school_id
        self.reference = reference
        self.display_name = display_name
        self.group = group
        self.erased = False

    @property
    def details(self) -> PupilDetails:
        return PupilDetails(self.reference, self.display_name, self.group)

    def request_erasure(self, *, reason: str) -> None:
        """Erase the pupil (allowed again on an erased pupil: it finishes an interrupted one)."""
        self._request_erasure(reason=clean_text(reason, "reason"))

    @event(PupilErasureRequested)
    def _request_erasure(self, reason: str) -> None:
        self.erased = True

    def must_be_linkable(self, field_name: str) -> None:
        """Refuse linking an erased pupil to a case (naming ``field_name``)."""
        if self.erased:
            msg = f"{field_name}: pupil {self.id} was erased"
            raise InvalidInput(msg, field=field_name, reason="erased_pupil")


#: The register's event catalogue.
EVENT_TYPES: tuple[type[Pupil.Event], ...] = (Pupil.PupilRegistered, Pupil.PupilErasureRequested)
