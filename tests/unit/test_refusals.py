"""Every refusal a case form can meet, said in Dutch: the real domain refuses a real command (in
memory), and :func:`infra.entrypoints.web.refusals.refusal_nl` names what is missing — never just
the
generic title of the error's code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import pytest

from infra.entrypoints.web.forms import TEXT_PROBLEMS_NL
from infra.entrypoints.web.problems import DUTCH_TITLES
from infra.entrypoints.web.refusals import (
    DATE_PROBLEMS_NL,
    WRONG_STATE_NL,
    field_error_nl,
    refusal_nl,
)
from services.access.roles import Role
from services.casework.commands import (
    AddParticipant,
    AdvisePoliceReport,
    CancelStep,
    CaseCommand,
    CloseCase,
    CompleteFollowUp,
    CompleteStep,
    EvaluateCase,
    GiveConsent,
    HoldIntake,
    PlanStep,
    ReopenCase,
    ReportCase,
    ScheduleFollowUp,
    ShareLessons,
    WithdrawConsent,
)
from services.casework.handlers import CaseService
from services.casework.rules import DateProblem, StateReason
from services.complaints.commands import (
    DecideComplaint,
    EscalateComplaint,
    FileComplaint,
    WithdrawComplaint,
)
from services.shared.actor import Actor
from services.shared.clock import FixedClock
from services.shared.errors import DomainError
from services.shared.text import TextProblem
from tests.unit.support import (
    BOARD,
    CONTACT,
    MANAGEMENT,
    SCHOOL_CONTACT,
    actor,
    new_app,
    new_service,
)

DAY = date(2026, 11, 30)
IDS = {name: uuid4() for name in ("consent", "step", "cancelled", "follow_up", "complaint")}


def _case() -> tuple[CaseService, UUID]:
    service = new_service(new_app(), uuid4(), clock=FixedClock(DAY))
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    return service, case_id


def _do(service: CaseService, who: Actor, *commands: CaseCommand) -> None:
    for command in commands:
        service.handle(who, command)


@dataclass
class Scenario:
    prepare: Callable[[CaseService, UUID], None]
    who: Actor
    command: Callable[[UUID], CaseCommand]
    says: str
    field: str | None = None


def _nothing(service: CaseService, case_id: UUID) -> None:
    """No preparation."""


def _consent_withdrawn(service: CaseService, case_id: UUID) -> None:
    _do(
        service,
        CONTACT,
        GiveConsent(case_id=case_id, consent_id=IDS["consent"], given_by="pupil", covers=["other"]),
        WithdrawConsent(case_id=case_id, consent_id=IDS["consent"]),
    )


def _steps(service: CaseService, case_id: UUID) -> None:
    _do(
        service,
        CONTACT,
        GiveConsent(case_id=case_id, given_by="pupil", covers=["other"]),
        PlanStep(case_id=case_id, step_id=IDS["step"], kind="other", description="F"),
        CompleteStep(case_id=case_id, step_id=IDS["step"], outcome="F"),
        PlanStep(case_id=case_id, step_id=IDS["cancelled"], kind="other", description="F"),
        CancelStep(case_id=case_id, step_id=IDS["cancelled"], reason="F"),
    )


def _aftercare_recorded(service: CaseService, case_id: UUID) -> None:
    _do(
        service,
        CONTACT,
        ScheduleFollowUp(case_id=case_id, follow_up_id=IDS["follow_up"], due_on=DAY),
        CompleteFollowUp(
            case_id=case_id,
            follow_up_id=IDS["follow_up"],
            agreements_kept=False,
            bullying_stopped=False,
            pupil_feels_safe=False,
        ),
    )


def _complaint(level: str = "management") -> Callable[[CaseService, UUID], None]:
    def prepare(service: CaseService, case_id: UUID) -> None:
        _do(
            service,
            SCHOOL_CONTACT,
            FileComplaint(
                case_id=case_id,
                complaint_id=IDS["complaint"],
                complainant="Ouder",
                summary="F",
                level=level,
                skip_reason="" if level == "management" else "Fictief",
            ),
        )

    return prepare


def _complaint_decided(service: CaseService, case_id: UUID) -> None:
    _complaint()(service, case_id)
    _do(
        service,
        MANAGEMENT,
        DecideComplaint(
            case_id=case_id, complaint_id=IDS["complaint"], outcome="settled", summary="F"
        ),
    )


def _complaint_withdrawn(service: CaseService, case_id: UUID) -> None:
    _complaint()(service, case_id)
    _do(service, SCHOOL_CONTACT, WithdrawComplaint(case_id=case_id, complaint_id=IDS["complaint"]))


def _closed(service: CaseService, case_id: UUID) -> None:
    _do(service, CONTACT, CloseCase(case_id=case_id, reason="withdrawn", explanation="F"))


def _evaluated_without_lessons(service: CaseService, case_id: UUID) -> None:
    _do(service, CONTACT, EvaluateCase(case_id=case_id, went_well="F"))


def _decide(case_id: UUID) -> DecideComplaint:
    return DecideComplaint(
        case_id=case_id, complaint_id=IDS["complaint"], outcome="upheld", summary="F"
    )


SCENARIOS: dict[str, Scenario] = {
    "no-consent": Scenario(
        _nothing,
        CONTACT,
        lambda c: PlanStep(case_id=c, kind="talk_with_actor", description="F"),
        'Er is geen toestemming voor stappen van de soort "gesprek met pester".',
    ),
    "consent-withdrawn": Scenario(
        _consent_withdrawn,
        CONTACT,
        lambda c: PlanStep(case_id=c, kind="other", description="F"),
        'De toestemming voor stappen van de soort "anders" is ingetrokken.',
    ),
    "no-offence": Scenario(
        _nothing,
        CONTACT,
        lambda c: AdvisePoliceReport(case_id=c, advised_to="parents"),
        "Leg eerst vast dat er sprake is van een strafbaar feit",
    ),
    "skips-level": Scenario(
        _nothing,
        SCHOOL_CONTACT,
        lambda c: FileComplaint(case_id=c, complainant="O", summary="F", level="board"),
        "Een klacht direct bij het bestuur indienen slaat de directie over.",
        field="skip_reason",
    ),
    "not-higher": Scenario(
        _complaint("board"),
        SCHOOL_CONTACT,
        lambda c: EscalateComplaint(
            case_id=c, complaint_id=IDS["complaint"], to_level="management", reason="F"
        ),
        "Deze klacht ligt al bij het bestuur; de directie is geen hoger niveau.",
    ),
    "close-resolved": Scenario(
        _nothing,
        CONTACT,
        lambda c: CloseCase(case_id=c, reason="resolved"),
        "Afsluiten als opgelost kan pas als de nazorg heeft vastgelegd dat het pesten is gestopt "
        "en de zaak is geëvalueerd.",
    ),
    "close-after-bad-aftercare": Scenario(
        _aftercare_recorded,
        CONTACT,
        lambda c: CloseCase(case_id=c, reason="resolved"),
        "Bij de laatste nazorg ging het pesten nog door: plan nieuwe stappen en nieuwe nazorg.",
    ),
    "close-without-explanation": Scenario(
        _nothing,
        CONTACT,
        lambda c: CloseCase(case_id=c, reason="withdrawn"),
        'Bij afsluiten als "melding ingetrokken" hoort een toelichting',
    ),
    "close-with-open-complaint": Scenario(
        _complaint("committee"),
        CONTACT,
        lambda c: CloseCase(case_id=c, reason="referred", explanation="F"),
        "Er loopt nog een klacht bij de klachtencommissie. Die klacht blijft lopen als u de zaak "
        "afsluit: bevestig dat u dat weet.",
        field="open_complaints_acknowledged",
    ),
    "case-closed": Scenario(
        _closed,
        CONTACT,
        lambda c: HoldIntake(case_id=c, held_on=DAY, summary="F"),
        "De zaak is afgesloten. Heropen de zaak eerst",
    ),
    "intake-recorded": Scenario(
        lambda s, c: _do(s, CONTACT, HoldIntake(case_id=c, held_on=DAY, summary="F")),
        CONTACT,
        lambda c: HoldIntake(case_id=c, held_on=DAY, summary="F"),
        WRONG_STATE_NL[StateReason.INTAKE_RECORDED],
    ),
    "step-completed": Scenario(
        _steps,
        CONTACT,
        lambda c: CompleteStep(case_id=c, step_id=IDS["step"], outcome="F"),
        WRONG_STATE_NL[StateReason.STEP_COMPLETED],
    ),
    "step-cancelled": Scenario(
        _steps,
        CONTACT,
        lambda c: CancelStep(case_id=c, step_id=IDS["cancelled"], reason="F"),
        WRONG_STATE_NL[StateReason.STEP_CANCELLED],
    ),
    "consent-already-withdrawn": Scenario(
        _consent_withdrawn,
        CONTACT,
        lambda c: WithdrawConsent(case_id=c, consent_id=IDS["consent"]),
        WRONG_STATE_NL[StateReason.CONSENT_WITHDRAWN],
    ),
    "follow-up-recorded": Scenario(
        _aftercare_recorded,
        CONTACT,
        lambda c: CompleteFollowUp(
            case_id=c,
            follow_up_id=IDS["follow_up"],
            agreements_kept=True,
            bullying_stopped=True,
            pupil_feels_safe=True,
        ),
        WRONG_STATE_NL[StateReason.FOLLOW_UP_RECORDED],
    ),
    "complaint-decided": Scenario(
        _complaint_decided, MANAGEMENT, _decide, WRONG_STATE_NL[StateReason.COMPLAINT_DECIDED]
    ),
    "complaint-withdrawn": Scenario(
        _complaint_withdrawn,
        SCHOOL_CONTACT,
        lambda c: EscalateComplaint(
            case_id=c, complaint_id=IDS["complaint"], to_level="board", reason="F"
        ),
        WRONG_STATE_NL[StateReason.COMPLAINT_WITHDRAWN],
    ),
    "not-closed": Scenario(
        _nothing,
        CONTACT,
        lambda c: ReopenCase(case_id=c, reason="F"),
        WRONG_STATE_NL[StateReason.CASE_NOT_CLOSED],
    ),
    "not-evaluated": Scenario(
        _nothing,
        CONTACT,
        lambda c: ShareLessons(
            case_id=c, coordinator_id=actor(Role.COORDINATOR, "user-apc").user_id
        ),
        WRONG_STATE_NL[StateReason.NOT_EVALUATED],
    ),
    "no-lessons": Scenario(
        _evaluated_without_lessons,
        CONTACT,
        lambda c: ShareLessons(
            case_id=c, coordinator_id=actor(Role.COORDINATOR, "user-apc").user_id
        ),
        WRONG_STATE_NL[StateReason.NO_LESSONS],
    ),
    "decision-at-the-committee": Scenario(
        _complaint("committee"),
        MANAGEMENT,
        _decide,
        "Over een klacht bij de klachtencommissie besluit het bestuur, op advies van de commissie.",
    ),
    "decision-at-the-directie": Scenario(
        _complaint(), BOARD, _decide, "Over een klacht bij de directie besluit de directie."
    ),
    "date-in-the-future": Scenario(
        _nothing,
        CONTACT,
        lambda c: HoldIntake(case_id=c, held_on=DAY.replace(year=2031), summary="F"),
        DATE_PROBLEMS_NL[DateProblem.IN_FUTURE],
        field="held_on",
    ),
    "same-pupil-twice": Scenario(
        lambda s, c: _do(s, CONTACT, AddParticipant(case_id=c, pupil_ref="LL-1", role="target")),
        CONTACT,
        lambda c: AddParticipant(case_id=c, pupil_ref="LL-1", role="actor"),
        "Deze leerling is al betrokken bij deze zaak.",
        field="pupil_ref",
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_refusal_says_in_dutch_what_is_missing(name: str) -> None:
    scenario = SCENARIOS[name]
    service, case_id = _case()
    scenario.prepare(service, case_id)
    with pytest.raises(DomainError) as info:
        service.handle(scenario.who, scenario.command(case_id))
    error = info.value
    said = refusal_nl(error)
    assert scenario.says in said
    assert said not in DUTCH_TITLES.values(), "only the generic title of the code"
    blamed = field_error_nl(error, [scenario.field] if scenario.field else [])
    assert (blamed[0] if blamed else None) == scenario.field


def test_every_reason_has_dutch_words() -> None:
    assert set(WRONG_STATE_NL) == set(StateReason)
    assert set(DATE_PROBLEMS_NL) == set(DateProblem)
    assert set(TEXT_PROBLEMS_NL) == set(TextProblem)
