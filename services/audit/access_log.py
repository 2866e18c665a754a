"""The access log as a service: recording that someone read a case's content, and reading the
log back (for auditors only).

Every read of a case's content is recorded *before* the content is returned, so a failing append
fails the read. Where and how the log is kept (a chained table in the school's schema) is the
adapter's (:class:`AccessLogStore`, ``infra/adapters/audit/access_log.py``).

Words: a *read* (who, in which role, when, which case, how: :class:`ReadKind`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from services.access.roles import Permission, has_permission
from services.shared.actor import Actor
from services.shared.errors import PermissionDenied


class ReadKind(StrEnum):
    """How a case's content was read."""

    CASE_PAGE = "case_page"  # the case page (UI)
    ACTION_FORM = "action_form"  # an action's form page (shows the case's steps, consents, ...)
    CASE_API = "case_api"  # GET /api/cases/{id}
    HISTORY = "history"  # the auditor's history (API or page)
    STATE = "state"  # the state as of a moment
    DIFF = "diff"  # the differences between two moments
    EXPORT = "export"  # an export of the case
    ATTACHMENT = "attachment"  # an evidence file of the case, opened
    CLI_REPLAY = "cli_replay"  # vangnet audit replay
    ERASURE_PASSAGES = "erasure_passages"  # the passages that mention a pupil, before erasure
    #: a pupil's file received from another school (hand-over), opened; the id is the file's
    HANDOVER = "handover"
    #: the reporter read the status and messages with their follow-up code (public form)
    REPORTER_STATUS = "reporter_status"


READ_KIND_LABELS_NL: dict[str, str] = {
    ReadKind.CASE_PAGE: "zaakpagina",
    ReadKind.ACTION_FORM: "formulier bij de zaak",
    ReadKind.CASE_API: "API: zaak",
    ReadKind.HISTORY: "geschiedenis",
    ReadKind.STATE: "stand op een moment",
    ReadKind.DIFF: "verschillen tussen twee momenten",
    ReadKind.EXPORT: "export",
    ReadKind.ATTACHMENT: "bijlage geopend",
    ReadKind.ERASURE_PASSAGES: "passages bij het wissen",
    ReadKind.HANDOVER: "ontvangen overdrachtsdossier",
    ReadKind.REPORTER_STATUS: "melder: status en berichten (volgcode)",
    ReadKind.CLI_REPLAY: "opdrachtregel (audit replay)",
}


@dataclass(frozen=True)
class CaseRead:
    """One recorded read of a case."""

    read_id: int
    case_id: UUID
    user_id: str
    role: str
    what: str
    read_at: datetime


class AccessLogStore(Protocol):
    """Where one school's access log is kept (a port)."""

    async def append(self, case_id: UUID, user_id: str, role: str, what: ReadKind) -> int:
        """Append one read; its id."""
        ...

    async def reads_of(self, case_id: UUID) -> list[CaseRead]:
        """Every recorded read of one case, oldest first."""
        ...


@dataclass(frozen=True)
class AccessLog:
    """One school's access log."""

    store: AccessLogStore

    async def record(self, actor: Actor, case_id: UUID, what: ReadKind) -> None:
        """Record that ``actor`` read ``case_id``'s content (call it after the content was loaded
        and the actor found allowed, before it is returned)."""
        await self.store.append(case_id, actor.user_id, str(actor.role), what)

    async def reads_of(self, actor: Actor, case_id: UUID) -> list[CaseRead]:
        """Who read the case, when and how (auditors: ``audit.read``)."""
        if not has_permission(actor.role, Permission.AUDIT_READ):
            raise PermissionDenied(f"role '{actor.role}' may not read the access log")
        return await self.store.reads_of(case_id)
