"""The escalation view and its signals on real PostgreSQL: each signal kind appears exactly when
it should (days via ``today``), and the complaint ladder per case."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from infra.bootstrap.container import Container
from projections.escalation.queries import (
    SIGNAL_LABELS_NL,
    Signal,
    SignalKind,
    escalations,
    signals,
)
from services.casework.commands import (
    AdvisePoliceReport,
    CancelStep,
    CloseCase,
    CompleteFollowUp,
    FlagCriminalOffence,
    GiveConsent,
    PlanStep,
    RecordAgreement,
    RecordContact,
    ReopenCase,
    ScheduleFollowUp,
    WithdrawConsent,
)
from services.casework.protocol import (
    DEFAULT_PROTOCOL,
    ProtocolChecklist,
    add_school_days,
    validate_protocol,
)
from services.complaints.commands import (
    DecideComplaint,
    EscalateComplaint,
    FileComplaint,
    WithdrawComplaint,
)
from services.shared.errors import InvalidInput
from tests.integration.readside import case_service, catch_up, new_school, report, run, today
from tests.unit.support import BOARD, CONTACT, MANAGEMENT, SCHOOL_CONTACT

pytestmark = pytest.mark.integration

AT = SignalKind


def kinds(found: dict[UUID, list[Signal]], case_id: UUID) -> set[SignalKind]:
    return {s.kind for s in found.get(case_id, [])}


def tell_parents(service: Any, case_id: UUID, **kw: Any) -> None:
    """A phone call with the parents about what was done (the contact log)."""
    service.handle(CONTACT, RecordContact(case_id=case_id, with_whom="parents", channel="phone",
                                          held_on=today(), discussed="Fictief", **kw))  # fmt: skip


@pytest.fixture
def school_setup(container: Container, database_url: str) -> Any:
    school = new_school(container)
    service = case_service(container, school)

    def signals_on(
        day: date, protocol: ProtocolChecklist = DEFAULT_PROTOCOL, **kw: Any
    ) -> dict[UUID, list[Signal]]:
        catch_up(container, school)
        return run(
            database_url,
            lambda conn: signals(conn, school.schema_name, today=day, protocol=protocol, **kw),
        )

    return school, service, signals_on


def test_intake_overdue_after_the_protocols_deadline(school_setup: Any) -> None:
    _, service, signals_on = school_setup
    case_id = report(service, intake=False)
    day = today()
    due = add_school_days(day, 2)
    assert kinds(signals_on(due), case_id) == set()
    found = signals_on(due + timedelta(days=1))
    assert kinds(found, case_id) == {AT.INTAKE_OVERDUE}
    (signal,) = found[case_id]
    assert signal.due_on == due
    assert signal.label == SIGNAL_LABELS_NL[AT.INTAKE_OVERDUE]
    # A protocol with a longer intake deadline, or none, moves or removes the signal.
    longer = validate_protocol(
        [{"key": "intake", "label": "Intake", "event_type": "IntakeHeld",
          "deadline_school_days": 5}]
    )  # fmt: skip
    assert kinds(signals_on(due + timedelta(days=1), longer), case_id) == set()
    none = validate_protocol([{"key": "intake", "label": "Intake", "event_type": "IntakeHeld"}])
    assert kinds(signals_on(day + timedelta(days=10), none), case_id) == set()
    # A case with an intake never gets it.
    other = report(service, intake=True)
    assert kinds(signals_on(due + timedelta(days=1)), other) == set()


def test_aftercare_overdue_until_recorded(school_setup: Any) -> None:
    _, service, signals_on = school_setup
    case_id = report(service)
    day = today()
    first, second = uuid4(), uuid4()
    service.handle(CONTACT, ScheduleFollowUp(case_id=case_id, follow_up_id=first,
                                             due_on=day + timedelta(days=3)))  # fmt: skip
    service.handle(CONTACT, ScheduleFollowUp(case_id=case_id, follow_up_id=second,
                                             due_on=day + timedelta(days=5)))  # fmt: skip
    assert kinds(signals_on(day + timedelta(days=3)), case_id) == set()  # due today: not yet
    found = signals_on(day + timedelta(days=6))
    assert kinds(found, case_id) == {AT.AFTERCARE_OVERDUE}
    assert (found[case_id][0].due_on, found[case_id][0].count) == (day + timedelta(days=3), 2)
    service.handle(CONTACT, CompleteFollowUp(case_id=case_id, follow_up_id=first,
                   agreements_kept=True, bullying_stopped=True, pupil_feels_safe=True))  # fmt: skip
    assert kinds(signals_on(day + timedelta(days=4)), case_id) == set()
    assert signals_on(day + timedelta(days=6))[case_id][0].count == 1
    service.handle(CONTACT, CompleteFollowUp(case_id=case_id, follow_up_id=second,
                   agreements_kept=True, bullying_stopped=True, pupil_feels_safe=True))  # fmt: skip
    assert kinds(signals_on(day + timedelta(days=6)), case_id) == set()


def _aftercare(service: Any, case_id: UUID, *, stopped: bool) -> UUID:
    follow_up = uuid4()
    service.handle(CONTACT, ScheduleFollowUp(case_id=case_id, follow_up_id=follow_up,
                                             due_on=today() + timedelta(days=7)))  # fmt: skip
    service.handle(CONTACT, CompleteFollowUp(case_id=case_id, follow_up_id=follow_up,
                   agreements_kept=stopped, bullying_stopped=stopped,
                   pupil_feels_safe=stopped))  # fmt: skip
    return follow_up


def test_bullying_continues_after_aftercare_until_new_aftercare_is_scheduled(
    school_setup: Any,
) -> None:
    _, service, signals_on = school_setup
    case_id = report(service)
    day = today()
    # Issue #10: aftercare found the agreements broken, the bullying going on, the pupil unsafe.
    _aftercare(service, case_id, stopped=False)
    found = signals_on(day)
    assert kinds(found, case_id) == {AT.BULLYING_CONTINUES}
    (signal,) = found[case_id]
    assert (signal.label, signal.found_on) == ("Pesten gaat door", day)
    assert SIGNAL_LABELS_NL[AT.BULLYING_CONTINUES] == "Pesten gaat door"
    # Planning new steps is the response, but does not end the signal: nobody checks yet ...
    service.handle(CONTACT, GiveConsent(case_id=case_id, given_by="pupil",
                                        covers=["group_approach"]))  # fmt: skip
    service.handle(CONTACT, PlanStep(case_id=case_id, kind="group_approach",
                                     description="Fictieve steungroep"))  # fmt: skip
    tell_parents(service, case_id)
    assert kinds(signals_on(day), case_id) == {AT.BULLYING_CONTINUES}
    # ... new aftercare, scheduled after the finding, does.
    again = uuid4()
    service.handle(CONTACT, ScheduleFollowUp(case_id=case_id, follow_up_id=again,
                                             due_on=day + timedelta(days=14)))  # fmt: skip
    assert kinds(signals_on(day), case_id) == set()
    # That aftercare finds it still going on: the signal is back.
    service.handle(CONTACT, CompleteFollowUp(case_id=case_id, follow_up_id=again,
                   agreements_kept=True, bullying_stopped=False,
                   pupil_feels_safe=False))  # fmt: skip
    assert kinds(signals_on(day), case_id) == {AT.BULLYING_CONTINUES}
    # The next one finds it stopped: no signal.
    _aftercare(service, case_id, stopped=True)
    assert kinds(signals_on(day), case_id) == set()


def test_bullying_continues_ends_with_closing_and_is_not_revived_by_reopening(
    school_setup: Any,
) -> None:
    _, service, signals_on = school_setup
    case_id = report(service)
    _aftercare(service, case_id, stopped=False)
    assert kinds(signals_on(today()), case_id) == {AT.BULLYING_CONTINUES}
    # Referred to the care team: a closed case has no signals.
    service.handle(CONTACT, CloseCase(case_id=case_id, reason="referred",
                                      explanation="Doorverwezen naar zorgteam"))  # fmt: skip
    assert kinds(signals_on(today()), case_id) == set()
    # Reopened: its old aftercare no longer counts (fresh aftercare is needed anyway).
    service.handle(CONTACT, ReopenCase(case_id=case_id, reason="Fictief: terug van zorgteam"))
    assert kinds(signals_on(today()), case_id) == set()
    # A list filter on the new signal finds exactly the cases that have it.
    other = report(service)
    _aftercare(service, other, stopped=False)
    assert {c for c, found in signals_on(today()).items()
            if AT.BULLYING_CONTINUES in {s.kind for s in found}} == {other}  # fmt: skip


def test_steps_waiting_for_consent_after_withdrawal(school_setup: Any) -> None:
    _, service, signals_on = school_setup
    case_id = report(service)
    day = today()
    consent = uuid4()
    service.handle(CONTACT, GiveConsent(case_id=case_id, consent_id=consent, given_by="pupil",
                                        covers=["talk_with_actor", "group_approach"]))  # fmt: skip
    step_a, step_b, step_c = uuid4(), uuid4(), uuid4()
    for step_id, kind in ((step_a, "talk_with_actor"), (step_b, "talk_with_actor"),
                          (step_c, "group_approach")):  # fmt: skip
        service.handle(CONTACT, PlanStep(case_id=case_id, step_id=step_id, kind=kind,
                                         description="Fictieve stap"))  # fmt: skip
    service.handle(CONTACT, CancelStep(case_id=case_id, step_id=step_c, reason="Niet nodig"))
    tell_parents(service, case_id)
    assert kinds(signals_on(day), case_id) == set()

    service.handle(CONTACT, WithdrawConsent(case_id=case_id, consent_id=consent))
    found = signals_on(day)
    assert kinds(found, case_id) == {AT.STEPS_WAITING_FOR_CONSENT}
    # the cancelled group approach does not wait; the two planned talks do
    assert found[case_id][0].step_kinds == ("talk_with_actor",)
    assert found[case_id][0].count == 2

    # Consent for another kind does not help; consent for the kind does.
    service.handle(CONTACT, GiveConsent(case_id=case_id, given_by="pupil",
                                        covers=["safety_measure"]))  # fmt: skip
    assert kinds(signals_on(day), case_id) == {AT.STEPS_WAITING_FOR_CONSENT}
    service.handle(CONTACT, GiveConsent(case_id=case_id, given_by="pupil_and_parents",
                                        covers=["talk_with_actor"]))  # fmt: skip
    assert kinds(signals_on(day), case_id) == set()


def test_offence_without_police_advice(school_setup: Any) -> None:
    _, service, signals_on = school_setup
    case_id = report(service)
    day = today()
    assert kinds(signals_on(day), case_id) == set()
    service.handle(CONTACT, FlagCriminalOffence(case_id=case_id, description="Fictief feit"))
    assert kinds(signals_on(day), case_id) == {AT.OFFENCE_WITHOUT_POLICE_ADVICE}
    service.handle(CONTACT, AdvisePoliceReport(case_id=case_id, advised_to="parents"))
    assert kinds(signals_on(day), case_id) == set()


def test_inactive_open_cases_only_and_configurable(school_setup: Any) -> None:
    _, service, signals_on = school_setup
    open_case = report(service)
    closed_case = report(service)
    service.handle(CONTACT, CloseCase(case_id=closed_case, reason="referred",
                                      explanation="Doorverwezen naar zorgteam"))  # fmt: skip
    day = today()
    assert kinds(signals_on(day + timedelta(days=13)), open_case) == set()
    found = signals_on(day + timedelta(days=14))
    assert kinds(found, open_case) == {AT.INACTIVE}
    assert found[open_case][0].since == day
    assert closed_case not in found  # closed cases have no signals
    assert kinds(signals_on(day + timedelta(days=3), inactivity_days=3), open_case) == {AT.INACTIVE}
    assert kinds(signals_on(day + timedelta(days=2), inactivity_days=3), open_case) == set()
    with pytest.raises(InvalidInput, match="at least 1"):
        signals_on(day, inactivity_days=0)


def test_all_signals_together_and_case_ids_filter(
    school_setup: Any, container: Container, database_url: str
) -> None:
    school, service, signals_on = school_setup
    a = report(service, intake=False)
    b = report(service)
    service.handle(CONTACT, FlagCriminalOffence(case_id=b, description="Fictief feit"))
    service.handle(CONTACT, ScheduleFollowUp(case_id=b, due_on=today()))
    later = today() + timedelta(days=30)
    found = signals_on(later)
    assert kinds(found, a) == {AT.INTAKE_OVERDUE, AT.INACTIVE}
    assert kinds(found, b) == {AT.AFTERCARE_OVERDUE, AT.OFFENCE_WITHOUT_POLICE_ADVICE, AT.INACTIVE}
    # signals come in SignalKind order
    assert [s.kind for s in found[b]] == [
        AT.AFTERCARE_OVERDUE, AT.OFFENCE_WITHOUT_POLICE_ADVICE, AT.INACTIVE,
    ]  # fmt: skip
    only_b = run(
        database_url,
        lambda conn: signals(conn, school.schema_name, today=later, protocol=DEFAULT_PROTOCOL,
                             case_ids=[b]),
    )  # fmt: skip
    assert set(only_b) == {b}


def test_escalations_show_the_complaint_ladder(container: Container, database_url: str) -> None:
    school = new_school(container)
    service = case_service(container, school)
    quiet = report(service)
    to_board = report(service)
    to_committee = report(service)
    c1, c2, c3 = uuid4(), uuid4(), uuid4()
    fictive = {"summary": "Fictief"}
    steps: list[tuple[Any, Any]] = [
        (SCHOOL_CONTACT, FileComplaint(case_id=to_board, complaint_id=c1, complainant="ouders",
                                       **fictive)),
        (MANAGEMENT, DecideComplaint(case_id=to_board, complaint_id=c1, outcome="rejected",
                                     **fictive)),
        (SCHOOL_CONTACT, EscalateComplaint(case_id=to_board, complaint_id=c1, to_level="board",
                                           reason="Fictief")),
        (SCHOOL_CONTACT, FileComplaint(case_id=to_board, complaint_id=c2, complainant="leerling",
                                       **fictive)),
        (SCHOOL_CONTACT, WithdrawComplaint(case_id=to_board, complaint_id=c2)),
        (SCHOOL_CONTACT, FileComplaint(case_id=to_committee, complaint_id=c3, complainant="ouders",
                                       level="committee", skip_reason="Rechtstreeks", **fictive)),
        (BOARD, DecideComplaint(case_id=to_committee, complaint_id=c3, outcome="upheld",
                                **fictive)),
    ]  # fmt: skip
    for who, command in steps:
        service.handle(who, command)
    catch_up(container, school)

    ladder = run(database_url, lambda conn: escalations(conn, school.schema_name))
    assert [e.case_id for e in ladder] == [to_committee, to_board]
    assert quiet not in {e.case_id for e in ladder}
    committee, board = ladder
    assert (committee.level, committee.level_label, committee.open_complaints) == (
        "committee", "klachtencommissie", 0,
    )  # fmt: skip
    assert [(c.complaint_id, c.level, c.status) for c in committee.complaints] == [
        (c3, "committee", "decided")
    ]
    assert (board.level, board.level_label, board.open_complaints) == ("board", "bestuur", 1)
    assert [(c.complaint_id, c.level, c.status) for c in board.complaints] == [
        (c1, "board", "open"), (c2, "management", "withdrawn"),
    ]  # fmt: skip


def test_not_informed_after_a_step_or_agreement_until_a_contact_is_recorded(
    school_setup: Any,
) -> None:
    _, service, signals_on = school_setup
    case_id = report(service)
    day = today()
    assert AT.NOT_INFORMED not in kinds(signals_on(day), case_id)
    # A step is planned: nobody told the pupil or the parents yet.
    service.handle(CONTACT, GiveConsent(case_id=case_id, given_by="pupil",
                                        covers=["talk_with_actor"]))  # fmt: skip
    step = uuid4()
    service.handle(CONTACT, PlanStep(case_id=case_id, step_id=step, kind="talk_with_actor",
                                     description="Fictief gesprek"))  # fmt: skip
    found = signals_on(day)
    assert kinds(found, case_id) == {AT.NOT_INFORMED}
    (signal,) = found[case_id]
    assert signal.due_on == day
    assert signal.label == SIGNAL_LABELS_NL[AT.NOT_INFORMED]
    # A call with the parents clears it ...
    tell_parents(service, case_id, pupil_present=True)
    assert kinds(signals_on(day), case_id) == set()
    # ... until the agreements change again; a conversation with the pupil clears it again.
    service.handle(CONTACT, RecordAgreement(case_id=case_id, text="Fictieve afspraak",
                                            parties="Test-A, Test-B"))  # fmt: skip
    assert kinds(signals_on(day), case_id) == {AT.NOT_INFORMED}
    service.handle(CONTACT, RecordContact(case_id=case_id, with_whom="pupil",
                                          channel="conversation", held_on=day,
                                          discussed="Fictief: de afspraak"))  # fmt: skip
    assert kinds(signals_on(day), case_id) == set()
    # Closed cases have no signals.
    service.handle(CONTACT, CancelStep(case_id=case_id, step_id=step, reason="Fictief"))
    service.handle(CONTACT, CloseCase(case_id=case_id, reason="withdrawn",
                                      explanation="Fictief ingetrokken"))  # fmt: skip
    assert kinds(signals_on(day), case_id) == set()
