"""Properties of any case log, whatever order people act in.

Hypothesis draws sequences of commands (with ids from small pools, so they hit each other: steps
planned twice, consent withdrawn and given again, complaints escalated past each other, cases
closed and reopened) and runs them through :class:`CaseService` on the in-memory store. The
stored log is then checked against the invariants of DESIGN.md §3 by an independent replay that
knows nothing of the aggregate's code.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.access.roles import Role
from services.casework.commands import (
    AddNote,
    AdvisePoliceReport,
    CancelStep,
    CaseCommand,
    CloseCase,
    CompleteFollowUp,
    CompleteStep,
    EngagePerson,
    EvaluateCase,
    FlagCriminalOffence,
    GiveConsent,
    PlanStep,
    ReopenCase,
    ReportCase,
    ScheduleFollowUp,
    WithdrawConsent,
)
from services.casework.domain import Case
from services.casework.vocabulary import ComplaintLevel, StepKind
from services.complaints.commands import (
    DecideComplaint,
    EscalateComplaint,
    FileComplaint,
    WithdrawComplaint,
)
from services.shared.actor import Actor, acting_as
from services.shared.errors import DomainError
from tests.unit.support import (
    BOARD,
    CONTACT,
    MANAGEMENT,
    SCHOOL_CONTACT,
    actor,
    new_app,
    new_service,
)

MENTOR_ID = actor(Role.TEACHER, "user-mentor").user_id
IB_ID = actor(Role.CARE_COORDINATOR, "user-ib").user_id

PLACEHOLDER = UUID(int=0)  # replaced by the real case id when a command is run


def pool(name: str, size: int) -> list[UUID]:
    """A few fixed ids, the same in every run (so that failing examples replay)."""
    return [uuid5(NAMESPACE_URL, f"vangnet-test:{name}:{i}") for i in range(size)]


STEPS = pool("step", 3)
CONSENTS = pool("consent", 3)
FOLLOW_UPS = pool("follow-up", 2)
COMPLAINTS = pool("complaint", 2)
# Three kinds, so that consents overlap and miss each other often.
KINDS = [StepKind.TALK_WITH_ACTOR, StepKind.GROUP_APPROACH, StepKind.OTHER]
DAY = date(2026, 3, 2)

kinds = st.sampled_from(KINDS)
steps = st.sampled_from(STEPS)
complaints = st.sampled_from(COMPLAINTS)
follow_ups = st.sampled_from(FOLLOW_UPS)
levels = st.sampled_from([lvl.value for lvl in ComplaintLevel])
skip = st.sampled_from(["", "Fictieve reden"])
c = PLACEHOLDER


def _as(who: Actor, command: st.SearchStrategy[CaseCommand]):
    return st.tuples(st.just(who), command)


_ALL_OPERATIONS = (
    _as(
        CONTACT,
        st.builds(
            GiveConsent,
            case_id=st.just(c),
            given_by=st.just("pupil"),
            covers=st.lists(kinds, min_size=1, max_size=2),
            consent_id=st.sampled_from(CONSENTS),
        ),
    ),
    _as(
        CONTACT,
        st.builds(WithdrawConsent, case_id=st.just(c), consent_id=st.sampled_from(CONSENTS)),
    ),
    _as(
        CONTACT,
        st.builds(
            PlanStep, case_id=st.just(c), kind=kinds, description=st.just("F"), step_id=steps
        ),
    ),
    _as(
        CONTACT,
        st.builds(
            EngagePerson,
            case_id=st.just(c),
            step_id=steps,
            user_id=st.sampled_from([MENTOR_ID, IB_ID]),
            staff_role=st.just(""),
        ),
    ),
    _as(CONTACT, st.builds(CompleteStep, case_id=st.just(c), step_id=steps, outcome=st.just("F"))),
    _as(CONTACT, st.builds(CancelStep, case_id=st.just(c), step_id=steps, reason=st.just("F"))),
    _as(CONTACT, st.builds(FlagCriminalOffence, case_id=st.just(c), description=st.just("F"))),
    _as(
        CONTACT,
        st.builds(
            AdvisePoliceReport,
            case_id=st.just(c),
            advised_to=st.sampled_from(["parents", "adult_pupil"]),
        ),
    ),
    _as(
        CONTACT,
        st.builds(
            ScheduleFollowUp, case_id=st.just(c), due_on=st.just(DAY), follow_up_id=follow_ups
        ),
    ),
    _as(
        CONTACT,
        st.builds(
            CompleteFollowUp,
            case_id=st.just(c),
            follow_up_id=follow_ups,
            agreements_kept=st.booleans(),
            bullying_stopped=st.booleans(),
            pupil_feels_safe=st.booleans(),
        ),
    ),
    _as(CONTACT, st.builds(EvaluateCase, case_id=st.just(c), lessons=st.just(["F"]))),
    _as(
        CONTACT,
        st.builds(
            CloseCase,
            case_id=st.just(c),
            reason=st.sampled_from(["resolved", "resolved", "referred", "withdrawn"]),
            explanation=st.sampled_from(["", "Fictieve uitleg"]),
        ),
    ),
    _as(CONTACT, st.builds(ReopenCase, case_id=st.just(c), reason=st.just("F"))),
    _as(CONTACT, st.builds(AddNote, case_id=st.just(c), text=st.just("Fictieve notitie"))),
    _as(
        SCHOOL_CONTACT,
        st.builds(
            FileComplaint,
            case_id=st.just(c),
            complainant=st.just("Ouder Test-A"),
            summary=st.just("F"),
            level=levels,
            skip_reason=skip,
            complaint_id=complaints,
        ),
    ),
    _as(
        SCHOOL_CONTACT,
        st.builds(
            EscalateComplaint,
            case_id=st.just(c),
            complaint_id=complaints,
            to_level=levels,
            reason=st.just("F"),
            skip_reason=skip,
        ),
    ),
    st.tuples(
        st.sampled_from([MANAGEMENT, BOARD]),
        st.builds(
            DecideComplaint,
            case_id=st.just(c),
            complaint_id=complaints,
            outcome=st.just("rejected"),
            summary=st.just("F"),
        ),
    ),
    _as(SCHOOL_CONTACT, st.builds(WithdrawComplaint, case_id=st.just(c), complaint_id=complaints)),
)


def _step_story(
    consent_id: UUID,
    consent_kind: StepKind,
    kind: StepKind,
    step_id: UUID,
    upto: int,
    withdraw_at: int,
) -> list[tuple[Actor, CaseCommand]]:
    """Consent, plan, engage, complete: in order, so that steps get far (random single
    operations interleave with these groups, consent may not cover the planned kind, and the
    consent may be withdrawn part-way)."""
    story: list[tuple[Actor, CaseCommand]] = [
        (
            CONTACT,
            GiveConsent(case_id=c, given_by="pupil", covers=[consent_kind], consent_id=consent_id),
        ),
        (CONTACT, PlanStep(case_id=c, kind=kind, description="F", step_id=step_id)),
        (
            CONTACT,
            EngagePerson(case_id=c, step_id=step_id, user_id=MENTOR_ID, staff_role="teacher"),
        ),
        (CONTACT, CompleteStep(case_id=c, step_id=step_id, outcome="F")),
    ][:upto]
    if withdraw_at:
        story.insert(withdraw_at, (CONTACT, WithdrawConsent(case_id=c, consent_id=consent_id)))
    return story


STEP_STORY = st.builds(
    _step_story,
    st.sampled_from(CONSENTS),
    kinds,
    kinds,
    steps,
    st.integers(min_value=2, max_value=4),
    st.integers(min_value=0, max_value=2),
)


def _aftercare_story(
    follow_up_id: UUID, stopped: bool, evaluate: bool, reschedule: bool
) -> list[tuple[Actor, CaseCommand]]:
    story: list[tuple[Actor, CaseCommand]] = [
        (CONTACT, ScheduleFollowUp(case_id=c, due_on=DAY, follow_up_id=follow_up_id)),
        (
            CONTACT,
            CompleteFollowUp(
                case_id=c,
                follow_up_id=follow_up_id,
                agreements_kept=stopped,
                bullying_stopped=stopped,
                pupil_feels_safe=stopped,
            ),
        ),
    ]
    if reschedule:  # the same follow-up again, after its result was recorded
        story.append((CONTACT, ScheduleFollowUp(case_id=c, due_on=DAY, follow_up_id=follow_up_id)))
    if evaluate:
        story.append((CONTACT, EvaluateCase(case_id=c, lessons=["F"])))
    return story


def _complaint_story(
    complaint_id: UUID, to_level: str, skip_reason: str, decider: Actor
) -> list[tuple[Actor, CaseCommand]]:
    return [
        (
            SCHOOL_CONTACT,
            FileComplaint(case_id=c, complainant="O", summary="F", complaint_id=complaint_id),
        ),
        (
            SCHOOL_CONTACT,
            EscalateComplaint(
                case_id=c,
                complaint_id=complaint_id,
                to_level=to_level,
                reason="F",
                skip_reason=skip_reason,
            ),
        ),
        (
            decider,
            DecideComplaint(case_id=c, complaint_id=complaint_id, outcome="upheld", summary="F"),
        ),
    ]


AFTERCARE_STORY = st.builds(
    _aftercare_story, follow_ups, st.booleans(), st.booleans(), st.booleans()
)
COMPLAINT_STORY = st.builds(
    _complaint_story, complaints, levels, skip, st.sampled_from([MANAGEMENT, BOARD])
)
CLOSE_STORY = st.builds(
    lambda reason, explanation, reopen: [
        (CONTACT, CloseCase(case_id=c, reason=reason, explanation=explanation)),
        (CONTACT, ReopenCase(case_id=c, reason="F")),
    ][: 2 if reopen else 1],
    st.sampled_from(["resolved", "referred", "withdrawn"]),
    st.sampled_from(["", "Fictieve uitleg"]),
    st.booleans(),
)
OFFENCE_STORY = st.builds(
    lambda flag, cancel_step: (
        ([(CONTACT, FlagCriminalOffence(case_id=c, description="F"))] if flag else [])
        + [(CONTACT, AdvisePoliceReport(case_id=c, advised_to="parents"))]
        + ([(CONTACT, CancelStep(case_id=c, step_id=cancel_step, reason="F"))])
    ),
    st.booleans(),
    steps,
)
SINGLE = st.lists(st.one_of(*_ALL_OPERATIONS), min_size=1, max_size=1)
# A drawn operation is a group: mostly one random command, sometimes a short story.
OPERATIONS = st.one_of(
    SINGLE,
    SINGLE,
    SINGLE,
    SINGLE,
    STEP_STORY,
    AFTERCARE_STORY,
    COMPLAINT_STORY,
    CLOSE_STORY,
    OFFENCE_STORY,
)

# The one event each command records when accepted.
EVENT_OF = {
    GiveConsent: Case.ConsentGiven,
    WithdrawConsent: Case.ConsentWithdrawn,
    PlanStep: Case.StepPlanned,
    EngagePerson: Case.PersonEngaged,
    CompleteStep: Case.StepCompleted,
    CancelStep: Case.StepCancelled,
    FlagCriminalOffence: Case.CriminalOffenceFlagged,
    AdvisePoliceReport: Case.PoliceReportAdvised,
    ScheduleFollowUp: Case.FollowUpScheduled,
    CompleteFollowUp: Case.FollowUpCompleted,
    EvaluateCase: Case.CaseEvaluated,
    CloseCase: Case.CaseClosed,
    ReopenCase: Case.CaseReopened,
    AddNote: Case.NoteAdded,
    FileComplaint: Case.ComplaintFiled,
    EscalateComplaint: Case.ComplaintEscalated,
    DecideComplaint: Case.ComplaintDecided,
    WithdrawComplaint: Case.ComplaintWithdrawn,
}

RANK = {lvl.value: lvl.rank for lvl in ComplaintLevel}
CASEWORK_AFTER_CLOSING = (
    Case.ConsentGiven,
    Case.ConsentWithdrawn,
    Case.StepPlanned,
    Case.PersonEngaged,
    Case.StepCompleted,
    Case.StepCancelled,
    Case.CriminalOffenceFlagged,
    Case.PoliceReportAdvised,
    Case.FollowUpScheduled,
    Case.FollowUpCompleted,
    Case.CaseEvaluated,
    Case.NoteAdded,
    Case.CaseClosed,
)


def check_log(events: list[Case.Event]) -> None:
    """Replay the log independently and check every invariant at every event."""
    consents: dict[UUID, tuple[frozenset[str], bool]] = {}  # id -> (covers, withdrawn)
    step_kinds: dict[UUID, str] = {}
    offence = False
    complaint_level: dict[UUID, str] = {}
    latest_aftercare_stopped: bool | None = None
    evaluated = False
    closed = False

    def covered(kind: str) -> bool:
        return any(kind in covers and not withdrawn for covers, withdrawn in consents.values())

    for i, e in enumerate(events):
        where = f"event {i} {type(e).__name__}"
        # (a) no step planned, engaged for or completed without non-withdrawn covering consent
        if isinstance(e, Case.StepPlanned):
            assert covered(e.kind), where
            step_kinds[e.step_id] = e.kind
        elif isinstance(e, Case.PersonEngaged | Case.StepCompleted):
            assert covered(step_kinds[e.step_id]), where
        # (b) no police advice without an earlier flagged offence
        elif isinstance(e, Case.PoliceReportAdvised):
            assert offence, where
        # (d) complaint levels never go down, skipping needs a reason
        elif isinstance(e, Case.ComplaintFiled):
            assert e.complaint_id not in complaint_level, where
            assert RANK[e.level] == 0 or e.skip_reason, where
            complaint_level[e.complaint_id] = e.level
        elif isinstance(e, Case.ComplaintEscalated):
            current = complaint_level[e.complaint_id]
            assert e.from_level == current, where
            assert RANK[e.to_level] > RANK[current], where
            assert RANK[e.to_level] == RANK[current] + 1 or e.skip_reason, where
            complaint_level[e.complaint_id] = e.to_level
        elif isinstance(e, Case.ComplaintDecided):
            assert e.level == complaint_level[e.complaint_id], where
        # (e) closed only as resolved after the latest aftercare found it stopped and an
        # evaluation (both since the last reopening), or with an explanation; no casework while
        # closed
        if closed:
            assert not isinstance(e, CASEWORK_AFTER_CLOSING), where
        if isinstance(e, Case.CaseClosed):
            if e.reason == "resolved":
                assert latest_aftercare_stopped is True, where
                assert evaluated, where
            else:
                assert e.explanation, where
            closed = True
        elif isinstance(e, Case.CaseReopened):
            assert closed, where
            closed, latest_aftercare_stopped, evaluated = False, None, False
        # the replay's own state
        if isinstance(e, Case.ConsentGiven):
            consents[e.consent_id] = (frozenset(e.covers), False)
        elif isinstance(e, Case.ConsentWithdrawn):
            consents[e.consent_id] = (consents[e.consent_id][0], True)
        elif isinstance(e, Case.CriminalOffenceFlagged):
            offence = True
        elif isinstance(e, Case.FollowUpCompleted):
            latest_aftercare_stopped = e.bullying_stopped
        elif isinstance(e, Case.CaseEvaluated):
            evaluated = True


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(groups=st.lists(OPERATIONS, min_size=8, max_size=30))
def test_any_sequence_of_commands_leaves_a_log_that_keeps_the_invariants(
    groups: list[list[tuple[Actor, CaseCommand]]],
):
    service = new_service(new_app(), uuid4())
    case_id = service.report(CONTACT, ReportCase(reporter_kind="peer", summary="Fictief"))
    accepted = 0
    for who, template in (op for group in groups for op in group):
        command = dataclasses.replace(template, case_id=case_id)
        before = list(service.app.events.get(case_id))
        try:
            version = service.handle(who, command)
        except DomainError:
            # (c) a refused command adds nothing
            assert len(list(service.app.events.get(case_id))) == len(before)
            continue
        accepted += 1
        # (c) an accepted command adds exactly one event, of its own kind, as the new version
        after = list(service.app.events.get(case_id))
        assert len(after) == len(before) + 1
        assert after[:-1] == before
        assert type(after[-1]) is EVENT_OF[type(command)]
        assert after[-1].originator_version == version == len(after)
        assert after[-1].actor_id == who.user_id
        event(f"accepted {type(after[-1]).__name__}")
    events = list(service.app.events.get(case_id))
    # (c) the log is the report plus one event per accepted command
    assert len(events) == accepted + 1
    check_log(events)
    # and the aggregate's state agrees with a fresh replay
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert vars(replayed) == vars(service.read(CONTACT, case_id))


def test_the_property_checker_catches_a_bad_log():
    # The checker itself must fail on a log that breaks an invariant: a step with no consent.
    service = new_service(new_app(), uuid4())
    case_id = service.report(CONTACT, ReportCase(reporter_kind="peer", summary="Fictief"))
    case = service.app.get_case(case_id, service.school_id)
    with acting_as(CONTACT):
        case._plan_step(  # the private event method, bypassing the rule on purpose
            step_id=uuid4(), kind="other", description="F", due_on=None, assignee_id=None
        )
    with pytest.raises(AssertionError, match="StepPlanned"):
        check_log([*service.app.events.get(case_id), *case.collect_events()])
