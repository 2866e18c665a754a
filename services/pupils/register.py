"""The use cases of one school's pupil register (see README.md): register a pupil, find one,
list and search them, link one to a case, erase one.

The register reads and writes the ``Pupil`` aggregates in the school's own log (the casework
application of the school), so it needs no wiring of its own: the pupils' keys and the views'
purge are the application's (``services.casework.application``; given here through two small
ports, so this package does not depend on casework: casework depends on it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, StoredEvent

from services.access.roles import Permission, has_permission
from services.pupils.domain import IDENTIFYING, Pupil, PupilDetails, reference_key
from services.shared.actor import Actor, acting_as
from services.shared.errors import ConcurrencyConflict, InvalidInput, NotFound, PermissionDenied
from services.shared.text import clean_text

#: The topic a pupil's first event is stored under (how the register finds its pupils).
REGISTERED_TOPIC = f"{Pupil.__module__}:{Pupil.PupilRegistered.__qualname__}"
#: The topic of a pupil's erasure (the register's only other event).
ERASURE_TOPIC = f"{Pupil.__module__}:{Pupil.PupilErasureRequested.__qualname__}"
#: Notifications read per page when listing the register.
PAGE = 1000


class PupilReason:
    """Why a pupil named in a command was refused (``InvalidInput.reason``; stable words)."""

    NOT_A_PUPIL_ID = "not_a_pupil_id"
    UNKNOWN = "unknown_pupil"
    ERASED = "erased_pupil"
    REFERENCE_TAKEN = "reference_taken"


class PupilNotFound(NotFound):
    code = "pupil_not_found"


@dataclass(frozen=True)
class PupilEntry:
    """A pupil as pages and the API show them (unsealed when read: never stored like this)."""

    pupil_id: UUID
    reference: str
    display_name: str
    group: str
    erased: bool
    registered_at: datetime


@dataclass(frozen=True)
class ErasureTerms:
    """What identifies a pupil in free text: for finding passages that mention them before the
    pupil's key is destroyed (issue #12 §4)."""

    pupil_id: UUID
    reference: str
    display_name: str
    group: str

    @property
    def words(self) -> tuple[str, ...]:
        """The non-empty terms to look for (number and name; the group is not identifying on
        its own)."""
        return tuple(t for t in (self.reference, self.display_name) if t)


class PupilKeyShredder(Protocol):
    """Destroys a pupil's key (``services.casework.sealing.PupilKeys``)."""

    def destroy_pupil(self, pupil_id: UUID) -> int: ...


#: Opens many stored events of the register at once (their pupils' keys read in one go:
#: ``services.casework.sealing.SealingMapper.open_register``).
Decode = Callable[[Sequence[StoredEvent]], list[DomainEventProtocol[UUID]]]


class PupilPurge(Protocol):
    """The read side's part of a pupil's erasure
    (``services.casework.application.ReadSidePurge.purge_pupil``)."""

    def purge_pupil(
        self, pupil_id: UUID, *, save: Callable[[], None], then: Callable[[UUID], None]
    ) -> None: ...


def entry(pupil: Pupil) -> PupilEntry:
    return PupilEntry(
        pupil_id=pupil.id,
        reference=pupil.reference,
        display_name=pupil.display_name,
        group=pupil.group,
        erased=pupil.erased,
        registered_at=pupil.created_on,
    )


def _matches(found: PupilEntry, words: list[str]) -> bool:
    haystack = f"{found.reference} {found.display_name} {found.group}".casefold()
    return all(w in haystack for w in words)


class PupilRegister:
    """One school's pupil register, on the school's casework application (its log)."""

    def __init__(
        self,
        app: Application[UUID],
        school_id: UUID,
        *,
        keys: PupilKeyShredder | None = None,
        purge: PupilPurge | None = None,
        decode: Decode | None = None,
    ) -> None:
        """``app``: the school's casework application (its log); ``keys`` and ``purge``: its
        pupil keys and read-side purge (none: stored unsealed, no views; unit tests);
        ``decode``: opens the register's events in one go (none: one by one, by the log's
        mapper)."""
        self.app = app
        self.school_id = school_id
        self.keys = keys
        self.purge = purge
        self.decode = decode

    # --- reading ----------------------------------------------------------------------------

    def load(self, pupil_id: UUID) -> Pupil | None:
        """The pupil of *this* school, or ``None`` (another school's pupil is unknown here)."""
        try:
            pupil: object = self.app.repository.get(pupil_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(pupil, Pupil) or pupil.school_id != self.school_id:
            return None
        if not all(isinstance(getattr(pupil, f), str) for f in IDENTIFYING):
            return None  # still sealed: an application without the school's pupil keys
        return pupil

    def get(self, actor: Actor, pupil_id: UUID) -> PupilEntry:
        """One pupil, for a role that reads pupils (else :class:`PermissionDenied`)."""
        _require(actor, Permission.PUPILS_READ)
        pupil = self.load(pupil_id)
        if pupil is None:
            raise PupilNotFound(f"pupil {pupil_id} not found")
        return entry(pupil)

    def pupil_ids(self) -> list[UUID]:
        """Every pupil id of the register, in the order they were registered."""
        ids: list[UUID] = []
        start = 1
        while True:
            page = self.app.recorder.select_notifications(
                start=start, limit=PAGE, topics=[REGISTERED_TOPIC]
            )
            ids.extend(UUID(str(n.originator_id)) for n in page)
            if len(page) < PAGE:
                return ids
            start = page[-1].id + 1

    def _stored(self) -> list[StoredEvent]:
        """Every stored event of the register (registrations and erasures), in log order:
        one query per :data:`PAGE` events."""
        stored: list[StoredEvent] = []
        start = 1
        while True:
            page = self.app.recorder.select_notifications(
                start=start, limit=PAGE, topics=[REGISTERED_TOPIC, ERASURE_TOPIC]
            )
            stored.extend(page)
            if len(page) < PAGE:
                return stored
            start = page[-1].id + 1

    def pupils(self) -> list[Pupil]:
        """Every pupil of this school, in the order they were registered, built from one read
        of the register's events (and one of their keys) instead of loading each pupil."""
        stored = self._stored()
        if self.decode is not None:
            events = self.decode(stored)
        else:
            events = [self.app.mapper.to_domain_event(s) for s in stored]
        found: dict[UUID, Pupil] = {}
        for domain_event in events:
            if not isinstance(domain_event, Pupil.Event):
                continue
            pupil = domain_event.mutate(found.get(domain_event.originator_id))
            if isinstance(pupil, Pupil):
                found[pupil.id] = pupil
        return [
            p
            for p in found.values()
            if p.school_id == self.school_id
            and all(isinstance(getattr(p, f), str) for f in IDENTIFYING)
        ]

    def all(self) -> list[PupilEntry]:
        """Every pupil of this school (erased ones read ``[gewist]``), unsealed now."""
        return [entry(p) for p in self.pupils()]

    def search(
        self, actor: Actor, query: str = "", *, include_erased: bool = False
    ) -> list[PupilEntry]:
        """The pupils whose number, name or group contain every word of ``query``
        (case-insensitively), sorted by name; for roles that read pupils."""
        _require(actor, Permission.PUPILS_READ)
        words = clean_text(query, "q", required=False, max_len=200).casefold().split()
        found = [p for p in self.all() if (include_erased or not p.erased) and _matches(p, words)]
        return sorted(found, key=lambda p: (p.display_name.casefold(), p.reference.casefold()))

    def by_reference(self, reference: str) -> Pupil | None:
        """The (not erased) pupil with this pupil number, compared case-insensitively."""
        key = reference_key(reference)
        for pupil in self.pupils():
            if not pupil.erased and reference_key(pupil.reference) == key:
                return pupil
        return None

    def erasure_terms(self, pupil_id: UUID) -> ErasureTerms | None:
        """The pupil's number, name and group while their key still exists (``None``: no such
        pupil here, or already erased). For the free-text redaction that must find the
        passages mentioning a pupil *before* :meth:`erase` destroys the key."""
        pupil = self.load(pupil_id)
        if pupil is None or pupil.erased:
            return None
        return ErasureTerms(pupil.id, pupil.reference, pupil.display_name, pupil.group)

    # --- writing ----------------------------------------------------------------------------

    def register(
        self, actor: Actor, details: PupilDetails, *, pupil_id: UUID | None = None
    ) -> Pupil:
        """A new pupil in the register; :class:`InvalidInput` (``reference``,
        ``reference_taken``) when the school already has a pupil with that number."""
        _require(actor, Permission.PUPILS_MANAGE)
        cleaned = details.cleaned()
        existing = self.by_reference(cleaned.reference)
        if existing is not None:
            msg = "reference: a pupil with this pupil number is already in the register"
            raise InvalidInput(
                msg,
                field="reference",
                reason=PupilReason.REFERENCE_TAKEN,
                details={"pupil_id": str(existing.id)},
            )
        with acting_as(actor):
            pupil = Pupil.register(school_id=self.school_id, details=cleaned, pupil_id=pupil_id)
        self.app.save(pupil)
        return pupil

    def linkable(self, value: str, field: str = "pupil_id") -> Pupil:
        """The pupil a command names by id, if it can be linked to a case; else
        :class:`InvalidInput` naming ``field``."""
        text = clean_text(value, field, max_len=64)
        try:
            pupil_id = UUID(text)
        except ValueError:
            msg = f"{field} must be a pupil id of this school's register (a UUID)"
            raise InvalidInput(msg, field=field, reason=PupilReason.NOT_A_PUPIL_ID) from None
        pupil = self.load(pupil_id)
        if pupil is None:
            msg = f"{field}: no pupil {pupil_id} in this school's register"
            raise InvalidInput(msg, field=field, reason=PupilReason.UNKNOWN)
        if pupil.erased:
            msg = f"{field}: pupil {pupil_id} was erased"
            raise InvalidInput(msg, field=field, reason=PupilReason.ERASED)
        return pupil

    def for_participant(self, actor: Actor, details: PupilDetails, prefix: str = "") -> Pupil:
        """The register's pupil for a participant added "on the spot" with ``details``: the
        pupil with that number when the name agrees (or none was given), else a new one. A
        number that is another name's is refused (``{prefix}ref``, ``reference_taken``)."""
        cleaned = PupilDetails(
            reference=clean_text(details.reference, f"{prefix}ref", max_len=64),
            display_name=details.display_name,
            group=details.group,
        ).cleaned()
        existing = self.by_reference(cleaned.reference)
        if existing is None:
            return self.register(actor, cleaned)
        given = cleaned.display_name.casefold()
        if given and given != existing.display_name.casefold():
            msg = (
                f"{prefix}ref: this pupil number belongs to another pupil of the register: "
                "pick the pupil from the register, or check the number"
            )
            raise InvalidInput(
                msg,
                field=f"{prefix}ref",
                reason=PupilReason.REFERENCE_TAKEN,
                details={"pupil_id": str(existing.id)},
            )
        return existing

    def erase(self, actor: Actor, pupil_id: UUID, *, reason: str) -> None:
        """Erase a pupil in every case at once: record the request, purge the views' copies
        of their name, number and group, destroy their key (in that order: see
        :class:`services.casework.application.ReadSidePurge`). Repeating it finishes an
        interrupted erasure."""
        _require(actor, Permission.PUPILS_MANAGE)
        pupil = self.load(pupil_id)
        if pupil is None:
            raise PupilNotFound(f"pupil {pupil_id} not found")
        self.expire(pupil, actor=actor, reason=reason)

    def expire(self, pupil: Pupil, *, actor: Actor, reason: str) -> None:
        """The erasure itself (also the retention run's, whose actor is the system)."""
        with acting_as(actor):
            pupil.request_erasure(reason=reason)
        keys = self.keys

        def save() -> None:
            try:
                self.app.save(pupil)
            except IntegrityError:
                msg = f"pupil {pupil.id} was changed at the same time: retry"
                raise ConcurrencyConflict(msg) from None

        def destroy(pupil_id: UUID) -> None:
            if keys is not None:
                keys.destroy_pupil(pupil_id)

        purge = self.purge
        if purge is not None:
            purge.purge_pupil(pupil.id, save=save, then=destroy)
            return
        save()
        destroy(pupil.id)


def _require(actor: Actor, permission: Permission) -> None:
    if not has_permission(actor.role, permission):
        msg = f"role '{actor.role}' may not '{permission}'"
        raise PermissionDenied(msg)
