"""The casework application: one instance per school (its own schema, its own data key).

Thin by design (eventsourcing ``examples/bankaccounts/application.py``): load the case, call one
method, save. Who may do what is decided in :mod:`services.casework.handlers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, Transcoding

from services.casework.domain import Case
from services.casework.sealing import (
    CONTENT_FIELDS,
    ContentKeys,
    PupilKeys,
    SealingMapper,
    is_passage,
    passage_key_id,
    unseal_passage,
)
from services.pupils.register import PupilRegister
from services.shared.errors import CaseNotFound, ConcurrencyConflict


class DateAsISO(Transcoding):
    """Dates (due dates, intake day) are stored as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CaseworkApplication(Application[UUID]):
    """Event-sourced casework of one school. Table names derive from ``name``."""

    name = "Casework"
    # No automatic snapshots (yet): the case's state (UUID-keyed dicts, dataclasses, sets, enums
    # compared by identity) is not JSON-transcodable, so a snapshot at version 50 failed *after*
    # the 50th event was stored, and a restored snapshot would hold plain strings for enums. A
    # snapshot would also keep pupil fields outside the per-pupil encryption of DESIGN.md §5.
    # Add snapshots back only with an explicit, tested state encoding.

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        pupil_keys: PupilKeys | None = None,
        read_side: ReadSidePurge | None = None,
        content_keys: ContentKeys | None = None,
    ) -> None:
        """``pupil_keys``: where per-pupil keys live. Without it pupil fields are stored as they
        are (inside the school-key encryption only) and cannot be erased on their own.
        ``read_side``: purges an erased case's pupil data from the school's views as part of
        saving the erasure (the container passes the school's views; none in unit tests).
        ``content_keys``: where the keys of free-text passages live (with ``pupil_keys``); without
        it free text is stored inside the school-key encryption only."""
        # Set before the base class builds the mapper (construct_mapper reads it).
        self.pupil_keys = pupil_keys
        self.content_keys = content_keys
        self.read_side = read_side
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        if self.pupil_keys is None:
            return super().construct_mapper()
        return SealingMapper(
            transcoder=self.construct_transcoder(),
            pupil_keys=self.pupil_keys,
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
            content_keys=self.content_keys,
        )

    def read_side_mapper(self) -> Mapper[UUID]:
        """The mapper the views read the log with: sealed values stay sealed (the views store
        ciphertext; pages open it as they render: ``services.casework.sealing.unseal_tree``)."""
        if isinstance(self.mapper, SealingMapper):
            return self.mapper.keeping_sealed()
        return self.mapper

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def get_case(self, case_id: UUID, school_id: UUID, version: int | None = None) -> Case:
        """Load a case of this school; another school's case is simply "not found"."""
        try:
            case: Case = self.repository.get(case_id, version=version)
        except AggregateNotFoundError:
            raise CaseNotFound(f"case {case_id} not found") from None
        if not isinstance(case, Case) or case.school_id != school_id:
            raise CaseNotFound(f"case {case_id} not found")
        return case

    def save_case(self, case: Case) -> None:
        """Save new events; a concurrent change of the same case is a conflict, never lost.

        Saving an erasure request also destroys the pupils' keys and, with a ``read_side``,
        purges the case's pupil data from the school's views before it returns (see
        :class:`ReadSidePurge`): an erasure reported as done leaves no name in a view, however
        far behind or degraded the views are.
        """
        erasing = any(isinstance(e, Case.ErasureRequested) for e in case.pending_events)
        redacted = [
            p for e in case.pending_events if isinstance(e, Case.PassagesRedacted)
            for p in e.passages
        ]  # fmt: skip
        if erasing and self.read_side is not None:
            self.read_side.purge(case.id, save=lambda: self._save(case), then=self._erase_keys)
        else:
            self._save(case)
            if erasing:
                self._erase_keys(case.id)
        if redacted:
            # Recorded first: a crash here leaves a recorded redaction whose keys the next
            # redaction of the same passages (allowed) or the case's expiry destroys.
            self.destroy_passages(case.id, redacted)

    def passages(self, case_id: UUID) -> list[tuple[int, str, str, str, str]]:
        """Every passage of the case's free text whose key still exists, opened, in log order:
        (version, event type, field, passage id, text). Plain (never sealed) texts are left out:
        they are not erasable on their own (old events before ``vangnet privacy seal-old``)."""
        if not isinstance(self.mapper, SealingMapper) or self.content_keys is None:
            return []
        sealed = self.mapper.keeping_sealed()
        found: list[tuple[int, str, str, dict[str, str]]] = []
        for stored in self.recorder.select_events(case_id):
            event = sealed.to_domain_event(stored)
            for name in CONTENT_FIELDS.get(type(event), ()):
                value = getattr(event, name, None)
                items = value if isinstance(value, list) else [value]
                found.extend(
                    (stored.originator_version, type(event).__name__, name, item)
                    for item in items
                    if is_passage(item)
                )
        keys = self.content_keys.keys(passage_key_id(v) for *_, v in found)
        return [
            (version, event_type, name, value["sealed"], unseal_passage(keys[key_id], value))
            for version, event_type, name, value in found
            if (key_id := passage_key_id(value)) in keys
        ]

    def destroy_passages(self, case_id: UUID, passages: list[str]) -> int:
        """Destroy the keys of these passages of the case (key ids, hex); how many existed."""
        if self.content_keys is None:
            return 0
        return self.content_keys.destroy(case_id, [UUID(hex=p) for p in passages])

    def expire_content(self, case_id: UUID) -> int:
        """Destroy every passage key of the case (retention expiry of the whole case)."""
        if self.content_keys is None:
            return 0
        return self.content_keys.destroy_case(case_id)

    def _save(self, case: Case) -> None:
        try:
            self.save(case)
        except IntegrityError:
            msg = f"case {case.id} was changed by someone else at the same time: reload and retry"
            raise ConcurrencyConflict(msg) from None

    def _erase_keys(self, case_id: UUID) -> None:
        if self.pupil_keys is not None:
            # The request is recorded first, so a crash here leaves a recorded request whose
            # keys are destroyed when the erasure is repeated (allowed: it finishes the job), or
            # by the next retention run (it repeats unfinished erasures of expired cases).
            self.pupil_keys.destroy_case(case_id)


def register_of(app: CaseworkApplication, school_id: UUID) -> PupilRegister:
    """The pupil register of the school whose log ``app`` is (its keys, its views' purge)."""
    decode = app.mapper.open_register if isinstance(app.mapper, SealingMapper) else None
    return PupilRegister(app, school_id, keys=app.pupil_keys, purge=app.read_side, decode=decode)


class ReadSidePurge(Protocol):
    """The read side's part of an erasure, around the save of the ``ErasureRequested`` event.

    ``purge`` erases the case's pupil data from the views' rows *before* calling ``save``, in
    one open transaction with the views' positions locked (so no catch-up can write the data
    back); if that cannot be done it raises ``ErasureUnavailable`` and nothing is stored. Then
    ``save`` stores the request (if it fails, the purge is rolled back: nothing stored, nothing
    erased), ``then(case_id)`` destroys the keys, and the purge commits. Anything failing after
    the save raises ``ErasureIncomplete``: the request is recorded, and the views erase the same
    fields when they apply it, so the erasure cannot stay half-done; repeating it finishes.
    """

    def purge(
        self, case_id: UUID, *, save: Callable[[], None], then: Callable[[UUID], None]
    ) -> None: ...

    def purge_pupil(
        self, pupil_id: UUID, *, save: Callable[[], None], then: Callable[[UUID], None]
    ) -> None:
        """The same, for a pupil of the register: the views' copies of the pupil's number,
        name and group, in every case they take part in, before the pupil's erasure is saved
        (``save``) and their key destroyed (``then(pupil_id)``)."""
        ...
