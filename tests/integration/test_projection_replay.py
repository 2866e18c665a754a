"""Replay equals live, for every view in ALL_VIEWS (DESIGN.md §4).

Hypothesis drives random command sequences through CaseService on a real, fresh school per
example, catching the views up between commands in random batch sizes (sometimes one batch only,
sometimes a subset of the views). Refused commands are part of the mix: they store nothing.
Finally ``verify_school`` rebuilds every view from the log into scratch tables and compares them
with the incrementally built live tables: there must be no difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from infra.adapters.people.store import PostgresPeopleStore
from infra.bootstrap.container import Container
from infra.bootstrap.demo import seed_school
from infra.bootstrap.views import ensure_school_views, verify_school
from projections.engine import catch_up, catch_up_batch
from projections.views import ALL_VIEWS
from services.access.roles import Role
from services.casework import commands as c
from services.casework.handlers import CaseService
from services.casework.vocabulary import Form, Location, StepKind
from services.complaints import commands as k
from services.shared.actor import Actor
from services.shared.errors import DomainError
from tests.integration.readside import case_service, new_school, today
from tests.unit.support import BOARD, CONTACT, MANAGEMENT, SCHOOL_CONTACT, actor

pytestmark = pytest.mark.integration

MENTOR = actor(Role.TEACHER, "user-mentor")
COORDINATOR = actor(Role.COORDINATOR, "user-apc")
OWNERS = [actor(Role.CONTACT_PERSON, name).user_id for name in ("u1", "u2")]
ADVISOR = actor(Role.CONFIDENTIAL_ADVISOR, "u3")
TEXT = "Fictieve tekst"
# The board decides at the committee, on its advice (COMPLAINT_DECIDERS, services.complaints).
DECIDER = {"management": MANAGEMENT, "board": BOARD, "committee": BOARD}


@dataclass
class Model:
    """Ids handed out so far (commands may still be refused: ids are guesses, on purpose)."""

    cases: list[UUID] = field(default_factory=list)
    consents: dict[UUID, list[UUID]] = field(default_factory=dict)
    steps: dict[UUID, list[UUID]] = field(default_factory=dict)
    follow_ups: dict[UUID, list[UUID]] = field(default_factory=dict)
    complaints: dict[UUID, list[tuple[UUID, str]]] = field(default_factory=dict)
    covers: dict[UUID, set[str]] = field(default_factory=dict)


Draw = Callable[[st.SearchStrategy[Any]], Any]


def pick(draw: Draw, ids: list[Any]) -> Any:
    return draw(st.sampled_from(ids)) if ids else uuid4()


def some(draw: Draw, values: Any, min_size: int = 1) -> list[str]:
    return draw(st.lists(st.sampled_from([v.value for v in values]), min_size=min_size,
                         max_size=3, unique=True))  # fmt: skip


#: Command kinds; casework that builds on earlier steps comes more often, closing less often.
KINDS = [
    *["consent", "plan", "engage", "complete", "follow_up", "follow_up_done", "complaint"] * 2,
    "owner", "participant", "intake", "situation", "solutions", "withdraw", "cancel",
    "offence", "police", "agreement", "note", "explain", "support", "escalate", "decide",
    "withdraw_complaint", "evaluate", "share", "close", "reopen", "report",
]  # fmt: skip


def command(draw: Draw, m: Model) -> tuple[Actor, Any]:
    """One command on a random existing case (or a new report)."""
    kind = draw(st.sampled_from(KINDS)) if m.cases else "report"
    if kind == "report":
        return CONTACT, c.ReportCase(reporter_kind="staff", summary=TEXT)
    case_id = draw(st.sampled_from(m.cases))
    day = today() + timedelta(days=draw(st.integers(-3, 20)))
    cid = {"case_id": case_id}
    steps, consents = m.steps.setdefault(case_id, []), m.consents.setdefault(case_id, [])
    follow_ups = m.follow_ups.setdefault(case_id, [])
    complaints = m.complaints.setdefault(case_id, [])
    if kind == "owner":
        return CONTACT, c.AssignOwner(**cid, owner_id=draw(st.sampled_from(OWNERS)))
    if kind == "participant":
        return CONTACT, c.AddParticipant(
            **cid, pupil_ref=draw(st.sampled_from(["p1", "p2", "p3"])),
            role=draw(st.sampled_from(["target", "actor", "bystander", "supporter"])),
            display_name="Leerling Test-A",
        )  # fmt: skip
    if kind == "intake":
        # The day an intake was held is never after today (later days are refused).
        return CONTACT, c.HoldIntake(**cid, held_on=min(day, today()), summary=TEXT)
    if kind == "situation":
        return CONTACT, c.MapSituation(
            **cid, forms=some(draw, Form), locations=some(draw, Location, 0),
            frequency="weekly", impact=draw(st.sampled_from(["low", "moderate", "high"])),
        )  # fmt: skip
    if kind == "solutions":
        return CONTACT, c.DiscussSolutions(**cid, desired=TEXT, chosen_approach=TEXT)
    if kind == "consent":
        consent_id = uuid4()
        consents.append(consent_id)
        covers = some(draw, StepKind)
        m.covers.setdefault(case_id, set()).update(covers)
        return CONTACT, c.GiveConsent(**cid, consent_id=consent_id, given_by="pupil",
                                      covers=covers)  # fmt: skip
    if kind == "withdraw":
        return CONTACT, c.WithdrawConsent(**cid, consent_id=pick(draw, consents))
    if kind == "plan":
        step_id = uuid4()
        steps.append(step_id)
        covered = sorted(m.covers.get(case_id, set()))
        kinds = st.sampled_from([s.value for s in StepKind])
        step_kind = draw(st.sampled_from(covered) | kinds if covered else kinds)
        return CONTACT, c.PlanStep(
            **cid, step_id=step_id, kind=step_kind,
            description=TEXT, due_on=draw(st.none() | st.just(day)),
        )  # fmt: skip
    if kind == "engage":
        return CONTACT, c.EngagePerson(**cid, step_id=pick(draw, steps),
                                       user_id=MENTOR.user_id, staff_role="teacher")  # fmt: skip
    if kind == "complete":
        who = draw(st.sampled_from([CONTACT, MENTOR]))
        return who, c.CompleteStep(**cid, step_id=pick(draw, steps), outcome=TEXT)
    if kind == "cancel":
        return CONTACT, c.CancelStep(**cid, step_id=pick(draw, steps), reason=TEXT)
    if kind == "offence":
        return CONTACT, c.FlagCriminalOffence(**cid, description=TEXT)
    if kind == "police":
        return CONTACT, c.AdvisePoliceReport(**cid, advised_to="parents")
    if kind == "agreement":
        return CONTACT, c.RecordAgreement(**cid, text=TEXT, parties=TEXT)
    if kind == "follow_up":
        follow_up_id = uuid4()
        follow_ups.append(follow_up_id)
        return CONTACT, c.ScheduleFollowUp(**cid, follow_up_id=follow_up_id, due_on=day)
    if kind == "follow_up_done":
        return CONTACT, c.CompleteFollowUp(
            **cid, follow_up_id=pick(draw, follow_ups), agreements_kept=draw(st.booleans()),
            bullying_stopped=draw(st.booleans()), pupil_feels_safe=draw(st.booleans()),
        )  # fmt: skip
    if kind == "note":
        return draw(st.sampled_from([CONTACT, COORDINATOR, MENTOR])), c.AddNote(**cid, text=TEXT)
    if kind == "explain":
        return SCHOOL_CONTACT, k.ExplainComplaintProcedure(**cid, explained_to="ouders")
    if kind == "complaint":
        level = draw(st.sampled_from(["management", "board", "committee"]))
        complaint_id = uuid4()
        complaints.append((complaint_id, level))
        return SCHOOL_CONTACT, k.FileComplaint(
            **cid, complaint_id=complaint_id, complainant="ouders", summary=TEXT, level=level,
            skip_reason="" if level == "management" else TEXT,
        )  # fmt: skip
    if kind == "support":
        complaint_id, _ = pick(draw, complaints) if complaints else (uuid4(), "")
        return SCHOOL_CONTACT, k.AssignComplaintSupport(
            **cid,
            complaint_id=complaint_id,
            user_id=ADVISOR.user_id,
            support_role="confidential_advisor",
        )
    if kind == "escalate":
        complaint_id, _ = pick(draw, complaints) if complaints else (uuid4(), "")
        return SCHOOL_CONTACT, k.EscalateComplaint(
            **cid, complaint_id=complaint_id,
            to_level=draw(st.sampled_from(["board", "committee"])), reason=TEXT, skip_reason=TEXT,
        )  # fmt: skip
    if kind == "decide":
        complaint_id, level = pick(draw, complaints) if complaints else (uuid4(), "management")
        who = draw(st.sampled_from([DECIDER[level], MANAGEMENT]))
        return who, k.DecideComplaint(**cid, complaint_id=complaint_id,
                                      outcome="upheld", summary=TEXT)  # fmt: skip
    if kind == "withdraw_complaint":
        complaint_id, _ = pick(draw, complaints) if complaints else (uuid4(), "")
        return SCHOOL_CONTACT, k.WithdrawComplaint(**cid, complaint_id=complaint_id)
    if kind == "evaluate":
        lessons = draw(st.lists(st.just(TEXT), max_size=2))
        return CONTACT, c.EvaluateCase(**cid, went_well=TEXT, lessons=lessons)
    if kind == "share":
        return CONTACT, c.ShareLessons(**cid, coordinator_id=COORDINATOR.user_id)
    if kind == "close":
        reason = draw(st.sampled_from(["resolved", "referred", "withdrawn"]))
        return CONTACT, c.CloseCase(
            **cid, reason=reason, explanation=TEXT,
            open_complaints_acknowledged=draw(st.booleans()),
        )  # fmt: skip
    assert kind == "reopen"
    return CONTACT, c.ReopenCase(**cid, reason=TEXT)


def run_command(service: CaseService, m: Model, who: Actor, cmd: Any) -> bool:
    try:
        if isinstance(cmd, c.ReportCase):
            m.cases.append(service.report(who, cmd))
        else:
            service.handle(who, cmd)
    except DomainError:
        return False
    return True


@settings(
    max_examples=25,
    deadline=None,
    # Shrinking command sequences against PostgreSQL takes minutes; a failure prints its
    # (unshrunk) draws. Add Phase.shrink locally to minimise one.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_replay_equals_live_for_every_view(container: Container, data: st.DataObject) -> None:
    school = new_school(container)
    service = case_service(container, school)
    target = ensure_school_views(container, school.id)
    mapper = container.schools.get(school.id).read_side_mapper()
    m = Model()
    stored = 0
    for _ in range(data.draw(st.integers(5, 50), label="commands")):
        who, cmd = command(data.draw, m)
        stored += run_command(service, m, who, cmd)
        how = data.draw(st.sampled_from(["none", "none", "all", "one_batch", "some_views"]))
        if how == "none":
            continue
        size = data.draw(st.integers(1, 7), label="batch size")
        with container.pool.connection() as conn:
            if how == "all":
                catch_up(conn, target, mapper, ALL_VIEWS, batch_size=size)
            elif how == "one_batch":
                catch_up_batch(conn, target, mapper, ALL_VIEWS, batch_size=size)
            else:
                views = data.draw(
                    st.lists(st.sampled_from(ALL_VIEWS), min_size=1, unique_by=lambda v: v.name)
                )
                catch_up(conn, target, mapper, views, batch_size=size)
    # verify_school catches the live views up (default batch size), then rebuilds and compares.
    assert verify_school(container, school.id) == []


def test_replay_equals_live_on_the_demo_school(container: Container) -> None:
    """Every event type at least once (the demo seed uses all of them), caught up in small
    batches, then verified."""
    school = new_school(container)
    seed_school(
        case_service(container, school),
        school.slug,
        people=PostgresPeopleStore(container.schools.get(school.id), school.id, school.schema_name),
        public=container.public_reports(school.id),
    )
    target = ensure_school_views(container, school.id)
    mapper = container.schools.get(school.id).read_side_mapper()
    with container.pool.connection() as conn:
        assert catch_up(conn, target, mapper, ALL_VIEWS, batch_size=7) > 0
    assert verify_school(container, school.id) == []
