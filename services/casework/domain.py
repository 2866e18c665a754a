"""The case (pestzaak) as an event-sourced aggregate.

Every public command method checks its rules first (see :mod:`services.casework.rules`) and then
calls one private ``@event`` method; that method's body is the only place state changes, and it
runs again, unchanged, when the case is replayed from its events. Event class names are a
permanent contract (DESIGN.md §3): never rename or reuse one; change a schema by raising its
``class_version`` and adding an ``upcast_vN_vN+1`` static method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.casework import rules
from services.casework.rules import Missing, StateReason
from services.casework.vocabulary import (
    INCIDENT_LISTS,
    CaseStatus,
    CloseReason,
    ComplaintLevel,
    ComplaintOutcome,
    ComplaintSupportRole,
    ConsentGiver,
    ContactChannel,
    ContactParty,
    Form,
    Frequency,
    Impact,
    IncidentCategory,
    Location,
    ParticipantRole,
    PoliceAdviceTo,
    ReportChannel,
    ReporterKind,
    StepKind,
)
from services.shared.actor import actor_id_now, actor_role_now
from services.shared.clock import event_timestamp
from services.shared.errors import InvalidInput, WrongState
from services.shared.text import clean_text

E = TypeVar("E", bound=StrEnum)

#: What a redacted passage reads as unless the contact person typed another text.
REDACTED = "[gewist]"

#: The Inspectie's reference of a report is a short code (a number, "IvhO-2026-1234"), never a
#: description: kept short so nobody writes a pupil's name or an account of events into it.
MAX_INSPECTIE_REFERENCE = 40


def choice(kind: type[E], value: str, field_name: str) -> E:
    """One value of a vocabulary, or a clear error listing the allowed values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        msg = f"{field_name} must be one of: {allowed}"
        raise InvalidInput(msg, field=field_name, reason="not_allowed") from None


def choices(kind: type[E], values: list[str], field_name: str, *, required: bool) -> list[str]:
    if isinstance(values, str):
        values = [values]
    picked = sorted({choice(kind, v, field_name).value for v in values})
    if required and not picked:
        msg = f"{field_name} needs at least one value"
        raise InvalidInput(msg, field=field_name, reason="required")
    return picked


# --- state held by the case (rebuilt from events, never stored on its own) -----------------


@dataclass
class Participant:
    pupil_ref: str
    display_name: str
    group: str
    role: str
    #: The pupil of the school's register (``None``: added before the register existed, or the
    #: link was erased with the case's pupil data).
    pupil_id: UUID | None = None


@dataclass
class Consent:
    given_by: str
    covers: frozenset[str]
    withdrawn: bool = False


@dataclass
class Step:
    kind: str
    description: str
    due_on: date | None
    assignee_id: str | None
    status: str = "planned"  # planned | completed | cancelled
    engaged: list[str] = field(default_factory=list)
    outcome: str = ""


@dataclass
class FollowUp:
    due_on: date
    completed: bool = False
    agreements_kept: bool | None = None
    bullying_stopped: bool | None = None
    pupil_feels_safe: bool | None = None
    superseded: bool = False  # completed before the case was reopened: no longer counts


@dataclass
class Attachment:
    """An evidence file on the case; the file itself is stored encrypted outside the log."""

    file_name: str
    media_type: str
    size: int
    caption: str


@dataclass
class Complaint:
    level: str
    complainant: str
    status: str = "open"  # open | decided | withdrawn
    support: dict[str, str] = field(default_factory=dict)  # user id -> support role
    outcome: str = ""


class Case(Aggregate):
    """One bullying case at one school, from report to closing (and reopening)."""

    class Event(Aggregate.Event):
        """Base of every case event: who acted, in which role (the timestamp is the library's,
        timezone-aware UTC)."""

        actor_id: str = field(default_factory=actor_id_now, init=False)
        actor_role: str = field(default_factory=actor_role_now, init=False)
        class_version = 1

        #: The real time, except while a demo or test handler seeds history (SeedClock).
        create_timestamp = staticmethod(event_timestamp)

    # --- the event catalogue ------------------------------------------------------------

    class CaseReported(Event, Aggregate.Created):
        school_id: UUID
        reporter_kind: str
        summary: str
        owner_id: str | None

    class OwnerAssigned(Event):
        owner_id: str

    class ParticipantAdded(Event):
        """A pupil takes part in the case. ``pupil_id``: the pupil's record in the school's
        register (version 2; ``None`` for participants added before the register existed). The
        pupil's number, name and group are copied from the register as they were then."""

        participant_id: UUID
        pupil_ref: str
        display_name: str
        group: str
        role: str
        pupil_id: UUID | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["pupil_id"] = None

    class IntakeHeld(Event):
        held_on: date
        summary: str

    class SituationMapped(Event):
        forms: list[str]
        locations: list[str]
        since: date | None
        frequency: str
        impact: str
        description: str

    class SolutionsDiscussed(Event):
        desired: str
        possible: str
        chosen_approach: str

    class ConsentGiven(Event):
        consent_id: UUID
        given_by: str
        covers: list[str]

    class ConsentWithdrawn(Event):
        consent_id: UUID
        reason: str

    class StepPlanned(Event):
        step_id: UUID
        kind: str
        description: str
        due_on: date | None
        assignee_id: str | None

    class PersonEngaged(Event):
        step_id: UUID
        user_id: str
        staff_role: str
        purpose: str

    class StepCompleted(Event):
        step_id: UUID
        outcome: str

    class StepCancelled(Event):
        step_id: UUID
        reason: str

    class CriminalOffenceFlagged(Event):
        description: str

    class PoliceReportAdvised(Event):
        advised_to: str
        note: str

    class AgreementRecorded(Event):
        agreement_id: UUID
        text: str
        parties: str
        review_on: date | None

    class FollowUpScheduled(Event):
        follow_up_id: UUID
        due_on: date

    class FollowUpCompleted(Event):
        follow_up_id: UUID
        agreements_kept: bool
        bullying_stopped: bool
        pupil_feels_safe: bool
        notes: str

    class NoteAdded(Event):
        text: str

    class ReporterAccessIssued(Event):
        """The case came in through the school's public report form ("Pesten melden", issue 14
        §3): the reporter got a follow-up code. Only its keyed hash is kept (never the code)."""

        code_hash: str

    class ReporterMessagePosted(Event):
        """A message between the reporter (with their follow-up code) and the school."""

        message_id: UUID
        sender: str  # "reporter" or "school"
        text: str

    class ContactRecorded(Event):
        """A conversation, call, e-mail or letter with the pupil and/or the parents: who, when,
        how, what was discussed and agreed, whether the pupil was there (issue 14 §2)."""

        contact_id: UUID
        with_whom: str
        channel: str
        held_on: date
        discussed: str
        agreed: str
        pupil_present: bool

    class AttachmentAdded(Event):
        """An evidence file (screenshot, photo, document) was added. The file is not in the log:
        it is stored encrypted under a key destroyed with the case's pupil data (issue 14)."""

        attachment_id: UUID
        file_name: str
        media_type: str
        size: int
        sha256: str
        caption: str

    class ComplaintProcedureExplained(Event):
        explained_to: str

    class ComplaintFiled(Event):
        complaint_id: UUID
        level: str
        complainant: str
        summary: str
        skip_reason: str

    class ComplaintSupportAssigned(Event):
        complaint_id: UUID
        user_id: str
        support_role: str

    class ComplaintEscalated(Event):
        complaint_id: UUID
        from_level: str
        to_level: str
        reason: str
        skip_reason: str

    class ComplaintDecided(Event):
        complaint_id: UUID
        level: str
        outcome: str
        summary: str

    class ComplaintWithdrawn(Event):
        complaint_id: UUID
        reason: str

    class CaseEvaluated(Event):
        went_well: str
        to_improve: str
        lessons: list[str]

    class LessonsShared(Event):
        coordinator_id: str

    class CaseClosed(Event):
        reason: str
        explanation: str

    class CaseReopened(Event):
        reason: str

    class IncidentCategorised(Event):
        """The case's incident categories (codes of version ``list_version`` of the list):
        the whole set, replacing an earlier one."""

        list_version: str
        categories: list[str]

    class SeriousIncidentMarked(Event):
        """The case is a serious incident the school must report to the Inspectie by
        ``report_due_on``."""

        report_due_on: date

    class InspectieReportRecorded(Event):
        """The school reported the serious incident to the Inspectie: when, how, and the
        Inspectie's reference (no personal data: the reference identifies the report only)."""

        reported_on: date
        channel: str
        reference: str

    class ErasureRequested(Event):
        """The pupils' identifying data of this case is to be erased (an erasure request, or the
        school's retention period ran out). Storage destroys the participants' keys when it saves
        this event (:mod:`services.casework.sealing`)."""

        reason: str

    class PassagesRedacted(Event):
        """Passages of free text that mention a pupil were redacted (the contact person confirmed
        each one): storage destroys their keys when it saves this event, and they read as
        ``replacement`` from then on. ``passages`` are the sealed passages' key ids (hex)."""

        passages: list[str]
        replacement: str
        reason: str

    # --- creation ------------------------------------------------------------------------

    @classmethod
    def report(
        cls,
        *,
        school_id: UUID,
        reporter_kind: str,
        summary: str,
        owner_id: str | None = None,
        case_id: UUID | None = None,
    ) -> Case:
        """A report (melding) was received. ``case_id``: the id the case must have (a public
        report's is derived from its follow-up code); a new random one otherwise."""
        # ``_create`` is the library's way to give a new aggregate a chosen id (``id=None``:
        # ``create_id``, a random UUID); ``__init__`` runs from the event as always.
        return cls._create(
            cls.CaseReported,
            id=case_id,
            school_id=school_id,
            reporter_kind=choice(ReporterKind, reporter_kind, "reporter_kind").value,
            summary=rules.text(summary, "summary"),
            owner_id=rules.text(owner_id or "", "owner_id", required=False) or None,
        )

    @event(CaseReported)
    def __init__(
        self, *, school_id: UUID, reporter_kind: str, summary: str, owner_id: str | None
    ) -> None:
        self.school_id = school_id
        self.reporter_kind = reporter_kind
        self.summary = summary
        self.owner_id = owner_id
        self.status = CaseStatus.REPORTED
        self.participants: dict[UUID, Participant] = {}
        self.intake_held_on: date | None = None
        self.situation: dict[str, Any] | None = None
        self.solutions: dict[str, str] | None = None
        self.consents: dict[UUID, Consent] = {}
        self.steps: dict[UUID, Step] = {}
        self.engaged_user_ids: set[str] = set()
        self.offence_flagged = False
        self.police_advised = False
        self.agreements: dict[UUID, str] = {}
        self.follow_ups: dict[UUID, FollowUp] = {}
        self.notes = 0
        self.attachments: dict[UUID, Attachment] = {}
        self.contacts: set[UUID] = set()
        self.reporter_code_hash: str | None = None
        self.reporter_messages: list[tuple[str, str]] = []  # (sender, text), in order
        self.complaint_explained = False
        self.complaints: dict[UUID, Complaint] = {}
        self.evaluated = False
        self.lessons: list[str] = []
        self.lessons_shared = False
        self.close_reason: str | None = None
        self.reopened = 0
        self.pupil_data_erased = False
        self.redacted_passages: set[str] = set()
        self.incident_list_version: str | None = None
        self.incident_categories: list[str] = []
        self.serious_incident = False
        self.inspectie_report_due_on: date | None = None
        self.inspectie_reported_on: date | None = None

    # --- derived state used by the rules ------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.status is CaseStatus.CLOSED

    @property
    def latest_aftercare(self) -> FollowUp | None:
        """The follow-up recorded last that still counts (not superseded by a reopening)."""
        done = [f for f in self.follow_ups.values() if f.completed and not f.superseded]
        return done[-1] if done else None

    @property
    def aftercare_found_bullying_stopped(self) -> bool:
        """The latest completed follow-up found the bullying stopped."""
        latest = self.latest_aftercare
        return latest is not None and bool(latest.bullying_stopped)

    @property
    def aftercare_found_bullying_continues(self) -> bool:
        """The latest completed follow-up found the bullying had NOT stopped."""
        latest = self.latest_aftercare
        return latest is not None and latest.bullying_stopped is False

    @property
    def open_complaints(self) -> dict[UUID, Complaint]:
        """The complaints still open (at any level), in the order they were filed."""
        return {cid: c for cid, c in self.complaints.items() if c.status == "open"}

    def step(self, step_id: UUID) -> Step:
        try:
            return self.steps[step_id]
        except KeyError:
            msg = f"case {self.id} has no step {step_id}"
            raise InvalidInput(msg) from None

    def open_step(self, step_id: UUID) -> Step:
        step = self.step(step_id)
        if step.status != "planned":
            msg = f"step {step_id} is already {step.status}"
            reason = (
                StateReason.STEP_COMPLETED
                if step.status == "completed"
                else StateReason.STEP_CANCELLED
            )
            raise WrongState(msg, reason=reason, details={"step_id": str(step_id)})
        return step

    def complaint(self, complaint_id: UUID) -> Complaint:
        try:
            complaint = self.complaints[complaint_id]
        except KeyError:
            msg = f"case {self.id} has no complaint {complaint_id}"
            raise InvalidInput(msg) from None
        return complaint

    def open_complaint(self, complaint_id: UUID) -> Complaint:
        complaint = self.complaint(complaint_id)
        if complaint.status != "open":
            msg = f"complaint {complaint_id} is already {complaint.status}"
            reason = (
                StateReason.COMPLAINT_DECIDED
                if complaint.status == "decided"
                else StateReason.COMPLAINT_WITHDRAWN
            )
            raise WrongState(
                msg,
                reason=reason,
                details={"complaint_id": str(complaint_id), "level": complaint.level},
            )
        return complaint

    def is_engaged(self, *user_ids: str) -> bool:
        """Whether any of ``user_ids`` (a person id; before the staff directory, a login
        subject) was engaged in this case."""
        return any(user_id in self.engaged_user_ids for user_id in user_ids)

    # --- intake and mapping ---------------------------------------------------------------

    def assign_owner(self, owner_id: str) -> None:
        rules.case_must_be_open(self)
        self._assign_owner(owner_id=rules.text(owner_id, "owner_id"))

    @event(OwnerAssigned)
    def _assign_owner(self, owner_id: str) -> None:
        self.owner_id = owner_id

    def add_participant(
        self,
        *,
        participant_id: UUID,
        pupil_ref: str,
        role: str,
        display_name: str = "",
        group: str = "",
        pupil_id: UUID | None = None,
    ) -> None:
        """A pupil takes part, in ``role``; ``pupil_id``: their record in the register (the
        other fields then are the register's, checked by the command handler)."""
        rules.case_must_be_open(self)
        pupil_ref = rules.text(pupil_ref, "pupil_ref")
        role = choice(ParticipantRole, role, "role").value
        if participant_id in self.participants:
            msg = f"participant {participant_id} already exists"
            raise InvalidInput(msg)
        if pupil_id is not None and any(p.pupil_id == pupil_id for p in self.participants.values()):
            msg = "this pupil is already a participant of the case"
            raise InvalidInput(msg, field="pupil_id", reason="duplicate")
        if any(p.pupil_ref == pupil_ref for p in self.participants.values()):
            msg = "this pupil is already a participant of the case"
            raise InvalidInput(msg, field="pupil_ref", reason="duplicate")
        self._add_participant(
            participant_id=participant_id,
            pupil_ref=pupil_ref,
            display_name=rules.text(display_name, "display_name", required=False),
            group=rules.text(group, "group", required=False),
            role=role,
            pupil_id=pupil_id,
        )

    @event(ParticipantAdded)
    def _add_participant(
        self,
        participant_id: UUID,
        pupil_ref: str,
        display_name: str,
        group: str,
        role: str,
        pupil_id: UUID | None,
    ) -> None:
        self.participants[participant_id] = Participant(
            pupil_ref, display_name, group, role, pupil_id
        )
        self.pupil_data_erased = False

    def hold_intake(self, *, held_on: date, summary: str, today: date) -> None:
        """The intake (opvanggesprek) was held on ``held_on`` (not after ``today``)."""
        rules.case_must_be_open(self)
        if self.intake_held_on is not None:
            msg = f"the intake of case {self.id} was already recorded"
            raise WrongState(msg, reason=StateReason.INTAKE_RECORDED)
        day = rules.happened_on(held_on, "held_on", today=today)
        assert day is not None  # required
        self._hold_intake(held_on=day, summary=rules.text(summary, "summary"))

    @event(IntakeHeld)
    def _hold_intake(self, held_on: date, summary: str) -> None:
        self.intake_held_on = held_on
        self.status = CaseStatus.IN_PROGRESS

    def map_situation(
        self,
        *,
        forms: list[str],
        locations: list[str],
        since: date | None,
        frequency: str,
        impact: str,
        description: str = "",
        today: date,
    ) -> None:
        """The situation as mapped; ``since`` (optional) is not after ``today``."""
        rules.case_must_be_open(self)
        self._map_situation(
            forms=choices(Form, forms, "forms", required=True),
            locations=choices(Location, locations, "locations", required=False),
            since=rules.happened_on(since, "since", today=today, required=False),
            frequency=choice(Frequency, frequency, "frequency").value,
            impact=choice(Impact, impact, "impact").value,
            description=rules.text(description, "description", required=False),
        )

    @event(SituationMapped)
    def _map_situation(
        self,
        forms: list[str],
        locations: list[str],
        since: date | None,
        frequency: str,
        impact: str,
        description: str,
    ) -> None:
        self.situation = {
            "forms": forms,
            "locations": locations,
            "since": since,
            "frequency": frequency,
            "impact": impact,
        }

    def discuss_solutions(self, *, desired: str, possible: str, chosen_approach: str) -> None:
        rules.case_must_be_open(self)
        self._discuss_solutions(
            desired=rules.text(desired, "desired"),
            possible=rules.text(possible, "possible", required=False),
            chosen_approach=rules.text(chosen_approach, "chosen_approach"),
        )

    @event(SolutionsDiscussed)
    def _discuss_solutions(self, desired: str, possible: str, chosen_approach: str) -> None:
        self.solutions = {"desired": desired, "possible": possible, "chosen": chosen_approach}

    # --- consent and steps -------------------------------------------------------------------

    def give_consent(self, *, consent_id: UUID, given_by: str, covers: list[str]) -> None:
        """The pupil (and/or parents) know about these kinds of steps and are ready for them."""
        rules.case_must_be_open(self)
        if consent_id in self.consents:
            # Re-using an id would silently replace (or un-withdraw) a recorded consent.
            msg = f"consent {consent_id} already exists"
            raise InvalidInput(msg)
        self._give_consent(
            consent_id=consent_id,
            given_by=choice(ConsentGiver, given_by, "given_by").value,
            covers=choices(StepKind, covers, "covers", required=True),
        )

    @event(ConsentGiven)
    def _give_consent(self, consent_id: UUID, given_by: str, covers: list[str]) -> None:
        self.consents[consent_id] = Consent(given_by, frozenset(covers))

    def withdraw_consent(self, *, consent_id: UUID, reason: str = "") -> None:
        rules.case_must_be_open(self)
        consent = self.consents.get(consent_id)
        if consent is None:
            msg = f"case {self.id} has no consent {consent_id}"
            raise InvalidInput(msg)
        if consent.withdrawn:
            msg = f"consent {consent_id} was already withdrawn"
            raise WrongState(
                msg, reason=StateReason.CONSENT_WITHDRAWN, details={"consent_id": str(consent_id)}
            )
        self._withdraw_consent(
            consent_id=consent_id, reason=rules.text(reason, "reason", required=False)
        )

    @event(ConsentWithdrawn)
    def _withdraw_consent(self, consent_id: UUID, reason: str) -> None:
        self.consents[consent_id].withdrawn = True

    def plan_step(
        self,
        *,
        step_id: UUID,
        kind: str,
        description: str,
        due_on: date | None = None,
        assignee_id: str | None = None,
        today: date,
    ) -> None:
        rules.case_must_be_open(self)
        step_kind = choice(StepKind, kind, "kind")
        rules.consent_must_cover_step(self, step_kind)
        if step_id in self.steps:
            msg = f"step {step_id} already exists"
            raise InvalidInput(msg)
        self._plan_step(
            step_id=step_id,
            kind=step_kind.value,
            description=rules.text(description, "description"),
            due_on=rules.due_date(due_on, "due_on", today=today, required=False),
            assignee_id=rules.text(assignee_id or "", "assignee_id", required=False) or None,
        )

    @event(StepPlanned)
    def _plan_step(
        self,
        step_id: UUID,
        kind: str,
        description: str,
        due_on: date | None,
        assignee_id: str | None,
    ) -> None:
        self.steps[step_id] = Step(kind, description, due_on, assignee_id)

    def engage_person(
        self, *, step_id: UUID, user_id: str, staff_role: str, purpose: str = ""
    ) -> None:
        """Engage a colleague for a planned step; they may then act on this case only."""
        rules.case_must_be_open(self)
        step = self.open_step(step_id)
        rules.consent_must_cover_step(self, StepKind(step.kind))
        self._engage_person(
            step_id=step_id,
            user_id=rules.text(user_id, "user_id"),
            staff_role=rules.text(staff_role, "staff_role"),
            purpose=rules.text(purpose, "purpose", required=False),
        )

    @event(PersonEngaged)
    def _engage_person(self, step_id: UUID, user_id: str, staff_role: str, purpose: str) -> None:
        self.steps[step_id].engaged.append(user_id)
        self.engaged_user_ids.add(user_id)

    def complete_step(self, *, step_id: UUID, outcome: str) -> None:
        rules.case_must_be_open(self)
        step = self.open_step(step_id)
        rules.consent_must_cover_step(self, StepKind(step.kind))
        self._complete_step(step_id=step_id, outcome=rules.text(outcome, "outcome"))

    @event(StepCompleted)
    def _complete_step(self, step_id: UUID, outcome: str) -> None:
        self.steps[step_id].status = "completed"
        self.steps[step_id].outcome = outcome

    def cancel_step(self, *, step_id: UUID, reason: str) -> None:
        rules.case_must_be_open(self)
        self.open_step(step_id)
        self._cancel_step(step_id=step_id, reason=rules.text(reason, "reason"))

    @event(StepCancelled)
    def _cancel_step(self, step_id: UUID, reason: str) -> None:
        self.steps[step_id].status = "cancelled"

    # --- criminal offences ------------------------------------------------------------------

    def flag_criminal_offence(self, *, description: str) -> None:
        rules.case_must_be_open(self)
        self._flag_criminal_offence(description=rules.text(description, "description"))

    @event(CriminalOffenceFlagged)
    def _flag_criminal_offence(self, description: str) -> None:
        self.offence_flagged = True

    def advise_police_report(self, *, advised_to: str, note: str = "") -> None:
        """Advise the parents, or the pupil of age, to report to the police (seed task 1)."""
        rules.case_must_be_open(self)
        rules.police_advice_needs_offence(self)
        self._advise_police_report(
            advised_to=choice(PoliceAdviceTo, advised_to, "advised_to").value,
            note=rules.text(note, "note", required=False),
        )

    @event(PoliceReportAdvised)
    def _advise_police_report(self, advised_to: str, note: str) -> None:
        self.police_advised = True

    # --- agreements and aftercare ---------------------------------------------------------

    def record_agreement(
        self,
        *,
        agreement_id: UUID,
        text: str,
        parties: str,
        review_on: date | None = None,
        today: date,
    ) -> None:
        rules.case_must_be_open(self)
        if agreement_id in self.agreements:
            msg = f"agreement {agreement_id} already exists"
            raise InvalidInput(msg)
        self._record_agreement(
            agreement_id=agreement_id,
            text=rules.text(text, "text"),
            parties=rules.text(parties, "parties"),
            review_on=rules.due_date(review_on, "review_on", today=today, required=False),
        )

    @event(AgreementRecorded)
    def _record_agreement(
        self, agreement_id: UUID, text: str, parties: str, review_on: date | None
    ) -> None:
        self.agreements[agreement_id] = text

    def schedule_follow_up(self, *, follow_up_id: UUID, due_on: date, today: date) -> None:
        rules.case_must_be_open(self)
        day = rules.due_date(due_on, "due_on", today=today)
        assert day is not None  # required
        if follow_up_id in self.follow_ups:
            # Re-using an id would erase a recorded aftercare result (invariant 4).
            msg = f"follow-up {follow_up_id} already exists"
            raise InvalidInput(msg)
        self._schedule_follow_up(follow_up_id=follow_up_id, due_on=day)

    @event(FollowUpScheduled)
    def _schedule_follow_up(self, follow_up_id: UUID, due_on: date) -> None:
        self.follow_ups[follow_up_id] = FollowUp(due_on)

    def complete_follow_up(
        self,
        *,
        follow_up_id: UUID,
        agreements_kept: bool,
        bullying_stopped: bool,
        pupil_feels_safe: bool,
        notes: str = "",
    ) -> None:
        """Aftercare (nazorg): were the agreements kept, did the bullying stop, is the pupil
        safe?"""
        rules.case_must_be_open(self)
        follow_up = self.follow_ups.get(follow_up_id)
        if follow_up is None:
            msg = f"case {self.id} has no follow-up {follow_up_id}"
            raise InvalidInput(msg)
        if follow_up.completed:
            msg = f"follow-up {follow_up_id} was already recorded"
            raise WrongState(
                msg,
                reason=StateReason.FOLLOW_UP_RECORDED,
                details={"follow_up_id": str(follow_up_id)},
            )
        self._complete_follow_up(
            follow_up_id=follow_up_id,
            agreements_kept=bool(agreements_kept),
            bullying_stopped=bool(bullying_stopped),
            pupil_feels_safe=bool(pupil_feels_safe),
            notes=rules.text(notes, "notes", required=False),
        )

    @event(FollowUpCompleted)
    def _complete_follow_up(
        self,
        follow_up_id: UUID,
        agreements_kept: bool,
        bullying_stopped: bool,
        pupil_feels_safe: bool,
        notes: str,
    ) -> None:
        f = self.follow_ups.pop(follow_up_id)  # re-insert: completion order decides "latest"
        f.completed = True
        f.agreements_kept = agreements_kept
        f.bullying_stopped = bullying_stopped
        f.pupil_feels_safe = pupil_feels_safe
        self.follow_ups[follow_up_id] = f

    def add_note(self, *, text: str) -> None:
        rules.case_must_be_open(self)
        self._add_note(text=rules.text(text, "text"))

    @event(NoteAdded)
    def _add_note(self, text: str) -> None:
        self.notes += 1

    def issue_reporter_access(self, *, code_hash: str) -> None:
        """Give the public reporter their follow-up code (only once, on a new report)."""
        if self.reporter_code_hash is not None:
            msg = f"case {self.id} already has a reporter's follow-up code"
            raise WrongState(msg)
        if not code_hash:
            msg = "a follow-up code's hash is required"
            raise InvalidInput(msg, field="code_hash")
        self._issue_reporter_access(code_hash=code_hash)

    @event(ReporterAccessIssued)
    def _issue_reporter_access(self, code_hash: str) -> None:
        self.reporter_code_hash = code_hash

    def post_reporter_message(self, *, message_id: UUID, sender: str, text: str) -> None:
        """A message from the reporter or to them, on a case that came in through the public
        form and is still open."""
        rules.case_must_be_open(self)
        if self.reporter_code_hash is None:
            msg = f"case {self.id} was not reported through the public form: nobody to write to"
            raise WrongState(msg)
        if sender not in ("reporter", "school"):
            msg = "sender must be 'reporter' or 'school'"
            raise InvalidInput(msg, field="sender")
        self._post_reporter_message(
            message_id=message_id, sender=sender, text=rules.text(text, "text")
        )

    @event(ReporterMessagePosted)
    def _post_reporter_message(self, message_id: UUID, sender: str, text: str) -> None:
        self.reporter_messages.append((sender, text))

    def record_contact(
        self,
        *,
        contact_id: UUID,
        with_whom: str,
        channel: str,
        held_on: date,
        discussed: str,
        agreed: str = "",
        pupil_present: bool = False,
        today: date,
    ) -> None:
        """Contact with the pupil and/or parents, on ``held_on`` (not after ``today``). The
        pupil is present by definition when the contact was with the pupil."""
        rules.case_must_be_open(self)
        if contact_id in self.contacts:
            msg = f"contact {contact_id} already exists"
            raise InvalidInput(msg)
        party = choice(ContactParty, with_whom, "with_whom")
        day = rules.happened_on(held_on, "held_on", today=today)
        assert day is not None  # required
        self._record_contact(
            contact_id=contact_id,
            with_whom=party.value,
            channel=choice(ContactChannel, channel, "channel").value,
            held_on=day,
            discussed=rules.text(discussed, "discussed"),
            agreed=rules.text(agreed, "agreed", required=False),
            pupil_present=party is not ContactParty.PARENTS or pupil_present is True,
        )

    @event(ContactRecorded)
    def _record_contact(
        self,
        contact_id: UUID,
        with_whom: str,
        channel: str,
        held_on: date,
        discussed: str,
        agreed: str,
        pupil_present: bool,
    ) -> None:
        self.contacts.add(contact_id)

    def add_attachment(
        self,
        *,
        attachment_id: UUID,
        file_name: str,
        media_type: str,
        size: int,
        sha256: str,
        caption: str = "",
    ) -> None:
        """An evidence file, already checked and stored (``services.attachments``)."""
        rules.case_must_be_open(self)
        if attachment_id in self.attachments:
            msg = f"attachment {attachment_id} already exists"
            raise InvalidInput(msg)
        if size < 1 or not re.fullmatch(r"[0-9a-f]{64}", sha256):
            msg = "an attachment needs its size and SHA-256"
            raise InvalidInput(msg, field="file", reason="invalid")
        self._add_attachment(
            attachment_id=attachment_id,
            file_name=rules.text(file_name, "file_name"),
            media_type=rules.text(media_type, "media_type"),
            size=size,
            sha256=sha256,
            caption=rules.text(caption, "caption", required=False),
        )

    @event(AttachmentAdded)
    def _add_attachment(
        self,
        attachment_id: UUID,
        file_name: str,
        media_type: str,
        size: int,
        sha256: str,
        caption: str,
    ) -> None:
        self.attachments[attachment_id] = Attachment(file_name, media_type, size, caption)

    # --- complaints (allowed after closing too) ---------------------------------------------

    def explain_complaint_procedure(self, *, explained_to: str) -> None:
        self._explain_complaint_procedure(explained_to=rules.text(explained_to, "explained_to"))

    @event(ComplaintProcedureExplained)
    def _explain_complaint_procedure(self, explained_to: str) -> None:
        self.complaint_explained = True

    def file_complaint(
        self,
        *,
        complaint_id: UUID,
        complainant: str,
        summary: str,
        level: str = ComplaintLevel.MANAGEMENT,
        skip_reason: str = "",
    ) -> None:
        to_level = choice(ComplaintLevel, level, "level")
        rules.complaint_level_must_rise(None, to_level, skip_reason)
        if complaint_id in self.complaints:
            msg = f"complaint {complaint_id} already exists"
            raise InvalidInput(msg)
        self._file_complaint(
            complaint_id=complaint_id,
            level=to_level.value,
            complainant=rules.text(complainant, "complainant"),
            summary=rules.text(summary, "summary"),
            skip_reason=rules.text(skip_reason, "skip_reason", required=False),
        )

    @event(ComplaintFiled)
    def _file_complaint(
        self, complaint_id: UUID, level: str, complainant: str, summary: str, skip_reason: str
    ) -> None:
        self.complaints[complaint_id] = Complaint(level, complainant)

    def assign_complaint_support(
        self, *, complaint_id: UUID, user_id: str, support_role: str
    ) -> None:
        self.open_complaint(complaint_id)
        self._assign_complaint_support(
            complaint_id=complaint_id,
            user_id=rules.text(user_id, "user_id"),
            support_role=choice(ComplaintSupportRole, support_role, "support_role").value,
        )

    @event(ComplaintSupportAssigned)
    def _assign_complaint_support(
        self, complaint_id: UUID, user_id: str, support_role: str
    ) -> None:
        self.complaints[complaint_id].support[user_id] = support_role

    def escalate_complaint(
        self, *, complaint_id: UUID, to_level: str, reason: str, skip_reason: str = ""
    ) -> None:
        complaint = self.complaint(complaint_id)
        if complaint.status == "withdrawn":
            msg = f"complaint {complaint_id} was withdrawn"
            raise WrongState(
                msg,
                reason=StateReason.COMPLAINT_WITHDRAWN,
                details={"complaint_id": str(complaint_id), "level": complaint.level},
            )
        level = choice(ComplaintLevel, to_level, "to_level")
        rules.complaint_level_must_rise(ComplaintLevel(complaint.level), level, skip_reason)
        self._escalate_complaint(
            complaint_id=complaint_id,
            from_level=complaint.level,
            to_level=level.value,
            reason=rules.text(reason, "reason"),
            skip_reason=rules.text(skip_reason, "skip_reason", required=False),
        )

    @event(ComplaintEscalated)
    def _escalate_complaint(
        self, complaint_id: UUID, from_level: str, to_level: str, reason: str, skip_reason: str
    ) -> None:
        # An escalation reopens the complaint at the next level, also after a decision there.
        self.complaints[complaint_id].level = to_level
        self.complaints[complaint_id].status = "open"

    def decide_complaint(self, *, complaint_id: UUID, outcome: str, summary: str) -> None:
        complaint = self.open_complaint(complaint_id)
        self._decide_complaint(
            complaint_id=complaint_id,
            level=complaint.level,
            outcome=choice(ComplaintOutcome, outcome, "outcome").value,
            summary=rules.text(summary, "summary"),
        )

    @event(ComplaintDecided)
    def _decide_complaint(self, complaint_id: UUID, level: str, outcome: str, summary: str) -> None:
        self.complaints[complaint_id].status = "decided"
        self.complaints[complaint_id].outcome = outcome

    def withdraw_complaint(self, *, complaint_id: UUID, reason: str = "") -> None:
        self.open_complaint(complaint_id)
        self._withdraw_complaint(
            complaint_id=complaint_id, reason=rules.text(reason, "reason", required=False)
        )

    @event(ComplaintWithdrawn)
    def _withdraw_complaint(self, complaint_id: UUID, reason: str) -> None:
        self.complaints[complaint_id].status = "withdrawn"

    @property
    def complaint_level(self) -> str | None:
        """The highest level of any complaint of this case (None: no complaint)."""
        levels = [ComplaintLevel(c.level) for c in self.complaints.values()]
        return max(levels, key=lambda lvl: lvl.rank).value if levels else None

    # --- evaluation, closing ------------------------------------------------------------------

    def evaluate(self, *, went_well: str, to_improve: str, lessons: list[str]) -> None:
        rules.case_must_be_open(self)
        cleaned = [rules.text(lesson, "lessons") for lesson in lessons if lesson.strip()]
        self._evaluate(
            went_well=rules.text(went_well, "went_well", required=False),
            to_improve=rules.text(to_improve, "to_improve", required=False),
            lessons=cleaned,
        )

    @event(CaseEvaluated)
    def _evaluate(self, went_well: str, to_improve: str, lessons: list[str]) -> None:
        self.evaluated = True
        self.lessons = list(lessons)

    def share_lessons(self, *, coordinator_id: str) -> None:
        """Share the evaluated lessons with the anti-bullying coordinator (seed task 3)."""
        if not self.evaluated:
            msg = "lessons can only be shared after the case was evaluated"
            raise WrongState(
                msg, reason=StateReason.NOT_EVALUATED, missing=(Missing.EVALUATION.value,)
            )
        if not self.lessons:
            msg = "the evaluation recorded no lessons to share"
            raise WrongState(msg, reason=StateReason.NO_LESSONS, missing=(Missing.LESSONS.value,))
        self._share_lessons(coordinator_id=rules.text(coordinator_id, "coordinator_id"))

    @event(LessonsShared)
    def _share_lessons(self, coordinator_id: str) -> None:
        self.lessons_shared = True

    def close(
        self, *, reason: str, explanation: str = "", open_complaints_acknowledged: bool = False
    ) -> None:
        """Close the case. A complaint still open stays open (it may even be filed after
        closing); the closer confirms knowing that with ``open_complaints_acknowledged``."""
        rules.case_must_be_open(self)
        close_reason = choice(CloseReason, reason, "reason")
        rules.case_may_close(
            self,
            close_reason,
            explanation,
            open_complaints_acknowledged=open_complaints_acknowledged is True,
        )
        self._close(
            reason=close_reason.value,
            explanation=rules.text(explanation, "explanation", required=False),
        )

    @event(CaseClosed)
    def _close(self, reason: str, explanation: str) -> None:
        self.status = CaseStatus.CLOSED
        self.close_reason = reason

    def reopen(self, *, reason: str) -> None:
        if not self.is_closed:
            msg = f"case {self.id} is not closed"
            raise WrongState(msg, reason=StateReason.CASE_NOT_CLOSED)
        self._reopen(reason=rules.text(reason, "reason"))

    @event(CaseReopened)
    def _reopen(self, reason: str) -> None:
        self.status = (
            CaseStatus.IN_PROGRESS if self.intake_held_on is not None else CaseStatus.REPORTED
        )
        self.close_reason = None
        self.reopened += 1
        # A reopened case needs fresh aftercare and a fresh evaluation before it closes again.
        self.evaluated = False
        for follow_up in self.follow_ups.values():
            follow_up.superseded = follow_up.completed

    # --- incident registration (allowed after closing too: registration often follows) ------

    def categorise_incident(self, *, categories: list[str], list_version: str) -> None:
        """Record the case's incident categories from version ``list_version`` of the list."""
        offered = INCIDENT_LISTS.get(list_version)
        if offered is None:
            known = ", ".join(INCIDENT_LISTS)
            msg = f"list_version must be one of: {known}"
            raise InvalidInput(msg, field="list_version", reason="not_allowed")
        picked = choices(IncidentCategory, categories, "categories", required=True)
        retired = [code for code in picked if IncidentCategory(code) not in offered]
        if retired:
            msg = f"categories not in list {list_version}: {', '.join(retired)}"
            raise InvalidInput(msg, field="categories", reason="not_allowed")
        order = {code.value: i for i, code in enumerate(offered)}
        self._categorise_incident(
            list_version=list_version, categories=sorted(picked, key=order.__getitem__)
        )

    @event(IncidentCategorised)
    def _categorise_incident(self, list_version: str, categories: list[str]) -> None:
        self.incident_list_version = list_version
        self.incident_categories = list(categories)

    def mark_serious_incident(self, *, report_due_on: date, today: date) -> None:
        """Mark the case as a serious incident to be reported to the Inspectie."""
        if self.serious_incident:
            msg = f"case {self.id} is already marked as a serious incident"
            raise WrongState(msg, reason=StateReason.SERIOUS_INCIDENT_MARKED)
        day = rules.due_date(report_due_on, "report_due_on", today=today)
        assert day is not None  # required
        self._mark_serious_incident(report_due_on=day)

    @event(SeriousIncidentMarked)
    def _mark_serious_incident(self, report_due_on: date) -> None:
        self.serious_incident = True
        self.inspectie_report_due_on = report_due_on

    def record_inspectie_report(
        self, *, reported_on: date, channel: str, reference: str, today: date
    ) -> None:
        """The serious incident was reported to the Inspectie (on ``reported_on``)."""
        if not self.serious_incident:
            msg = f"case {self.id} is not marked as a serious incident"
            raise WrongState(msg, reason=StateReason.NOT_SERIOUS_INCIDENT)
        if self.inspectie_reported_on is not None:
            msg = f"the report of case {self.id} to the Inspectie was already recorded"
            raise WrongState(msg, reason=StateReason.INSPECTIE_REPORTED)
        day = rules.happened_on(reported_on, "reported_on", today=today)
        assert day is not None  # required
        self._record_inspectie_report(
            reported_on=day,
            channel=choice(ReportChannel, channel, "channel").value,
            reference=clean_text(
                reference, "reference", required=False, max_len=MAX_INSPECTIE_REFERENCE
            ),
        )

    @event(InspectieReportRecorded)
    def _record_inspectie_report(self, reported_on: date, channel: str, reference: str) -> None:
        self.inspectie_reported_on = reported_on

    # --- privacy ------------------------------------------------------------------------------

    def request_erasure(self, *, reason: str) -> None:
        """Erase the identifying data of this case's pupils (also allowed on a closed case, and
        recorded even when the case has no participants yet: the request itself is a fact)."""
        self._request_erasure(reason=rules.text(reason, "reason"))

    @event(ErasureRequested)
    def _request_erasure(self, reason: str) -> None:
        self.pupil_data_erased = True

    def redact_passages(self, *, passages: list[str], replacement: str = "", reason: str) -> None:
        """Redact passages of free text (by their key ids, as the erasure's passage finder lists
        them); also allowed on a closed case. ``replacement``: what they read as from now on
        (default ``[gewist]``)."""
        if isinstance(passages, str):
            passages = [passages]
        picked: list[str] = []
        for value in passages:
            text = str(value).strip().lower().replace("-", "")
            if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
                msg = "passages must be the ids of passages as the passage finder lists them"
                raise InvalidInput(msg, field="passages", reason="not_a_passage_id")
            if text not in picked:
                picked.append(text)
        if not picked:
            msg = "passages needs at least one passage id"
            raise InvalidInput(msg, field="passages", reason="required")
        self._redact_passages(
            passages=picked,
            replacement=rules.text(replacement, "replacement", required=False) or REDACTED,
            reason=rules.text(reason, "reason"),
        )

    @event(PassagesRedacted)
    def _redact_passages(self, passages: list[str], replacement: str, reason: str) -> None:
        self.redacted_passages.update(passages)


#: The event catalogue: every event type a case can record. (The library also defines a generic
#: ``Case.Created`` per aggregate class; cases are always created by ``CaseReported``.)
EVENT_TYPES: tuple[type[Case.Event], ...] = tuple(
    v
    for name, v in vars(Case).items()
    if isinstance(v, type) and issubclass(v, Case.Event) and name not in {"Event", "Created"}
)
