"""The complaint part of a case (klachtenregeling): explain, file, support, escalate, decide.

Complaints live in the case's own log (a complaint can be filed after closing), but they are a
context of their own: other roles act here (schoolcontactpersoon, vertrouwenspersoon, directie,
bestuur) and the level ladder is its own rule
(:func:`services.casework.rules.complaint_level_must_rise`). Who records the decision at which
level is data: :data:`services.access.roles.COMPLAINT_DECIDERS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from uuid import UUID, uuid4

from services.access.roles import Permission
from services.casework.commands import CaseCommand
from services.casework.deciders import COMPLAINT_DECIDERS, may_complain_at_level
from services.casework.domain import Case, choice
from services.casework.vocabulary import ComplaintLevel, ComplaintSupportRole
from services.people.lookup import PersonLookup, check_person
from services.people.parts import SUPPORT_PARTS
from services.shared.actor import Actor
from services.shared.errors import PermissionDenied


@dataclass(frozen=True, kw_only=True)
class ExplainComplaintProcedure(CaseCommand):
    permission = Permission.COMPLAINT_EXPLAIN
    explained_to: str

    def execute(self, case: Case) -> None:
        case.explain_complaint_procedure(explained_to=self.explained_to)


@dataclass(frozen=True, kw_only=True)
class FileComplaint(CaseCommand):
    permission = Permission.COMPLAINT_FILE
    complainant: str
    summary: str
    level: str = ComplaintLevel.MANAGEMENT.value
    skip_reason: str = ""
    complaint_id: UUID = field(default_factory=uuid4)

    def execute(self, case: Case) -> None:
        case.file_complaint(
            complaint_id=self.complaint_id,
            complainant=self.complainant,
            summary=self.summary,
            level=self.level,
            skip_reason=self.skip_reason,
        )


@dataclass(frozen=True, kw_only=True)
class AssignComplaintSupport(CaseCommand):
    permission = Permission.COMPLAINT_SUPPORT
    complaint_id: UUID
    user_id: str
    support_role: str

    def with_people(self, people: PersonLookup, case: Case) -> AssignComplaintSupport:
        """The supporter takes the support role's part: the complaint handler is the
        complaint's level's decider (directie, bestuur), the confidential advisor a
        vertrouwenspersoon (:mod:`services.people.parts`)."""
        support = choice(ComplaintSupportRole, self.support_role, "support_role")
        complaint = case.complaint(self.complaint_id)
        named = check_person(
            people,
            self.user_id,
            "user_id",
            SUPPORT_PARTS[support],
            complaint_level=complaint.level,
        )
        return replace(self, user_id=named.id)

    def execute(self, case: Case) -> None:
        case.assign_complaint_support(
            complaint_id=self.complaint_id, user_id=self.user_id, support_role=self.support_role
        )


@dataclass(frozen=True, kw_only=True)
class EscalateComplaint(CaseCommand):
    permission = Permission.COMPLAINT_ESCALATE
    complaint_id: UUID
    to_level: str
    reason: str
    skip_reason: str = ""

    def execute(self, case: Case) -> None:
        case.escalate_complaint(
            complaint_id=self.complaint_id,
            to_level=self.to_level,
            reason=self.reason,
            skip_reason=self.skip_reason,
        )


@dataclass(frozen=True, kw_only=True)
class DecideComplaint(CaseCommand):
    permission = Permission.COMPLAINT_DECIDE
    complaint_id: UUID
    outcome: str
    summary: str

    def authorize_on(self, actor: Actor, case: Case) -> None:
        """Only the level's own decider records the decision (``COMPLAINT_DECIDERS``): directie
        at level 1, bestuur at level 2 and, on the klachtencommissie's advice, at the committee."""
        level = case.complaint(self.complaint_id).level
        if not may_complain_at_level(actor.role, level):
            deciders = sorted(COMPLAINT_DECIDERS.get(ComplaintLevel(level), frozenset()))
            msg = (
                f"role '{actor.role}' does not decide complaints at level '{level}': "
                + " or ".join(f"'{r}'" for r in deciders)
                + (" decides" if len(deciders) == 1 else " decide")
                + (" on the committee's advice" if level == ComplaintLevel.COMMITTEE else "")
            )
            raise PermissionDenied(
                msg,
                reason="other_decider",
                details={"level": level, "deciders": [str(r) for r in deciders]},
            )

    def execute(self, case: Case) -> None:
        case.decide_complaint(
            complaint_id=self.complaint_id, outcome=self.outcome, summary=self.summary
        )


@dataclass(frozen=True, kw_only=True)
class WithdrawComplaint(CaseCommand):
    permission = Permission.COMPLAINT_WITHDRAW
    complaint_id: UUID
    reason: str = ""

    def execute(self, case: Case) -> None:
        case.withdraw_complaint(complaint_id=self.complaint_id, reason=self.reason)
