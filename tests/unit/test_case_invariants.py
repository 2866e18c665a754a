"""The invariants of a case (DESIGN.md §3), through the command handler on the in-memory store.

Every refusal is checked three ways: the right error class, a message that names what is missing,
and an unchanged event log (a violation is a clear domain error, never a stored event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.commands import (
    AddAttachment,
    AddNote,
    AddParticipant,
    AdvisePoliceReport,
    AssignOwner,
    CancelStep,
    CaseCommand,
    CategoriseIncident,
    CloseCase,
    CompleteFollowUp,
    CompleteStep,
    DiscussSolutions,
    EngagePerson,
    EvaluateCase,
    FlagCriminalOffence,
    GiveConsent,
    HoldIntake,
    MapSituation,
    MarkSeriousIncident,
    PlanStep,
    RecordAgreement,
    RecordContact,
    RecordInspectieReport,
    RedactPassages,
    ReopenCase,
    ReportCase,
    RequestErasure,
    ScheduleFollowUp,
    ShareLessons,
    WithdrawConsent,
)
from services.casework.domain import EVENT_TYPES, Case
from services.casework.handlers import CaseService
from services.casework.rules import EARLIEST_DATE, MAX_DUE_AHEAD
from services.casework.vocabulary import (
    CloseReason,
    ComplaintLevel,
    ComplaintOutcome,
    ComplaintSupportRole,
    ConsentGiver,
    Form,
    Frequency,
    Impact,
    ParticipantRole,
    PoliceAdviceTo,
    ReporterKind,
    StepKind,
)
from services.complaints.commands import (
    AssignComplaintSupport,
    DecideComplaint,
    EscalateComplaint,
    ExplainComplaintProcedure,
    FileComplaint,
    WithdrawComplaint,
)
from services.shared.actor import Actor, NoActorError, acting_as
from services.shared.clock import FixedClock, on_day
from services.shared.errors import (
    CaseClosed,
    CaseNotFound,
    CloseNotAllowed,
    ComplaintLevelError,
    ConcurrencyConflict,
    ConsentMissing,
    InvalidInput,
    OffenceNotFlagged,
    StaleVersion,
    WrongState,
)
from tests.unit.support import (
    BOARD,
    CONTACT,
    MANAGEMENT,
    SCHOOL_CONTACT,
    actor,
    new_service,
    person_id,
    refused,
    stored_count,
    stored_types,
)

TODAY = date(2026, 3, 2)  # a fixed, fictitious school day

# --- small builders, so each test reads as the steps of a case ------------------------------


def consent(service: CaseService, case_id: UUID, *kinds: StepKind) -> UUID:
    command = GiveConsent(case_id=case_id, given_by="pupil_and_parents", covers=list(kinds))
    service.handle(CONTACT, command)
    return command.consent_id


def withdraw(service: CaseService, case_id: UUID, consent_id: UUID) -> None:
    service.handle(
        CONTACT, WithdrawConsent(case_id=case_id, consent_id=consent_id, reason="Fictief")
    )


def plan(service: CaseService, case_id: UUID, kind: StepKind) -> UUID:
    command = PlanStep(case_id=case_id, kind=kind, description="Fictieve stap")
    service.handle(CONTACT, command)
    return command.step_id


def aftercare(service: CaseService, case_id: UUID, *, stopped: bool) -> None:
    scheduled = ScheduleFollowUp(case_id=case_id, due_on=TODAY + timedelta(days=14))
    service.handle(CONTACT, scheduled)
    service.handle(
        CONTACT,
        CompleteFollowUp(
            case_id=case_id,
            follow_up_id=scheduled.follow_up_id,
            agreements_kept=stopped,
            bullying_stopped=stopped,
            pupil_feels_safe=stopped,
        ),
    )


def evaluate(service: CaseService, case_id: UUID) -> None:
    service.handle(
        CONTACT, EvaluateCase(case_id=case_id, went_well="Fictief", lessons=["Fictieve les"])
    )


def file_complaint(
    service: CaseService, case_id: UUID, level: ComplaintLevel = ComplaintLevel.MANAGEMENT
) -> UUID:
    command = FileComplaint(
        case_id=case_id,
        complainant="Ouder Test-A",
        summary="Fictieve klacht",
        level=level,
        skip_reason="" if level is ComplaintLevel.MANAGEMENT else "Fictieve reden om over te slaan",
    )
    service.handle(SCHOOL_CONTACT, command)
    return command.complaint_id


def escalate(service: CaseService, case_id: UUID, complaint_id: UUID, to: ComplaintLevel) -> None:
    service.handle(
        SCHOOL_CONTACT,
        EscalateComplaint(
            case_id=case_id, complaint_id=complaint_id, to_level=to, reason="Fictief oneens"
        ),
    )


def close_referred(service: CaseService, case_id: UUID) -> None:
    service.handle(
        CONTACT,
        CloseCase(case_id=case_id, reason="referred", explanation="Fictief doorverwezen"),
    )


# === invariant 1: no step without the pupil knowing and being ready =========================


def test_planning_a_step_without_any_consent_is_refused(service: CaseService, case_id: UUID):
    # The contact person wants to talk with the actor before the pupil agreed to anything.
    refused(
        service,
        CONTACT,
        PlanStep(case_id=case_id, kind="talk_with_actor", description="Fictief gesprek"),
        ConsentMissing,
        mentions=("no consent", "talk_with_actor"),
    )


def test_consent_for_another_kind_does_not_cover_the_step(service: CaseService, case_id: UUID):
    # The pupil is ready for a group approach, not yet for a talk with the actor.
    consent(service, case_id, StepKind.GROUP_APPROACH)
    # Planning the talk is refused, naming the kind that lacks consent.
    refused(
        service,
        CONTACT,
        PlanStep(case_id=case_id, kind="talk_with_actor", description="Fictief gesprek"),
        ConsentMissing,
        mentions=("no consent", "talk_with_actor"),
    )
    # The kind that was agreed to can be planned.
    plan(service, case_id, StepKind.GROUP_APPROACH)


def _engage(case_id: UUID, step_id: UUID) -> CaseCommand:
    return EngagePerson(
        case_id=case_id, step_id=step_id, user_id=person_id("user-mentor"), staff_role="teacher"
    )


def _complete(case_id: UUID, step_id: UUID) -> CaseCommand:
    return CompleteStep(case_id=case_id, step_id=step_id, outcome="Fictieve uitkomst")


def _plan_again(case_id: UUID, step_id: UUID) -> CaseCommand:
    return PlanStep(case_id=case_id, kind="talk_with_actor", description="Fictief, opnieuw")


@pytest.mark.parametrize(
    "make_command", [_plan_again, _engage, _complete], ids=["plan", "engage", "complete"]
)
def test_withdrawn_consent_no_longer_covers(
    service: CaseService,
    case_id: UUID,
    make_command: Callable[[UUID, UUID], CaseCommand],
):
    # The pupil agreed to a talk with the actor, and the talk was planned.
    given = consent(service, case_id, StepKind.TALK_WITH_ACTOR)
    step_id = plan(service, case_id, StepKind.TALK_WITH_ACTOR)
    # Then the pupil got scared and withdrew the consent.
    withdraw(service, case_id, given)
    # Planning, engaging someone for, or completing the step is now refused: "withdrawn".
    refused(
        service,
        CONTACT,
        make_command(case_id, step_id),
        ConsentMissing,
        mentions=("withdrawn", "talk_with_actor"),
    )


def test_new_consent_after_withdrawal_covers_again(service: CaseService, case_id: UUID):
    # Consent given, step planned, consent withdrawn.
    given = consent(service, case_id, StepKind.TALK_WITH_ACTOR)
    step_id = plan(service, case_id, StepKind.TALK_WITH_ACTOR)
    withdraw(service, case_id, given)
    # A week later the pupil is ready again: new consent is recorded.
    consent(service, case_id, StepKind.TALK_WITH_ACTOR)
    # Now the colleague can be engaged and the step completed, and a new step planned.
    service.handle(CONTACT, _engage(case_id, step_id))
    service.handle(CONTACT, _complete(case_id, step_id))
    plan(service, case_id, StepKind.TALK_WITH_ACTOR)
    assert stored_types(service.app, case_id)[-5:] == [
        "ConsentWithdrawn",
        "ConsentGiven",
        "PersonEngaged",
        "StepCompleted",
        "StepPlanned",
    ]


def test_withdrawing_one_consent_keeps_another_that_covers(service: CaseService, case_id: UUID):
    # Two consents cover the same kind (pupil, then parents); one is withdrawn.
    first = consent(service, case_id, StepKind.SAFETY_MEASURE)
    consent(service, case_id, StepKind.SAFETY_MEASURE, StepKind.OTHER)
    withdraw(service, case_id, first)
    # The other still covers the kind.
    plan(service, case_id, StepKind.SAFETY_MEASURE)


def test_consent_cannot_be_withdrawn_twice(service: CaseService, case_id: UUID):
    given = consent(service, case_id, StepKind.OTHER)
    withdraw(service, case_id, given)
    refused(
        service,
        CONTACT,
        WithdrawConsent(case_id=case_id, consent_id=given),
        WrongState,
        mentions=("already withdrawn",),
    )


# === invariant 2: police advice needs a flagged criminal offence ============================


def test_police_advice_needs_a_flagged_offence(service: CaseService, case_id: UUID):
    # The parents ask about the police, but no criminal offence was flagged yet.
    refused(
        service,
        CONTACT,
        AdvisePoliceReport(case_id=case_id, advised_to="parents"),
        OffenceNotFlagged,
        mentions=("criminal offence", "flagged"),
    )
    # The contact person flags the (fictitious) threat as a criminal offence.
    service.handle(CONTACT, FlagCriminalOffence(case_id=case_id, description="Fictieve bedreiging"))
    # Now the advice to go to the police is recorded.
    service.handle(CONTACT, AdvisePoliceReport(case_id=case_id, advised_to="parents"))
    assert stored_types(service.app, case_id)[-2:] == [
        "CriminalOffenceFlagged",
        "PoliceReportAdvised",
    ]


# === invariant 3: complaint levels only go up ================================================


def test_complaint_climbs_management_board_committee(service: CaseService, case_id: UUID):
    # The parents are not satisfied: a complaint to the school management.
    complaint_id = file_complaint(service, case_id)
    # Management decides; the parents go on to the board, then to the committee.
    escalate(service, case_id, complaint_id, ComplaintLevel.BOARD)
    escalate(service, case_id, complaint_id, ComplaintLevel.COMMITTEE)
    assert service.read(CONTACT, case_id).complaints[complaint_id].level == "committee"


@pytest.mark.parametrize("to", ["management", "board"])
def test_complaint_never_goes_down_or_stays(service: CaseService, case_id: UUID, to: str):
    # The complaint is at the board.
    complaint_id = file_complaint(service, case_id)
    escalate(service, case_id, complaint_id, ComplaintLevel.BOARD)
    # Going back to management, or "escalating" to the board again, is refused.
    refused(
        service,
        SCHOOL_CONTACT,
        EscalateComplaint(case_id=case_id, complaint_id=complaint_id, to_level=to, reason="F"),
        ComplaintLevelError,
        mentions=("only go up", "'board'", f"'{to}'"),
    )


def test_nothing_is_above_the_committee(service: CaseService, case_id: UUID):
    complaint_id = file_complaint(service, case_id, ComplaintLevel.COMMITTEE)
    refused(
        service,
        SCHOOL_CONTACT,
        EscalateComplaint(
            case_id=case_id, complaint_id=complaint_id, to_level="committee", reason="F"
        ),
        ComplaintLevelError,
        mentions=("only go up",),
    )


@pytest.mark.parametrize("level", ["board", "committee"])
def test_filing_above_management_needs_a_skip_reason(
    service: CaseService, case_id: UUID, level: str
):
    # Filing straight at a higher level without saying why is refused, naming the skipped level.
    refused(
        service,
        SCHOOL_CONTACT,
        FileComplaint(case_id=case_id, complainant="Ouder Test-A", summary="F", level=level),
        ComplaintLevelError,
        mentions=(f"'{level}'", "skips 'management'", "skip_reason"),
    )
    # With the reason recorded (the law allows going straight to the committee), it is filed.
    command = FileComplaint(
        case_id=case_id,
        complainant="Ouder Test-A",
        summary="Fictieve klacht",
        level=level,
        skip_reason="Fictief: vertrouwen in directie ontbreekt",
    )
    service.handle(SCHOOL_CONTACT, command)
    assert service.read(CONTACT, case_id).complaints[command.complaint_id].level == level


def test_escalating_past_the_board_needs_a_skip_reason(service: CaseService, case_id: UUID):
    complaint_id = file_complaint(service, case_id)
    # From management straight to the committee, without a reason: refused.
    refused(
        service,
        SCHOOL_CONTACT,
        EscalateComplaint(
            case_id=case_id, complaint_id=complaint_id, to_level="committee", reason="F"
        ),
        ComplaintLevelError,
        mentions=("'committee'", "skips 'board'", "skip_reason"),
    )
    # With a skip reason: accepted.
    service.handle(
        SCHOOL_CONTACT,
        EscalateComplaint(
            case_id=case_id,
            complaint_id=complaint_id,
            to_level="committee",
            reason="Fictief oneens",
            skip_reason="Fictief: bestuur is partij",
        ),
    )


def test_complaint_can_be_filed_after_closing(service: CaseService, case_id: UUID):
    # The case was closed (referred).
    close_referred(service, case_id)
    # The parents are still unhappy: the procedure is explained and a complaint is filed.
    service.handle(CONTACT, ExplainComplaintProcedure(case_id=case_id, explained_to="Ouders"))
    complaint_id = file_complaint(service, case_id)
    # And it follows its course on the closed case.
    escalate(service, case_id, complaint_id, ComplaintLevel.BOARD)
    service.handle(
        BOARD,
        DecideComplaint(
            case_id=case_id, complaint_id=complaint_id, outcome="rejected", summary="Fictief"
        ),
    )
    case = service.read(CONTACT, case_id)
    assert case.is_closed
    assert case.complaints[complaint_id].status == "decided"


def test_withdrawn_complaint_cannot_be_escalated_or_decided(service: CaseService, case_id: UUID):
    complaint_id = file_complaint(service, case_id)
    service.handle(
        SCHOOL_CONTACT, WithdrawComplaint(case_id=case_id, complaint_id=complaint_id, reason="F")
    )
    refused(
        service,
        SCHOOL_CONTACT,
        EscalateComplaint(case_id=case_id, complaint_id=complaint_id, to_level="board", reason="F"),
        WrongState,
        mentions=("withdrawn",),
    )
    refused(
        service,
        MANAGEMENT,
        DecideComplaint(case_id=case_id, complaint_id=complaint_id, outcome="upheld", summary="F"),
        WrongState,
        mentions=("withdrawn",),
    )


# === invariant 4: closing ======================================================================

AFTERCARE = "aftercare that recorded the bullying stopped"
EVALUATION = "an evaluation of the case"


def _close_resolved(case_id: UUID) -> CloseCase:
    return CloseCase(case_id=case_id, reason="resolved")


def test_close_as_resolved_needs_aftercare_and_evaluation(service: CaseService, case_id: UUID):
    # Nothing recorded yet: both are named.
    error = refused(
        service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(AFTERCARE,)
    )
    assert EVALUATION in error.message


def test_close_as_resolved_without_aftercare(service: CaseService, case_id: UUID):
    # Evaluated, but nobody checked whether the bullying stopped.
    evaluate(service, case_id)
    error = refused(
        service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(AFTERCARE,)
    )
    assert EVALUATION not in error.message


def test_close_as_resolved_without_evaluation(service: CaseService, case_id: UUID):
    # Aftercare found the bullying stopped, but the case was not evaluated.
    aftercare(service, case_id, stopped=True)
    error = refused(
        service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(EVALUATION,)
    )
    assert AFTERCARE not in error.message


def test_close_as_resolved_when_aftercare_found_bullying_continues(
    service: CaseService, case_id: UUID
):
    # Aftercare was done, but the bullying had not stopped; the case was evaluated anyway.
    aftercare(service, case_id, stopped=False)
    evaluate(service, case_id)
    # Closing as resolved is refused.
    refused(service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(AFTERCARE,))


def test_the_latest_aftercare_decides(service: CaseService, case_id: UUID):
    # First aftercare: stopped; a later one: it started again.
    aftercare(service, case_id, stopped=True)
    aftercare(service, case_id, stopped=False)
    evaluate(service, case_id)
    refused(service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(AFTERCARE,))
    # A third check finds it stopped: now the case may close as resolved.
    aftercare(service, case_id, stopped=True)
    service.handle(CONTACT, _close_resolved(case_id))
    assert service.read(CONTACT, case_id).close_reason == "resolved"


def test_close_as_resolved_with_both(service: CaseService, case_id: UUID):
    aftercare(service, case_id, stopped=True)
    evaluate(service, case_id)
    service.handle(CONTACT, _close_resolved(case_id))
    assert service.read(CONTACT, case_id).is_closed


@pytest.mark.parametrize("reason", ["referred", "withdrawn"])
def test_close_for_another_reason_needs_an_explanation(
    service: CaseService, case_id: UUID, reason: str
):
    refused(
        service,
        CONTACT,
        CloseCase(case_id=case_id, reason=reason, explanation="   "),
        CloseNotAllowed,
        mentions=(f"'{reason}'", "explanation"),
    )
    service.handle(
        CONTACT, CloseCase(case_id=case_id, reason=reason, explanation="Fictieve uitleg")
    )
    assert service.read(CONTACT, case_id).close_reason == reason


def test_reopen_requires_a_closed_case(service: CaseService, case_id: UUID):
    refused(
        service,
        CONTACT,
        ReopenCase(case_id=case_id, reason="Fictief"),
        WrongState,
        mentions=("not closed",),
    )


def test_a_closed_case_cannot_be_closed_again(service: CaseService, case_id: UUID):
    close_referred(service, case_id)
    refused(
        service,
        CONTACT,
        CloseCase(case_id=case_id, reason="withdrawn", explanation="F"),
        CaseClosed,
        mentions=("closed",),
    )


def test_reopened_case_needs_fresh_aftercare_and_evaluation(service: CaseService, case_id: UUID):
    # The case was resolved: aftercare found it stopped, evaluated, closed.
    aftercare(service, case_id, stopped=True)
    evaluate(service, case_id)
    service.handle(CONTACT, _close_resolved(case_id))
    # Two months later it started again: the case is reopened.
    service.handle(CONTACT, ReopenCase(case_id=case_id, reason="Fictief: opnieuw gepest"))
    # The old aftercare and evaluation no longer count.
    error = refused(
        service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(AFTERCARE,)
    )
    assert EVALUATION in error.message
    # Fresh aftercare alone is not enough.
    aftercare(service, case_id, stopped=True)
    refused(service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(EVALUATION,))
    # With a fresh evaluation too, it closes as resolved again.
    evaluate(service, case_id)
    service.handle(CONTACT, _close_resolved(case_id))
    case = service.read(CONTACT, case_id)
    assert case.is_closed
    assert case.reopened == 1


def _complaint_at_committee(service: CaseService, case_id: UUID) -> UUID:
    return file_complaint(service, case_id, ComplaintLevel.COMMITTEE)


def test_closing_while_a_complaint_is_open_needs_an_acknowledgement(
    service: CaseService, case_id: UUID
):
    # Issue #10: the parents took their complaint straight to the klachtencommissie ...
    complaint_id = _complaint_at_committee(service, case_id)
    # ... while aftercare found the bullying stopped and the case was evaluated.
    aftercare(service, case_id, stopped=True)
    evaluate(service, case_id)
    # Closing as resolved is refused, naming the open complaint and its level.
    error = refused(
        service,
        CONTACT,
        _close_resolved(case_id),
        CloseNotAllowed,
        mentions=(str(complaint_id), "'committee'", "open_complaints_acknowledged"),
    )
    assert error.missing == ("open_complaints_acknowledged",)
    assert error.field == "open_complaints_acknowledged"
    assert error.details["open_complaints"] == [
        {"complaint_id": str(complaint_id), "level": "committee"}
    ]
    # With the explicit acknowledgement the case closes ...
    service.handle(
        CONTACT,
        CloseCase(case_id=case_id, reason="resolved", open_complaints_acknowledged=True),
    )
    case = service.read(CONTACT, case_id)
    assert case.is_closed
    # ... and the complaint stays open: the board still decides on the committee's advice.
    assert case.complaints[complaint_id].status == "open"
    service.handle(
        BOARD,
        DecideComplaint(
            case_id=case_id, complaint_id=complaint_id, outcome="upheld", summary="Fictief"
        ),
    )
    assert service.read(CONTACT, case_id).complaints[complaint_id].status == "decided"


@pytest.mark.parametrize("reason", ["referred", "withdrawn"])
def test_closing_for_any_reason_with_an_open_complaint_needs_the_acknowledgement(
    service: CaseService, case_id: UUID, reason: str
):
    complaint_id = file_complaint(service, case_id)
    refused(
        service,
        CONTACT,
        CloseCase(case_id=case_id, reason=reason, explanation="Fictief"),
        CloseNotAllowed,
        mentions=(str(complaint_id), "'management'"),
    )
    service.handle(
        CONTACT,
        CloseCase(
            case_id=case_id,
            reason=reason,
            explanation="Fictief",
            open_complaints_acknowledged=True,
        ),
    )
    assert service.read(CONTACT, case_id).complaints[complaint_id].status == "open"


def test_decided_or_withdrawn_complaints_need_no_acknowledgement(
    service: CaseService, case_id: UUID
):
    decided = file_complaint(service, case_id)
    service.handle(
        MANAGEMENT,
        DecideComplaint(case_id=case_id, complaint_id=decided, outcome="settled", summary="F"),
    )
    withdrawn = file_complaint(service, case_id)
    service.handle(
        SCHOOL_CONTACT, WithdrawComplaint(case_id=case_id, complaint_id=withdrawn, reason="F")
    )
    close_referred(service, case_id)
    assert service.read(CONTACT, case_id).is_closed


def test_a_refused_close_names_everything_that_is_missing_at_once(
    service: CaseService, case_id: UUID
):
    # Aftercare found the bullying continues, no evaluation, and a complaint is open.
    aftercare(service, case_id, stopped=False)
    complaint_id = file_complaint(service, case_id, ComplaintLevel.BOARD)
    error = refused(
        service,
        CONTACT,
        _close_resolved(case_id),
        CloseNotAllowed,
        mentions=(AFTERCARE, "had not stopped", EVALUATION, str(complaint_id), "'board'"),
    )
    assert error.missing == (
        "aftercare_bullying_stopped",
        "evaluation",
        "open_complaints_acknowledged",
    )
    assert error.details["aftercare"] == "bullying_continues"
    assert error.field is None  # not one field: steps of the case are missing
    # Without any aftercare the detail says "none"; a referral misses only its explanation.
    other = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    error = refused(service, CONTACT, _close_resolved(other), CloseNotAllowed)
    assert error.details["aftercare"] == "none"
    error = refused(service, CONTACT, CloseCase(case_id=other, reason="referred"), CloseNotAllowed)
    assert error.missing == ("explanation",)


# === invariant 5: optimistic concurrency =====================================================


def test_two_people_acting_at_once_never_lose_an_event(
    app: CaseworkApplication, school_id: UUID, case_id: UUID
):
    before = stored_count(app, case_id)
    # Two colleagues open the same case at the same moment.
    first = app.get_case(case_id, school_id)
    second = app.get_case(case_id, school_id)
    # Both add a note.
    with acting_as(CONTACT):
        first.add_note(text="Fictieve notitie A")
    with acting_as(actor(Role.COORDINATOR)):
        second.add_note(text="Fictieve notitie B")
    # The first save wins.
    app.save_case(first)
    # The second is told to reload instead of silently overwriting.
    with pytest.raises(ConcurrencyConflict, match="reload and retry"):
        app.save_case(second)
    # The log holds exactly the first note.
    events = list(app.events.get(case_id))
    assert len(events) == before + 1
    assert isinstance(events[-1], Case.NoteAdded)
    assert events[-1].text == "Fictieve notitie A"
    assert events[-1].actor_id == CONTACT.user_id


def test_a_command_made_against_an_old_version_is_refused(service: CaseService, case_id: UUID):
    # The contact person looks at the case at version 1 ...
    seen = service.read(CONTACT, case_id).version
    # ... meanwhile the coordinator adds a note.
    service.handle(actor(Role.COORDINATOR), AddNote(case_id=case_id, text="Fictief"))
    # The contact person's command, made against version 1, is refused.
    error = refused(
        service,
        CONTACT,
        AddNote(case_id=case_id, text="Fictief, te laat", expected_version=seen),
        StaleVersion,
        mentions=(f"version {seen}", "reload"),
    )
    assert isinstance(error, ConcurrencyConflict)
    # Made against the current version, it goes through.
    current = service.read(CONTACT, case_id).version
    assert service.handle(
        CONTACT, AddNote(case_id=case_id, text="Fictief", expected_version=current)
    ) == (current + 1)


# === bad input ===============================================================================


def test_another_schools_case_is_simply_not_found(
    app: CaseworkApplication, service: CaseService, case_id: UUID, school_id: UUID
):
    other_school = uuid4()
    elsewhere = new_service(app, other_school)
    before = stored_count(app, case_id)
    # Acting on it from another school: "not found", exactly as for a case that does not exist.
    with pytest.raises(CaseNotFound) as on_existing:
        elsewhere.handle(CONTACT, AddNote(case_id=case_id, text="Fictief"))
    with pytest.raises(CaseNotFound) as on_missing:
        elsewhere.read(CONTACT, case_id)
    missing_id = uuid4()
    with pytest.raises(CaseNotFound) as on_unknown:
        service.handle(CONTACT, AddNote(case_id=missing_id, text="Fictief"))
    assert on_existing.value.message == f"case {case_id} not found"
    assert on_missing.value.message == f"case {case_id} not found"
    assert on_unknown.value.message == f"case {missing_id} not found"
    for error in (on_existing.value, on_missing.value):
        assert str(school_id) not in error.message
        assert str(other_school) not in error.message
    assert stored_count(app, case_id) == before
    # Historical reads are refused the same way.
    with pytest.raises(CaseNotFound):
        elsewhere.read(CONTACT, case_id, version=1)


def test_unknown_case_id_is_not_found(service: CaseService):
    with pytest.raises(CaseNotFound):
        service.handle(CONTACT, AddNote(case_id=uuid4(), text="Fictief"))
    with pytest.raises(CaseNotFound):
        service.read(CONTACT, uuid4())


UNKNOWN = uuid4()


@pytest.mark.parametrize(
    ("who", "make", "mentions"),
    [
        (CONTACT, lambda c: _engage(c, UNKNOWN), "no step"),
        (CONTACT, lambda c: _complete(c, UNKNOWN), "no step"),
        (CONTACT, lambda c: CancelStep(case_id=c, step_id=UNKNOWN, reason="F"), "no step"),
        (
            CONTACT,
            lambda c: WithdrawConsent(case_id=c, consent_id=UNKNOWN),
            "no consent",
        ),
        (
            CONTACT,
            lambda c: CompleteFollowUp(
                case_id=c,
                follow_up_id=UNKNOWN,
                agreements_kept=True,
                bullying_stopped=True,
                pupil_feels_safe=True,
            ),
            "no follow-up",
        ),
        (
            SCHOOL_CONTACT,
            lambda c: AssignComplaintSupport(
                case_id=c, complaint_id=UNKNOWN, user_id="u", support_role="handler"
            ),
            "no complaint",
        ),
        (
            SCHOOL_CONTACT,
            lambda c: EscalateComplaint(
                case_id=c, complaint_id=UNKNOWN, to_level="board", reason="F"
            ),
            "no complaint",
        ),
        (
            MANAGEMENT,
            lambda c: DecideComplaint(
                case_id=c, complaint_id=UNKNOWN, outcome="upheld", summary="F"
            ),
            "no complaint",
        ),
        (
            SCHOOL_CONTACT,
            lambda c: WithdrawComplaint(case_id=c, complaint_id=UNKNOWN),
            "no complaint",
        ),
    ],
    ids=[
        "engage",
        "complete-step",
        "cancel-step",
        "withdraw-consent",
        "complete-follow-up",
        "complaint-support",
        "escalate",
        "decide",
        "withdraw-complaint",
    ],
)
def test_unknown_part_of_a_case_is_invalid_input(
    service: CaseService,
    case_id: UUID,
    who: Actor,
    make: Callable[[UUID], CaseCommand],
    mentions: str,
):
    # The pupil agreed to everything, so consent is not what stops these commands.
    consent(service, case_id, *StepKind)
    refused(service, who, make(case_id), InvalidInput, mentions=(mentions, str(UNKNOWN)))


@dataclass
class BadValue:
    vocabulary: type[StrEnum]
    who: Actor
    make: Callable[[UUID], CaseCommand]
    prepare: Callable[[CaseService, UUID], Any] = field(default=lambda s, c: None)


BAD_VALUES: dict[str, BadValue] = {
    "participant-role": BadValue(
        ParticipantRole,
        CONTACT,
        lambda c: AddParticipant(case_id=c, pupil_ref="ref-test-a", role="bully"),
    ),
    "situation-form": BadValue(
        Form,
        CONTACT,
        lambda c: MapSituation(
            case_id=c, forms=["verbal", "shouting"], frequency="daily", impact="high"
        ),
    ),
    "situation-frequency": BadValue(
        Frequency,
        CONTACT,
        lambda c: MapSituation(case_id=c, forms=["verbal"], frequency="hourly", impact="high"),
    ),
    "situation-impact": BadValue(
        Impact,
        CONTACT,
        lambda c: MapSituation(case_id=c, forms=["verbal"], frequency="daily", impact="extreme"),
    ),
    "consent-giver": BadValue(
        ConsentGiver,
        CONTACT,
        lambda c: GiveConsent(case_id=c, given_by="teacher", covers=["other"]),
    ),
    "consent-covers": BadValue(
        StepKind,
        CONTACT,
        lambda c: GiveConsent(case_id=c, given_by="pupil", covers=["expel_actor"]),
    ),
    "step-kind": BadValue(
        StepKind, CONTACT, lambda c: PlanStep(case_id=c, kind="expel_actor", description="F")
    ),
    "police-advised-to": BadValue(
        PoliceAdviceTo,
        CONTACT,
        lambda c: AdvisePoliceReport(case_id=c, advised_to="teacher"),
        prepare=lambda s, c: s.handle(CONTACT, FlagCriminalOffence(case_id=c, description="F")),
    ),
    "complaint-level": BadValue(
        ComplaintLevel,
        SCHOOL_CONTACT,
        lambda c: FileComplaint(case_id=c, complainant="Ouder", summary="F", level="minister"),
    ),
    "complaint-support-role": BadValue(
        ComplaintSupportRole,
        SCHOOL_CONTACT,
        lambda c: AssignComplaintSupport(
            case_id=c, complaint_id=UNKNOWN, user_id="u", support_role="lawyer"
        ),
        prepare=lambda s, c: s.handle(
            SCHOOL_CONTACT,
            FileComplaint(case_id=c, complainant="O", summary="F", complaint_id=UNKNOWN),
        ),
    ),
    "complaint-outcome": BadValue(
        ComplaintOutcome,
        MANAGEMENT,
        lambda c: DecideComplaint(case_id=c, complaint_id=UNKNOWN, outcome="maybe", summary="F"),
        prepare=lambda s, c: s.handle(
            SCHOOL_CONTACT,
            FileComplaint(case_id=c, complainant="O", summary="F", complaint_id=UNKNOWN),
        ),
    ),
    "close-reason": BadValue(
        CloseReason, CONTACT, lambda c: CloseCase(case_id=c, reason="bored", explanation="F")
    ),
}


@pytest.mark.parametrize("name", BAD_VALUES)
def test_a_value_outside_the_vocabulary_lists_the_allowed_values(
    service: CaseService, case_id: UUID, name: str
):
    bad = BAD_VALUES[name]
    bad.prepare(service, case_id)
    error = refused(service, bad.who, bad.make(case_id), InvalidInput, mentions=("must be one of",))
    for allowed in bad.vocabulary:
        assert allowed.value in error.message


def test_a_report_with_an_unknown_reporter_kind_is_refused(app: CaseworkApplication, service):
    with pytest.raises(InvalidInput, match="reporter_kind must be one of") as info:
        service.report(CONTACT, ReportCase(reporter_kind="ghost", summary="Fictief"))
    for allowed in ReporterKind:
        assert allowed.value in info.value.message
    assert len(app.recorder.select_notifications(start=None, limit=10)) == 0


def test_a_report_needs_a_summary(app: CaseworkApplication, service):
    with pytest.raises(InvalidInput, match="summary is required"):
        service.report(CONTACT, ReportCase(reporter_kind="parent", summary="  \n "))
    assert len(app.recorder.select_notifications(start=None, limit=10)) == 0


EMPTY = "   "
EMPTY_TEXT: dict[str, tuple[Actor, Callable[[UUID], CaseCommand]]] = {
    "owner_id": (CONTACT, lambda c: AssignOwner(case_id=c, owner_id=EMPTY)),
    "pupil_ref": (CONTACT, lambda c: AddParticipant(case_id=c, pupil_ref=EMPTY, role="target")),
    "summary": (CONTACT, lambda c: HoldIntake(case_id=c, held_on=TODAY, summary=EMPTY)),
    "desired": (
        CONTACT,
        lambda c: DiscussSolutions(case_id=c, desired=EMPTY, chosen_approach="F"),
    ),
    "chosen_approach": (
        CONTACT,
        lambda c: DiscussSolutions(case_id=c, desired="F", chosen_approach=EMPTY),
    ),
    "description": (CONTACT, lambda c: FlagCriminalOffence(case_id=c, description=EMPTY)),
    "text": (CONTACT, lambda c: AddNote(case_id=c, text=EMPTY)),
    "parties": (CONTACT, lambda c: RecordAgreement(case_id=c, text="F", parties=EMPTY)),
    "explained_to": (
        CONTACT,
        lambda c: ExplainComplaintProcedure(case_id=c, explained_to=EMPTY),
    ),
    "complainant": (
        SCHOOL_CONTACT,
        lambda c: FileComplaint(case_id=c, complainant=EMPTY, summary="F"),
    ),
}


@pytest.mark.parametrize("field_name", EMPTY_TEXT)
def test_empty_required_text_is_refused(service: CaseService, case_id: UUID, field_name: str):
    who, make = EMPTY_TEXT[field_name]
    refused(service, who, make(case_id), InvalidInput, mentions=(f"{field_name} is required",))


def test_the_step_description_is_required(service: CaseService, case_id: UUID):
    consent(service, case_id, StepKind.OTHER)
    refused(
        service,
        CONTACT,
        PlanStep(case_id=case_id, kind="other", description=""),
        InvalidInput,
        mentions=("description is required",),
    )


def test_overlong_text_is_refused(service: CaseService, case_id: UUID):
    refused(
        service,
        CONTACT,
        AddNote(case_id=case_id, text="x" * 10_001),
        InvalidInput,
        mentions=("text is longer than",),
    )


def test_the_same_pupil_is_added_once(service: CaseService, case_id: UUID):
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref="ref-test-a", role="target"))
    refused(
        service,
        CONTACT,
        AddParticipant(case_id=case_id, pupil_ref="ref-test-a", role="bystander"),
        InvalidInput,
        mentions=("already a participant",),
    )


CASEWORK_ON_A_CLOSED_CASE: dict[str, Callable[[UUID], CaseCommand]] = {
    "assign-owner": lambda c: AssignOwner(case_id=c, owner_id=person_id("user-aanspreekpunt")),
    "add-participant": lambda c: AddParticipant(case_id=c, pupil_ref="ref-test-b", role="actor"),
    "hold-intake": lambda c: HoldIntake(case_id=c, held_on=TODAY, summary="F"),
    "map-situation": lambda c: MapSituation(
        case_id=c, forms=["online"], frequency="weekly", impact="moderate"
    ),
    "discuss-solutions": lambda c: DiscussSolutions(case_id=c, desired="F", chosen_approach="F"),
    "give-consent": lambda c: GiveConsent(case_id=c, given_by="pupil", covers=["other"]),
    "withdraw-consent": lambda c: WithdrawConsent(case_id=c, consent_id=UNKNOWN),
    "plan-step": lambda c: PlanStep(case_id=c, kind="other", description="F"),
    "engage-person": lambda c: _engage(c, UNKNOWN),
    "complete-step": lambda c: _complete(c, UNKNOWN),
    "cancel-step": lambda c: CancelStep(case_id=c, step_id=UNKNOWN, reason="F"),
    "flag-offence": lambda c: FlagCriminalOffence(case_id=c, description="F"),
    "advise-police": lambda c: AdvisePoliceReport(case_id=c, advised_to="parents"),
    "record-agreement": lambda c: RecordAgreement(case_id=c, text="F", parties="F"),
    "schedule-follow-up": lambda c: ScheduleFollowUp(case_id=c, due_on=TODAY),
    "complete-follow-up": lambda c: CompleteFollowUp(
        case_id=c,
        follow_up_id=UNKNOWN,
        agreements_kept=True,
        bullying_stopped=True,
        pupil_feels_safe=True,
    ),
    "add-note": lambda c: AddNote(case_id=c, text="F"),
    "evaluate": lambda c: EvaluateCase(case_id=c, lessons=["F"]),
}


@pytest.mark.parametrize("name", CASEWORK_ON_A_CLOSED_CASE)
def test_casework_on_a_closed_case_is_refused(service: CaseService, case_id: UUID, name: str):
    # The case was closed (referred to the care team).
    close_referred(service, case_id)
    # Casework needs the case reopened first.
    refused(
        service,
        CONTACT,
        CASEWORK_ON_A_CLOSED_CASE[name](case_id),
        CaseClosed,
        mentions=("closed", "reopen"),
    )


# === dates: what happened lies in the past, what is due may lie ahead ===========================

SCHOOL_DAY = date(2026, 11, 30)


@pytest.fixture
def on_school_day(app: CaseworkApplication, school_id: UUID) -> CaseService:
    """The case service on a fixed school day (the clock is injected, never read here)."""
    return new_service(app, school_id, clock=FixedClock(SCHOOL_DAY))


def _reported(service: CaseService) -> UUID:
    return service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictieve melding"))


HAPPENED: dict[str, Callable[[UUID, date], CaseCommand]] = {
    "held_on": lambda c, d: HoldIntake(case_id=c, held_on=d, summary="Fictief"),
    "since": lambda c, d: MapSituation(
        case_id=c, forms=["verbal"], since=d, frequency="weekly", impact="low"
    ),
}


@pytest.mark.parametrize("field_name", HAPPENED)
def test_the_day_something_happened_cannot_lie_in_the_future(
    on_school_day: CaseService, field_name: str
):
    case_id = _reported(on_school_day)
    make = HAPPENED[field_name]
    # Issue #10: an intake "held" in 2031; also tomorrow, in the school's calendar.
    for day in (date(2031, 1, 1), SCHOOL_DAY + timedelta(days=1)):
        error = refused(
            on_school_day,
            CONTACT,
            make(case_id, day),
            InvalidInput,
            mentions=(field_name, day.isoformat(), "after today (2026-11-30)", "future"),
        )
        assert (error.field, error.reason) == (field_name, "in_future")
    # Today itself is fine.
    on_school_day.handle(CONTACT, make(case_id, SCHOOL_DAY))


def test_bullying_since_may_be_left_open(on_school_day: CaseService):
    case_id = _reported(on_school_day)
    on_school_day.handle(CONTACT, HAPPENED["since"](case_id, None))  # type: ignore[arg-type]
    assert on_school_day.read(CONTACT, case_id).situation["since"] is None


DUE: dict[str, Callable[[UUID, date], CaseCommand]] = {
    "plan-step": lambda c, d: PlanStep(case_id=c, kind="other", description="F", due_on=d),
    "record-agreement": lambda c, d: RecordAgreement(case_id=c, text="F", parties="F", review_on=d),
    "schedule-follow-up": lambda c, d: ScheduleFollowUp(case_id=c, due_on=d),
}
DUE_FIELD = {"plan-step": "due_on", "record-agreement": "review_on", "schedule-follow-up": "due_on"}


@pytest.mark.parametrize("name", DUE)
def test_due_dates_may_lie_ahead_within_two_years(on_school_day: CaseService, name: str):
    case_id = _reported(on_school_day)
    consent(on_school_day, case_id, StepKind.OTHER)
    make = DUE[name]
    # Ahead is what a due date is for; the past is accepted (recorded afterwards, then overdue).
    for day in (SCHOOL_DAY + timedelta(days=14), SCHOOL_DAY, SCHOOL_DAY - timedelta(days=7)):
        on_school_day.handle(CONTACT, make(case_id, day))
    on_school_day.handle(CONTACT, make(case_id, SCHOOL_DAY + MAX_DUE_AHEAD))
    # More than two years ahead is a typo (2031 for 2026).
    error = refused(
        on_school_day,
        CONTACT,
        make(case_id, date(2031, 1, 1)),
        InvalidInput,
        mentions=(DUE_FIELD[name], "2031-01-01", "more than two years ahead"),
    )
    assert (error.field, error.reason) == (DUE_FIELD[name], "too_far_ahead")


@pytest.mark.parametrize("name", [*HAPPENED, *DUE])
def test_no_date_of_a_case_lies_before_2000(on_school_day: CaseService, name: str):
    case_id = _reported(on_school_day)
    consent(on_school_day, case_id, StepKind.OTHER)
    make = HAPPENED.get(name) or DUE[name]
    field_name = name if name in HAPPENED else DUE_FIELD[name]
    error = refused(
        on_school_day,
        CONTACT,
        make(case_id, date(1926, 3, 2)),
        InvalidInput,
        mentions=(field_name, "before 2000-01-01"),
    )
    assert (error.field, error.reason) == (field_name, "too_early")
    on_school_day.handle(CONTACT, make(case_id, EARLIEST_DATE))


def test_a_moment_is_not_a_date(on_school_day: CaseService):
    case_id = _reported(on_school_day)
    moment = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    error = refused(
        on_school_day,
        CONTACT,
        HoldIntake(case_id=case_id, held_on=moment, summary="F"),
        InvalidInput,
        mentions=("held_on must be a date",),
    )
    assert error.reason == "not_a_date"


def test_the_date_rule_is_checked_when_recording_never_on_replay(
    app: CaseworkApplication, school_id: UUID
):
    # Recorded on 30 November: an intake held that day.
    recorded = new_service(app, school_id, clock=FixedClock(SCHOOL_DAY))
    case_id = _reported(recorded)
    recorded.handle(CONTACT, HoldIntake(case_id=case_id, held_on=SCHOOL_DAY, summary="F"))
    # Read back by a service whose clock says it is a week earlier (a replay, an audit, a
    # clock that is off): the stored intake loads as it was; only new commands are checked.
    earlier = new_service(app, school_id, clock=FixedClock(SCHOOL_DAY - timedelta(days=7)))
    assert earlier.read(CONTACT, case_id).intake_held_on == SCHOOL_DAY
    assert vars(earlier.read(CONTACT, case_id)) == vars(recorded.read(CONTACT, case_id))


# === who did it, and when =======================================================================


def test_an_event_outside_acting_as_raises(app: CaseworkApplication, school_id: UUID, case_id):
    # Creating a case with no acting user set is refused before anything exists.
    with pytest.raises(NoActorError, match="acting_as"):
        Case.report(school_id=school_id, reporter_kind="parent", summary="Fictief")
    # Acting on a loaded case with no acting user: no event is created or stored.
    case = app.get_case(case_id, school_id)
    with pytest.raises(NoActorError):
        case.add_note(text="Fictief")
    assert case.collect_events() == []
    app.save_case(case)
    assert stored_count(app, case_id) == 1


# === the whole story of a case ==================================================================

MENTOR = actor(Role.TEACHER, "user-mentor")
COORDINATOR = actor(Role.COORDINATOR, "user-apc")
ADVISOR = actor(Role.CONFIDENTIAL_ADVISOR, "user-vertrouwenspersoon")


@dataclass
class Story:
    """A case told from report to closing; ``mirror`` is the same case applied live, in memory."""

    service: CaseService
    case_id: UUID
    mirror: Case
    versions: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    commands: set[type[CaseCommand]] = field(default_factory=set)

    def do(self, who: Actor, command: CaseCommand) -> int:
        self.actors[who.user_id] = who
        self.commands.add(type(command))
        if isinstance(command, AddParticipant) and self.service.pupils is not None:
            # The pupil is found in (or added to) the register once; the mirror links the same.
            case = self.service.app.get_case(command.case_id, self.service.school_id)
            command = command.with_pupil(self.service.pupils, who, case)
        version = self.service.handle(who, command)
        with acting_as(who), on_day(self.service.clock.today()):
            command.execute(self.mirror)
        return version


@pytest.fixture
def story(app: CaseworkApplication, service: CaseService) -> Story:
    # A mentor hears of it first and files the report.
    case_id = service.report(
        MENTOR, ReportCase(reporter_kind="staff", summary="Fictieve melding over Test-A")
    )
    first = next(iter(app.events.get(case_id)))
    s = Story(service, case_id, first.mutate(None), actors={MENTOR.user_id: MENTOR})
    c = case_id
    # The contact person takes the case.
    s.do(CONTACT, AssignOwner(case_id=c, owner_id=CONTACT.user_id))
    # Who is involved, each in their role in THIS case.
    s.do(
        CONTACT,
        AddParticipant(
            case_id=c,
            pupil_ref="ref-a",
            role="target",
            display_name="Leerling Test-A",
            group="Groep 7",
        ),
    )
    s.do(
        CONTACT,
        AddParticipant(case_id=c, pupil_ref="ref-b", role="actor", display_name="Leerling Test-B"),
    )
    s.do(CONTACT, AddParticipant(case_id=c, pupil_ref="ref-c", role="bystander"))
    # Intake with the pupil and parents; the situation is mapped; solutions discussed.
    s.do(CONTACT, HoldIntake(case_id=c, held_on=TODAY, summary="Fictief intakegesprek"))
    s.do(
        CONTACT,
        MapSituation(
            case_id=c,
            forms=["verbal", "online"],
            locations=["schoolyard"],
            since=TODAY - timedelta(days=30),
            frequency="weekly",
            impact="high",
            description="Fictief",
        ),
    )
    s.do(
        CONTACT,
        DiscussSolutions(
            case_id=c,
            desired="Fictief: dat het stopt",
            possible="Fictief: gesprek",
            chosen_approach="Fictief: gesprek met pester",
        ),
    )
    # The pupil agrees to a talk with the actor and to engaging the mentor.
    talk_consent = GiveConsent(
        case_id=c, given_by="pupil_and_parents", covers=["talk_with_actor", "engage_colleague"]
    )
    s.do(CONTACT, talk_consent)
    s.versions["consent"] = s.do(
        CONTACT, GiveConsent(case_id=c, given_by="pupil", covers=["group_approach"])
    )
    # The talk is planned and the mentor engaged for it.
    talk = PlanStep(
        case_id=c,
        kind="talk_with_actor",
        description="Fictief gesprek",
        due_on=TODAY + timedelta(days=2),
        assignee_id=MENTOR.user_id,
    )
    s.versions["planned"] = s.do(CONTACT, talk)
    s.do(
        CONTACT,
        EngagePerson(
            case_id=c,
            step_id=talk.step_id,
            user_id=MENTOR.user_id,
            staff_role="teacher",
            purpose="Fictief",
        ),
    )
    # The engaged mentor notes how it went and completes the step.
    s.do(MENTOR, AddNote(case_id=c, text="Fictieve notitie van de mentor"))
    # The mentor adds a fictitious screenshot (checked and stored by services.attachments).
    s.do(
        MENTOR,
        AddAttachment(
            case_id=c,
            attachment_id=uuid4(),
            file_name="schermafbeelding.png",
            media_type="image/png",
            size=10,
            sha256="0" * 64,
            caption="Fictief bijschrift",
        ),
    )
    s.do(MENTOR, CompleteStep(case_id=c, step_id=talk.step_id, outcome="Fictieve uitkomst"))
    # A group approach is planned, then cancelled; the pupil withdraws the first consent.
    group = PlanStep(case_id=c, kind="group_approach", description="Fictieve steungroep")
    s.do(CONTACT, group)
    s.do(CONTACT, CancelStep(case_id=c, step_id=group.step_id, reason="Fictief: niet nodig"))
    s.do(CONTACT, WithdrawConsent(case_id=c, consent_id=talk_consent.consent_id, reason="F"))
    # The contact person phones the parents (the pupil was there) about what was done.
    s.do(
        CONTACT,
        RecordContact(
            case_id=c,
            with_whom="parents",
            channel="phone",
            held_on=TODAY,
            discussed="Fictief: de stappen tot nu toe",
            agreed="Fictief: volgende week weer bellen",
            pupil_present=True,
        ),
    )
    # A fictitious threat online is a criminal offence: the parents are advised to report it.
    s.do(CONTACT, FlagCriminalOffence(case_id=c, description="Fictieve bedreiging"))
    s.do(CONTACT, AdvisePoliceReport(case_id=c, advised_to="parents", note="Fictief"))
    # The threat is registered as an incident; the coordinator marks it serious and records
    # the report to the Inspectie.
    s.do(CONTACT, CategoriseIncident(case_id=c, categories=["threat", "severe_bullying"]))
    coordinator = actor(Role.COORDINATOR, "user-apc")
    s.do(coordinator, MarkSeriousIncident(case_id=c))
    s.do(
        coordinator,
        RecordInspectieReport(
            case_id=c, reported_on=TODAY, channel="inspectie_portal", reference="IvhO-0001"
        ),
    )
    # Agreements are recorded, and aftercare is scheduled and done: it stopped.
    s.do(
        CONTACT,
        RecordAgreement(
            case_id=c,
            text="Fictieve afspraak",
            parties="Test-A, Test-B",
            review_on=TODAY + timedelta(days=14),
        ),
    )
    follow_up = ScheduleFollowUp(case_id=c, due_on=TODAY + timedelta(days=14))
    s.do(CONTACT, follow_up)
    s.do(
        CONTACT,
        CompleteFollowUp(
            case_id=c,
            follow_up_id=follow_up.follow_up_id,
            agreements_kept=True,
            bullying_stopped=True,
            pupil_feels_safe=True,
            notes="Fictief",
        ),
    )
    # The parents were unhappy about the school's pace: the complaints route is explained.
    s.do(CONTACT, ExplainComplaintProcedure(case_id=c, explained_to="Ouders Test-A"))
    complaint = FileComplaint(case_id=c, complainant="Ouders Test-A", summary="Fictieve klacht")
    s.do(SCHOOL_CONTACT, complaint)
    k = complaint.complaint_id
    s.do(
        SCHOOL_CONTACT,
        AssignComplaintSupport(
            case_id=c, complaint_id=k, user_id=ADVISOR.user_id, support_role="confidential_advisor"
        ),
    )
    # Management decides; the parents go to the board, which decides too.
    s.do(MANAGEMENT, DecideComplaint(case_id=c, complaint_id=k, outcome="rejected", summary="F"))
    s.do(SCHOOL_CONTACT, EscalateComplaint(case_id=c, complaint_id=k, to_level="board", reason="F"))
    s.do(BOARD, DecideComplaint(case_id=c, complaint_id=k, outcome="partly_upheld", summary="F"))
    # A second complaint, straight to the committee, is withdrawn again.
    second = FileComplaint(
        case_id=c,
        complainant="Ouders Test-A",
        summary="F",
        level="committee",
        skip_reason="Fictieve reden",
    )
    s.do(ADVISOR, second)
    s.do(ADVISOR, WithdrawComplaint(case_id=c, complaint_id=second.complaint_id, reason="F"))
    # The case is evaluated and the lessons go to the coordinator.
    s.do(
        CONTACT,
        EvaluateCase(
            case_id=c,
            went_well="F",
            to_improve="F",
            lessons=["Fictieve les 1", " ", "Fictieve les 2"],
        ),
    )
    s.do(CONTACT, ShareLessons(case_id=c, coordinator_id=COORDINATOR.user_id))
    # Closed as resolved.
    s.versions["closed"] = s.do(CONTACT, CloseCase(case_id=c, reason="resolved"))
    # It starts again; the case is reopened, then referred to the care team.
    s.do(CONTACT, ReopenCase(case_id=c, reason="Fictief: opnieuw"))
    s.do(CONTACT, CloseCase(case_id=c, reason="referred", explanation="Fictief: zorgteam"))
    # The parents ask for the pupils' data to be erased (allowed on a closed case).
    s.do(CONTACT, RequestErasure(case_id=c, reason="Fictief verzoek"))
    # And the passages that mention them are redacted (ids as the passage finder lists them).
    s.versions["final"] = s.do(
        CONTACT, RedactPassages(case_id=c, passages=["ab" * 16], reason="Fictief verzoek")
    )
    return s


#: Only a report through the public form has these; tests/unit/test_public_reports.py tells
#: that story (and checks it uses them all).
PUBLIC_FORM_EVENTS = frozenset({"ReporterAccessIssued", "ReporterMessagePosted"})
PUBLIC_FORM_COMMANDS = frozenset({"ReplyToReporter"})


def test_the_story_uses_every_event_type(app: CaseworkApplication, story: Story):
    recorded = set(stored_types(app, story.case_id))
    assert recorded == {t.__name__ for t in EVENT_TYPES} - PUBLIC_FORM_EVENTS


def test_the_story_uses_every_command(story: Story):
    every = {c for c in _all_case_commands() if c.__name__ not in PUBLIC_FORM_COMMANDS}
    assert every == story.commands


def _all_case_commands() -> list[type[CaseCommand]]:
    found, todo = [], list(CaseCommand.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_replaying_the_log_equals_the_live_case(app: CaseworkApplication, story: Story):
    # Fold the stored (encoded, then decoded) events into a fresh aggregate.
    replayed: Case | None = None
    for stored in app.events.get(story.case_id):
        replayed = stored.mutate(replayed)
    loaded = story.service.read(CONTACT, story.case_id)
    assert replayed is not None
    # Same state as the repository's load and as the case mutated live, event by event
    # (the live mirror created its own events, so only its timestamps differ).
    assert vars(replayed) == vars(loaded)
    skip = {"_modified_on", "_pending_events"}
    live = {k: v for k, v in vars(story.mirror).items() if k not in skip}
    assert {k: v for k, v in vars(replayed).items() if k not in skip} == live
    assert replayed.version == story.versions["final"] == story.mirror.version


def test_the_case_as_it_was_at_any_version(story: Story):
    read = story.service.read
    # Right after consent was recorded: consents, no steps yet.
    at_consent = read(COORDINATOR, story.case_id, version=story.versions["consent"])
    assert len(at_consent.consents) == 2
    assert at_consent.steps == {}
    assert at_consent.version == story.versions["consent"]
    # Right after planning: one planned step, nobody engaged yet.
    at_planned = read(COORDINATOR, story.case_id, version=story.versions["planned"])
    assert [s.status for s in at_planned.steps.values()] == ["planned"]
    assert at_planned.engaged_user_ids == set()
    # At the first closing: closed as resolved, never reopened.
    at_closed = read(COORDINATOR, story.case_id, version=story.versions["closed"])
    assert at_closed.is_closed
    assert at_closed.close_reason == "resolved"
    assert at_closed.reopened == 0
    # Now: reopened once, closed as referred.
    now = read(COORDINATOR, story.case_id)
    assert (now.close_reason, now.reopened, now.lessons) == (
        "referred",
        1,
        ["Fictieve les 1", "Fictieve les 2"],
    )


def test_every_event_carries_who_in_which_role_and_when_in_utc(
    app: CaseworkApplication, story: Story
):
    events = list(app.events.get(story.case_id))
    assert events[0].actor_id == MENTOR.user_id
    assert events[0].actor_role == "teacher"
    for e in events:
        assert isinstance(e, Case.Event)
        assert e.actor_id in story.actors, type(e).__name__
        assert e.actor_role == story.actors[e.actor_id].role.value, type(e).__name__
        assert e.timestamp.tzinfo is not None
        assert e.timestamp.utcoffset() == timedelta(0)
        assert e.timestamp.astimezone(UTC) == e.timestamp
    # Timestamps never go back.
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    # Each role shows up as itself.
    roles = {(e.actor_id, e.actor_role) for e in events}
    assert (BOARD.user_id, "board") in roles
    assert (MANAGEMENT.user_id, "management") in roles
    assert (SCHOOL_CONTACT.user_id, "school_contact") in roles


def test_a_long_case_keeps_saving_and_loading(service: CaseService, case_id: UUID):
    # Regression: the 50th event used to trigger an automatic snapshot that could not be encoded,
    # raising *after* the event was stored. A long case saves, loads and replays normally.
    consent(service, case_id, StepKind.OTHER)
    plan(service, case_id, StepKind.OTHER)
    for i in range(120):
        assert service.handle(CONTACT, AddNote(case_id=case_id, text=f"Fictief {i}")) == i + 4
    case = service.read(CONTACT, case_id)
    assert case.version == 123
    assert case.notes == 120
    assert not case.is_closed
    close_referred(service, case_id)
    assert service.read(CONTACT, case_id).is_closed


def test_rescheduling_a_follow_up_cannot_erase_a_bad_aftercare_result(
    service: CaseService, case_id: UUID
):
    # Regression: re-using a follow-up id reset its recorded result, so a case could close as
    # resolved although the latest aftercare found the bullying going on.
    early = ScheduleFollowUp(case_id=case_id, due_on=TODAY)
    late = ScheduleFollowUp(case_id=case_id, due_on=TODAY + timedelta(days=14))
    service.handle(CONTACT, early)
    service.handle(CONTACT, late)
    # The first check: stopped. The later check: it goes on.
    for follow_up, stopped in ((early, True), (late, False)):
        service.handle(
            CONTACT,
            CompleteFollowUp(
                case_id=case_id,
                follow_up_id=follow_up.follow_up_id,
                agreements_kept=stopped,
                bullying_stopped=stopped,
                pupil_feels_safe=stopped,
            ),
        )
    # Scheduling the later follow-up again under the same id is refused ...
    refused(
        service,
        CONTACT,
        ScheduleFollowUp(case_id=case_id, due_on=TODAY, follow_up_id=late.follow_up_id),
        InvalidInput,
        mentions=("already exists", str(late.follow_up_id)),
    )
    # ... so the case still cannot close as resolved.
    evaluate(service, case_id)
    refused(service, CONTACT, _close_resolved(case_id), CloseNotAllowed, mentions=(AFTERCARE,))


def test_a_consent_id_is_recorded_once(service: CaseService, case_id: UUID):
    # Regression: re-using a consent id silently replaced (or un-withdrew) a recorded consent.
    given = consent(service, case_id, StepKind.TALK_WITH_ACTOR)
    withdraw(service, case_id, given)
    refused(
        service,
        CONTACT,
        GiveConsent(case_id=case_id, given_by="pupil", covers=["other"], consent_id=given),
        InvalidInput,
        mentions=("already exists",),
    )
    assert service.read(CONTACT, case_id).consents[given].withdrawn
