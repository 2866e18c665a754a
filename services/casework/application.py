"""The casework application: one instance per school (its own schema, its own data key).

Thin by design (eventsourcing ``examples/bankaccounts/application.py``): load the case, call one
method, save. Who may do what is decided in :mod:`services.casework.handlers`.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from services.casework.domain import Case
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
        """Save new events; a concurrent change of the same case is a conflict, never lost."""
        try:
            self.save(case)
        except IntegrityError:
            msg = f"case {case.id} was changed by someone else at the same time: reload and retry"
            raise ConcurrencyConflict(msg) from None
