"""Reading a whole case for its case file (dossier), e.g. for the complaints committee.

The case file is built from the case's events in the school's log — the authoritative record —
never from a read model: a view may lag or be rebuilt, the log is what happened. Who may, and
what the file holds, is need-to-know (:mod:`services.access.need_to_know`): a case of which the
person sees nothing is "not found"; one they see in part needs the ``case_file`` part (the
contact person, the coordinator, the auditor, the complaint roles for the complaint file; not
an engaged mentor), and the file then holds only the parts they see (:attr:`CaseRecord.sight`).

As in :class:`~services.casework.handlers.CaseService`, the case is loaded before the permission
check, so another school's case is "not found" for everyone, never "forbidden". Recording the
read in the school's access log is the caller's job (the web layer does, for every export).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.access.need_to_know import NEED_TO_KNOW, Part, Sight, sight
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.casework.facts import case_facts
from services.shared.actor import Actor
from services.shared.errors import CaseNotFound, PermissionDenied


def may_export_case_file(role: Role) -> bool:
    """Whether ``role`` may export a case file of some case (the ``case_file`` part through
    some relation; which cases and which parts: :func:`~services.access.need_to_know.sight`)."""
    return any(Part.CASE_FILE in parts for parts in NEED_TO_KNOW.get(role, {}).values())


@dataclass(frozen=True)
class CaseRecord:
    """A case as its events tell it: the events, oldest first, and the state they lead to."""

    case: Case
    events: tuple[Case.Event, ...]
    #: What the exporting person sees of it (None: everything, e.g. the school's own export).
    sight: Sight | None = None


class CaseFileReader:
    """Reads whole cases of one school from its log, for case files."""

    def __init__(self, app: CaseworkApplication, school_id: UUID) -> None:
        self.app = app
        self.school_id = school_id

    def read(self, actor: Actor, case_id: UUID) -> CaseRecord:
        """Every event of the case and its current state (``CaseNotFound``, then
        ``PermissionDenied``)."""
        events: list[Any] = list(self.app.events.get(case_id))
        first = events[0] if events else None
        if not isinstance(first, Case.CaseReported) or first.school_id != self.school_id:
            raise CaseNotFound(f"case {case_id} not found")
        case: Any = None
        for event in events:
            case = event.mutate(case)
        assert isinstance(case, Case)
        seen = sight(actor, case_facts(case))
        if seen.nothing:
            raise CaseNotFound(f"case {case_id} not found")
        if not seen.sees(Part.CASE_FILE):
            msg = f"role '{actor.role}' may not export the case file of this case"
            raise PermissionDenied(msg)
        return CaseRecord(case=case, events=tuple(events), sight=seen)
