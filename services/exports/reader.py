"""Reading a whole case for its case file (dossier), e.g. for the complaints committee.

The case file is built from the case's events in the school's log — the authoritative record —
never from a read model: a view may lag or be rebuilt, the log is what happened. Who may: roles
that read the content of *every* case of their school (``case.read`` case-wide: the contact
person, the coordinator, the school contact person and confidential advisor for complaints,
management, the board and auditors). Staff who read a case only because they were engaged in it
(mentor, IB'er) may not hand its whole file out, and roles without ``case.read`` never.

As in :class:`~services.casework.handlers.CaseService`, the case is loaded before the permission
check, so another school's case is "not found" for everyone, never "forbidden". Recording the
read in the school's access log is the caller's job (the web layer does, for every export).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.access.roles import Permission, Role, has_permission
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.shared.actor import Actor
from services.shared.errors import CaseNotFound, PermissionDenied


def may_export_case_file(role: Role) -> bool:
    """Whether ``role`` may export a case file: ``case.read`` for every case of the school."""
    return has_permission(role, Permission.CASE_READ)


@dataclass(frozen=True)
class CaseRecord:
    """A case as its events tell it: the events, oldest first, and the state they lead to."""

    case: Case
    events: tuple[Case.Event, ...]


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
        if not may_export_case_file(actor.role):
            msg = (
                f"role '{actor.role}' may not export case files "
                "(that needs 'case.read' for every case of the school)"
            )
            raise PermissionDenied(msg)
        case: Any = None
        for event in events:
            case = event.mutate(case)
        assert isinstance(case, Case)
        return CaseRecord(case=case, events=tuple(events))
