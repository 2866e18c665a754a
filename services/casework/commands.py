"""The contact person's use cases, one command each (names are part of the contract).

A command names the case, optionally the version it was made against (a stale version is
refused), the permission it needs, and the one aggregate method it calls. The handler in
:mod:`services.casework.handlers` does the rest: load, authorize, execute, save. Commands with
dates pass the school's day (:func:`services.shared.clock.school_today`, set by the handler from
its clock) to the aggregate, which checks the dates against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import ClassVar
from uuid import UUID, uuid4

from services.access.roles import Permission
from services.casework import rules
from services.casework.domain import Case, choice
from services.casework.protocol import add_school_days
from services.casework.vocabulary import CURRENT_INCIDENT_LIST, ParticipantRole
from services.people.lookup import PersonLookup, check_person
from services.people.parts import Part
from services.pupils.domain import PupilDetails
from services.pupils.register import PupilRegister
from services.shared.actor import Actor
from services.shared.clock import school_today
from services.shared.errors import InvalidInput


@dataclass(frozen=True, kw_only=True)
class ReportCase:
    """A new report (melding). Creates the case; the reporter's school is given by the handler."""

    permission: ClassVar[Permission] = Permission.CASE_REPORT
    reporter_kind: str
    summary: str
    owner_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CaseCommand:
    """A command on an existing case."""

    permission: ClassVar[Permission]
    case_id: UUID
    expected_version: int | None = None

    def authorize_on(self, actor: Actor, case: Case) -> None:
        """Extra checks beyond the permission table (override where a rule needs the case)."""

    def with_people(self, people: PersonLookup, case: Case) -> CaseCommand:  # noqa: ARG002
        """The command with every person it names checked against the school's staff
        directory (:func:`~services.people.lookup.check_person`: unknown, deactivated, another
        school's, or a role that cannot take the part is refused, naming the field) and written
        in canonical form. Commands that name nobody return themselves."""
        return self

    def execute(self, case: Case) -> None:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class AssignOwner(CaseCommand):
    permission = Permission.CASE_MANAGE
    owner_id: str

    def with_people(self, people: PersonLookup, case: Case) -> AssignOwner:  # noqa: ARG002
        owner = check_person(people, self.owner_id, "owner_id", Part.CASE_OWNER)
        return replace(self, owner_id=owner.id)

    def execute(self, case: Case) -> None:
        case.assign_owner(self.owner_id)


@dataclass(frozen=True, kw_only=True)
class AddParticipant(CaseCommand):
    """A pupil takes part in the case, in ``role``: a pupil of the school's register
    (``pupil_id``), or one added on the spot (``pupil_ref`` with name and group: linked to the
    register's pupil with that number, or registered). See :meth:`with_pupil`."""

    permission = Permission.CASE_MANAGE
    pupil_ref: str = ""
    role: str
    display_name: str = ""
    group: str = ""
    pupil_id: str = ""
    participant_id: UUID = field(default_factory=uuid4)
    #: Set by :meth:`with_pupil`: the register's pupil (its number, name and group are copied).
    #: Not an input (the edge's bodies leave out fields marked ``internal``).
    linked: UUID | None = field(default=None, metadata={"internal": True})

    def with_pupil(self, register: PupilRegister, actor: Actor, case: Case) -> AddParticipant:
        """The command with its pupil found in (or added to) the school's register: an
        unknown, erased or other school's ``pupil_id`` is refused naming the field; without a
        register (``None``), the pupil stays a string of this case only."""
        if self.linked is not None:
            return self
        rules.case_must_be_open(case)
        choice(ParticipantRole, self.role, "role")
        by_id = bool(self.pupil_id.strip())
        if by_id:
            pupil = register.linkable(self.pupil_id, "pupil_id")
        else:
            pupil = register.for_participant(
                actor, PupilDetails(self.pupil_ref, self.display_name, self.group), "pupil_"
            )
        if any(p.pupil_id == pupil.id for p in case.participants.values()):
            msg = "this pupil is already a participant of the case"
            field_name = "pupil_id" if by_id else "pupil_ref"
            raise InvalidInput(msg, field=field_name, reason="duplicate")
        return replace(
            self,
            pupil_id=str(pupil.id),
            pupil_ref=pupil.reference,
            display_name=pupil.display_name,
            group=pupil.group,
            linked=pupil.id,
        )

    def execute(self, case: Case) -> None:
        case.add_participant(
            participant_id=self.participant_id,
            pupil_ref=self.pupil_ref,
            role=self.role,
            display_name=self.display_name,
            group=self.group,
            pupil_id=self.linked,
        )


@dataclass(frozen=True, kw_only=True)
class HoldIntake(CaseCommand):
    permission = Permission.CASE_MANAGE
    held_on: date
    summary: str

    def execute(self, case: Case) -> None:
        case.hold_intake(held_on=self.held_on, summary=self.summary, today=school_today())


@dataclass(frozen=True, kw_only=True)
class MapSituation(CaseCommand):
    permission = Permission.CASE_MANAGE
    forms: list[str]
    locations: list[str] = field(default_factory=list)
    since: date | None = None
    frequency: str
    impact: str
    description: str = ""

    def execute(self, case: Case) -> None:
        case.map_situation(
            forms=self.forms,
            locations=self.locations,
            since=self.since,
            frequency=self.frequency,
            impact=self.impact,
            description=self.description,
            today=school_today(),
        )


@dataclass(frozen=True, kw_only=True)
class DiscussSolutions(CaseCommand):
    permission = Permission.CASE_MANAGE
    desired: str
    possible: str = ""
    chosen_approach: str

    def execute(self, case: Case) -> None:
        case.discuss_solutions(
            desired=self.desired, possible=self.possible, chosen_approach=self.chosen_approach
        )


@dataclass(frozen=True, kw_only=True)
class GiveConsent(CaseCommand):
    permission = Permission.CASE_MANAGE
    given_by: str
    covers: list[str]
    consent_id: UUID = field(default_factory=uuid4)

    def execute(self, case: Case) -> None:
        case.give_consent(consent_id=self.consent_id, given_by=self.given_by, covers=self.covers)


@dataclass(frozen=True, kw_only=True)
class WithdrawConsent(CaseCommand):
    permission = Permission.CASE_MANAGE
    consent_id: UUID
    reason: str = ""

    def execute(self, case: Case) -> None:
        case.withdraw_consent(consent_id=self.consent_id, reason=self.reason)


@dataclass(frozen=True, kw_only=True)
class PlanStep(CaseCommand):
    permission = Permission.CASE_PLAN_STEPS
    kind: str
    description: str
    due_on: date | None = None
    assignee_id: str | None = None
    step_id: UUID = field(default_factory=uuid4)

    def with_people(self, people: PersonLookup, case: Case) -> PlanStep:  # noqa: ARG002
        if not self.assignee_id:
            return self
        assignee = check_person(people, self.assignee_id, "assignee_id", Part.STEP_ASSIGNEE)
        return replace(self, assignee_id=assignee.id)

    def execute(self, case: Case) -> None:
        case.plan_step(
            step_id=self.step_id,
            kind=self.kind,
            description=self.description,
            due_on=self.due_on,
            assignee_id=self.assignee_id,
            today=school_today(),
        )


@dataclass(frozen=True, kw_only=True)
class EngagePerson(CaseCommand):
    """Engage a colleague (a person id) for a step. ``staff_role``: the colleague's role at
    this school they are engaged in (one of theirs that can be engaged; empty: their first)."""

    permission = Permission.CASE_PLAN_STEPS
    step_id: UUID
    user_id: str
    staff_role: str = ""
    purpose: str = ""

    def with_people(self, people: PersonLookup, case: Case) -> EngagePerson:  # noqa: ARG002
        colleague = check_person(
            people,
            self.user_id,
            "user_id",
            Part.ENGAGED_COLLEAGUE,
            wanted_role=self.staff_role.strip(),
            role_field="staff_role",
        )
        return replace(self, user_id=colleague.id, staff_role=colleague.role.value)

    def execute(self, case: Case) -> None:
        case.engage_person(
            step_id=self.step_id,
            user_id=self.user_id,
            staff_role=self.staff_role,
            purpose=self.purpose,
        )


@dataclass(frozen=True, kw_only=True)
class CompleteStep(CaseCommand):
    permission = Permission.CASE_COMPLETE_STEP
    step_id: UUID
    outcome: str

    def execute(self, case: Case) -> None:
        case.complete_step(step_id=self.step_id, outcome=self.outcome)


@dataclass(frozen=True, kw_only=True)
class CancelStep(CaseCommand):
    permission = Permission.CASE_PLAN_STEPS
    step_id: UUID
    reason: str

    def execute(self, case: Case) -> None:
        case.cancel_step(step_id=self.step_id, reason=self.reason)


@dataclass(frozen=True, kw_only=True)
class FlagCriminalOffence(CaseCommand):
    permission = Permission.CASE_POLICE
    description: str

    def execute(self, case: Case) -> None:
        case.flag_criminal_offence(description=self.description)


@dataclass(frozen=True, kw_only=True)
class AdvisePoliceReport(CaseCommand):
    permission = Permission.CASE_POLICE
    advised_to: str
    note: str = ""

    def execute(self, case: Case) -> None:
        case.advise_police_report(advised_to=self.advised_to, note=self.note)


@dataclass(frozen=True, kw_only=True)
class RecordAgreement(CaseCommand):
    permission = Permission.CASE_AGREEMENTS
    text: str
    parties: str
    review_on: date | None = None
    agreement_id: UUID = field(default_factory=uuid4)

    def execute(self, case: Case) -> None:
        case.record_agreement(
            agreement_id=self.agreement_id,
            text=self.text,
            parties=self.parties,
            review_on=self.review_on,
            today=school_today(),
        )


@dataclass(frozen=True, kw_only=True)
class ScheduleFollowUp(CaseCommand):
    permission = Permission.CASE_AFTERCARE
    due_on: date
    follow_up_id: UUID = field(default_factory=uuid4)

    def execute(self, case: Case) -> None:
        case.schedule_follow_up(
            follow_up_id=self.follow_up_id, due_on=self.due_on, today=school_today()
        )


@dataclass(frozen=True, kw_only=True)
class CompleteFollowUp(CaseCommand):
    permission = Permission.CASE_AFTERCARE
    follow_up_id: UUID
    agreements_kept: bool
    bullying_stopped: bool
    pupil_feels_safe: bool
    notes: str = ""

    def execute(self, case: Case) -> None:
        case.complete_follow_up(
            follow_up_id=self.follow_up_id,
            agreements_kept=self.agreements_kept,
            bullying_stopped=self.bullying_stopped,
            pupil_feels_safe=self.pupil_feels_safe,
            notes=self.notes,
        )


@dataclass(frozen=True, kw_only=True)
class AddNote(CaseCommand):
    permission = Permission.CASE_ADD_NOTE
    text: str

    def execute(self, case: Case) -> None:
        case.add_note(text=self.text)


@dataclass(frozen=True, kw_only=True)
class RecordContact(CaseCommand):
    """A conversation, call, e-mail or letter with the pupil and/or parents (the contact log)."""

    permission = Permission.CASE_MANAGE
    with_whom: str
    channel: str
    held_on: date
    discussed: str
    agreed: str = ""
    pupil_present: bool = False
    contact_id: UUID = field(default_factory=uuid4)

    def execute(self, case: Case) -> None:
        case.record_contact(
            contact_id=self.contact_id,
            with_whom=self.with_whom,
            channel=self.channel,
            held_on=self.held_on,
            discussed=self.discussed,
            agreed=self.agreed,
            pupil_present=self.pupil_present,
            today=school_today(),
        )


@dataclass(frozen=True, kw_only=True)
class ReplyToReporter(CaseCommand):
    """The contact person answers the reporter of a public report (read by them with their
    follow-up code; issue 14 §3)."""

    permission = Permission.CASE_MANAGE
    text: str
    message_id: UUID = field(default_factory=uuid4)

    def execute(self, case: Case) -> None:
        case.post_reporter_message(message_id=self.message_id, sender="school", text=self.text)


@dataclass(frozen=True, kw_only=True)
class AddAttachment(CaseCommand):
    """Record an evidence file that ``services.attachments`` checked, scanned and stored (not
    an action of its own on the web: the upload route builds it)."""

    permission = Permission.CASE_ADD_NOTE
    attachment_id: UUID
    file_name: str
    media_type: str
    size: int
    sha256: str
    caption: str = ""

    def execute(self, case: Case) -> None:
        case.add_attachment(
            attachment_id=self.attachment_id,
            file_name=self.file_name,
            media_type=self.media_type,
            size=self.size,
            sha256=self.sha256,
            caption=self.caption,
        )


@dataclass(frozen=True, kw_only=True)
class EvaluateCase(CaseCommand):
    permission = Permission.CASE_EVALUATE
    went_well: str = ""
    to_improve: str = ""
    lessons: list[str] = field(default_factory=list)

    def execute(self, case: Case) -> None:
        case.evaluate(went_well=self.went_well, to_improve=self.to_improve, lessons=self.lessons)


@dataclass(frozen=True, kw_only=True)
class ShareLessons(CaseCommand):
    permission = Permission.CASE_EVALUATE
    coordinator_id: str

    def with_people(self, people: PersonLookup, case: Case) -> ShareLessons:  # noqa: ARG002
        coordinator = check_person(
            people, self.coordinator_id, "coordinator_id", Part.LESSONS_COORDINATOR
        )
        return replace(self, coordinator_id=coordinator.id)

    def execute(self, case: Case) -> None:
        case.share_lessons(coordinator_id=self.coordinator_id)


@dataclass(frozen=True, kw_only=True)
class CloseCase(CaseCommand):
    """Close the case. While a complaint is open, ``open_complaints_acknowledged`` must be true:
    the closer confirms that the complaint goes on after the case is closed."""

    permission = Permission.CASE_MANAGE
    reason: str
    explanation: str = ""
    open_complaints_acknowledged: bool = False

    def execute(self, case: Case) -> None:
        case.close(
            reason=self.reason,
            explanation=self.explanation,
            open_complaints_acknowledged=self.open_complaints_acknowledged,
        )


@dataclass(frozen=True, kw_only=True)
class ReopenCase(CaseCommand):
    permission = Permission.CASE_MANAGE
    reason: str

    def execute(self, case: Case) -> None:
        case.reopen(reason=self.reason)


@dataclass(frozen=True, kw_only=True)
class RequestErasure(CaseCommand):
    """Erase the pupils' identifying data of a case (right to erasure, AVG art. 17)."""

    permission = Permission.CASE_MANAGE
    reason: str

    def execute(self, case: Case) -> None:
        case.request_erasure(reason=self.reason)


@dataclass(frozen=True, kw_only=True)
class RedactPassages(CaseCommand):
    """Redact passages of free text that mention a pupil (their keys are destroyed), after the
    contact person saw each one in the erasure's passage list."""

    permission = Permission.CASE_MANAGE
    passages: list[str]
    reason: str
    replacement: str = ""

    def execute(self, case: Case) -> None:
        case.redact_passages(
            passages=list(self.passages), replacement=self.replacement, reason=self.reason
        )


#: School days a school has to report a serious incident to the Inspectie, unless the command
#: names another due day (the bill Wet vrij en veilig onderwijs asks for "zo spoedig mogelijk").
SERIOUS_INCIDENT_REPORT_SCHOOL_DAYS = 2


@dataclass(frozen=True, kw_only=True)
class CategoriseIncident(CaseCommand):
    """The case's incident categories (codes of the list ``list_version``; the whole set)."""

    permission = Permission.CASE_INCIDENTS
    categories: list[str]
    list_version: str = CURRENT_INCIDENT_LIST

    def execute(self, case: Case) -> None:
        case.categorise_incident(categories=self.categories, list_version=self.list_version)


@dataclass(frozen=True, kw_only=True)
class MarkSeriousIncident(CaseCommand):
    """Mark the case as a serious incident to report to the Inspectie. ``report_due_on``:
    when the report is due (default: two school days from today)."""

    permission = Permission.CASE_INCIDENTS
    report_due_on: date | None = None

    def execute(self, case: Case) -> None:
        today = school_today()
        due = self.report_due_on or add_school_days(today, SERIOUS_INCIDENT_REPORT_SCHOOL_DAYS)
        case.mark_serious_incident(report_due_on=due, today=today)


@dataclass(frozen=True, kw_only=True)
class RecordInspectieReport(CaseCommand):
    """The serious incident was reported to the Inspectie: the day, the channel and the
    Inspectie's reference (a short code; no names, no account of events)."""

    permission = Permission.CASE_INCIDENTS
    reported_on: date
    channel: str
    reference: str = ""

    def execute(self, case: Case) -> None:
        case.record_inspectie_report(
            reported_on=self.reported_on,
            channel=self.channel,
            reference=self.reference,
            today=school_today(),
        )
