"""Who may do what on a case: every role against every command, generated from the data in
:mod:`services.access.roles`, plus the roles the seed documents single out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import pytest

import services.casework.commands as casework_commands
import services.complaints.commands as complaint_commands
from services.access.roles import (
    ENGAGED_PERMISSIONS,
    READ_ONLY_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    has_permission,
)
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
    ReplyToReporter,
    ReportCase,
    RequestErasure,
    ScheduleFollowUp,
    ShareLessons,
    WithdrawConsent,
)
from services.casework.deciders import may_complain_at_level
from services.casework.handlers import CaseService
from services.casework.vocabulary import ComplaintLevel, StepKind
from services.complaints.commands import (
    AssignComplaintSupport,
    DecideComplaint,
    EscalateComplaint,
    ExplainComplaintProcedure,
    FileComplaint,
    WithdrawComplaint,
)
from services.shared.actor import Actor, acting_as
from services.shared.errors import CaseNotFound, InvalidInput, PermissionDenied, RuleViolation
from tests.unit.support import (
    BOARD,
    CONTACT,
    MANAGEMENT,
    SCHOOL_CONTACT,
    actor,
    new_app,
    new_service,
    stored_count,
)

# Both modules define CaseCommand subclasses; importing them registers every command class.
COMMAND_MODULES = (casework_commands, complaint_commands)
TODAY = date(2026, 3, 2)


def all_case_commands() -> list[type[CaseCommand]]:
    """Every concrete command on an existing case, found through the class hierarchy."""
    found: list[type[CaseCommand]] = []
    todo = list(CaseCommand.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


@dataclass
class Prepared:
    """A case with something of everything, so that a permitted command can really succeed."""

    service: CaseService
    case_id: UUID
    step_id: UUID
    consent_id: UUID
    follow_up_id: UUID
    complaint_id: UUID


def prepare(engaged_user: str | None = None) -> Prepared:
    service = new_service(new_app(), uuid4())
    case_id = service.report(CONTACT, ReportCase(reporter_kind="peer", summary="Fictieve melding"))
    # The pupil agreed to every kind of step; one step is planned.
    consent = GiveConsent(case_id=case_id, given_by="pupil", covers=list(StepKind))
    service.handle(CONTACT, consent)
    step = PlanStep(case_id=case_id, kind="talk_with_actor", description="Fictief gesprek")
    service.handle(CONTACT, step)
    if engaged_user is not None:
        # The acting user is engaged for that step. Recorded on the case directly: whether
        # their role may be engaged at all is the staff directory's rule (test_people), here
        # only what being engaged allows is under test.
        case = service.app.get_case(case_id, service.school_id)
        with acting_as(CONTACT):
            case.engage_person(step_id=step.step_id, user_id=engaged_user, staff_role="mentor")
        service.app.save_case(case)
    # An offence is flagged, aftercare scheduled, the case evaluated, a complaint filed.
    service.handle(CONTACT, FlagCriminalOffence(case_id=case_id, description="Fictief"))
    follow_up = ScheduleFollowUp(case_id=case_id, due_on=TODAY)
    service.handle(CONTACT, follow_up)
    service.handle(CONTACT, EvaluateCase(case_id=case_id, lessons=["Fictieve les"]))
    complaint = FileComplaint(case_id=case_id, complainant="Ouder Test-A", summary="Fictief")
    service.handle(SCHOOL_CONTACT, complaint)
    return Prepared(
        service,
        case_id,
        step.step_id,
        consent.consent_id,
        follow_up.follow_up_id,
        complaint.complaint_id,
    )


# One valid command per command class, against a prepared case.
IB = actor(Role.CARE_COORDINATOR, "user-ib")
APC = actor(Role.COORDINATOR, "user-apc")
HANDLER = actor(Role.MANAGEMENT, "user-handler")

MAKE: dict[type[CaseCommand], Callable[[Prepared], CaseCommand]] = {
    AssignOwner: lambda p: AssignOwner(
        case_id=p.case_id, owner_id=actor(Role.CONTACT_PERSON, "user-x").user_id
    ),
    AddParticipant: lambda p: AddParticipant(case_id=p.case_id, pupil_ref="ref-a", role="target"),
    HoldIntake: lambda p: HoldIntake(case_id=p.case_id, held_on=TODAY, summary="Fictief"),
    MapSituation: lambda p: MapSituation(
        case_id=p.case_id, forms=["verbal"], frequency="daily", impact="low"
    ),
    DiscussSolutions: lambda p: DiscussSolutions(
        case_id=p.case_id, desired="Fictief", chosen_approach="Fictief"
    ),
    GiveConsent: lambda p: GiveConsent(case_id=p.case_id, given_by="parents", covers=["other"]),
    WithdrawConsent: lambda p: WithdrawConsent(case_id=p.case_id, consent_id=p.consent_id),
    PlanStep: lambda p: PlanStep(case_id=p.case_id, kind="other", description="Fictief"),
    EngagePerson: lambda p: EngagePerson(
        case_id=p.case_id, step_id=p.step_id, user_id=IB.user_id, staff_role="care_coordinator"
    ),
    CompleteStep: lambda p: CompleteStep(case_id=p.case_id, step_id=p.step_id, outcome="Fictief"),
    CancelStep: lambda p: CancelStep(case_id=p.case_id, step_id=p.step_id, reason="Fictief"),
    FlagCriminalOffence: lambda p: FlagCriminalOffence(case_id=p.case_id, description="Fictief"),
    AdvisePoliceReport: lambda p: AdvisePoliceReport(case_id=p.case_id, advised_to="parents"),
    RecordAgreement: lambda p: RecordAgreement(case_id=p.case_id, text="Fictief", parties="F"),
    ScheduleFollowUp: lambda p: ScheduleFollowUp(case_id=p.case_id, due_on=TODAY),
    CompleteFollowUp: lambda p: CompleteFollowUp(
        case_id=p.case_id,
        follow_up_id=p.follow_up_id,
        agreements_kept=True,
        bullying_stopped=True,
        pupil_feels_safe=True,
    ),
    AddNote: lambda p: AddNote(case_id=p.case_id, text="Fictieve notitie"),
    # The case in prepare() did not come through the public form: an allowed role is refused by
    # the rule (nobody to write to), never stored.
    ReplyToReporter: lambda p: ReplyToReporter(case_id=p.case_id, text="Fictief antwoord"),
    RecordContact: lambda p: RecordContact(
        case_id=p.case_id, with_whom="parents", channel="phone", held_on=TODAY, discussed="F"
    ),
    AddAttachment: lambda p: AddAttachment(
        case_id=p.case_id,
        attachment_id=uuid4(),
        file_name="fictief.png",
        media_type="image/png",
        size=1,
        sha256="0" * 64,
    ),
    EvaluateCase: lambda p: EvaluateCase(case_id=p.case_id, lessons=["Fictief"]),
    ShareLessons: lambda p: ShareLessons(case_id=p.case_id, coordinator_id=APC.user_id),
    CloseCase: lambda p: CloseCase(case_id=p.case_id, reason="referred", explanation="Fictief"),
    ReopenCase: lambda p: ReopenCase(case_id=p.case_id, reason="Fictief"),
    RequestErasure: lambda p: RequestErasure(case_id=p.case_id, reason="Fictief"),
    RedactPassages: lambda p: RedactPassages(
        case_id=p.case_id, passages=["0" * 32], reason="Fictief"
    ),
    CategoriseIncident: lambda p: CategoriseIncident(case_id=p.case_id, categories=["threat"]),
    MarkSeriousIncident: lambda p: MarkSeriousIncident(case_id=p.case_id),
    # Refused by a rule for those allowed (not marked serious yet): only authorization counts.
    RecordInspectieReport: lambda p: RecordInspectieReport(
        case_id=p.case_id, reported_on=TODAY, channel="email", reference="Fictief-1"
    ),
    ExplainComplaintProcedure: lambda p: ExplainComplaintProcedure(
        case_id=p.case_id, explained_to="Ouders"
    ),
    FileComplaint: lambda p: FileComplaint(case_id=p.case_id, complainant="Ouder", summary="F"),
    AssignComplaintSupport: lambda p: AssignComplaintSupport(
        case_id=p.case_id,
        complaint_id=p.complaint_id,
        user_id=HANDLER.user_id,
        support_role="handler",
    ),
    EscalateComplaint: lambda p: EscalateComplaint(
        case_id=p.case_id, complaint_id=p.complaint_id, to_level="board", reason="Fictief"
    ),
    DecideComplaint: lambda p: DecideComplaint(
        case_id=p.case_id, complaint_id=p.complaint_id, outcome="settled", summary="Fictief"
    ),
    WithdrawComplaint: lambda p: WithdrawComplaint(case_id=p.case_id, complaint_id=p.complaint_id),
}


# Who may do what, written from seed 001 ("Wie doet wat bij pesten op school?") and DESIGN.md §1,
# independently of services.access.roles: the code's tables are what is under test here.
CASEWORK = frozenset(
    {  # the aanspreekpunt's work (seed 000 "Adviespunt"): intake to evaluation, all of it
        "AssignOwner", "AddParticipant", "HoldIntake", "MapSituation", "DiscussSolutions",
        "GiveConsent", "WithdrawConsent", "PlanStep", "EngagePerson", "CompleteStep",
        "CancelStep", "FlagCriminalOffence", "AdvisePoliceReport", "RecordAgreement",
        "ScheduleFollowUp", "CompleteFollowUp", "AddNote", "AddAttachment", "RecordContact",
        "ReplyToReporter",  # answering the reporter of a public report (issue 14 §3)
        "EvaluateCase",
        "ShareLessons",
        "CloseCase", "ReopenCase", "RequestErasure", "RedactPassages",
        "ExplainComplaintProcedure",  # "Attenderen op de klachtenregeling"
    }
)  # fmt: skip
#: Incident registration: categories, a serious incident and its report to the Inspectie
#: (issue 15: the contact person and the anti-bullying coordinator).
INCIDENTS = frozenset({"CategoriseIncident", "MarkSeriousIncident", "RecordInspectieReport"})
#: Commands a role may give on any case of its school.
MAY_ON_ANY_CASE: dict[Role, frozenset[str]] = {
    Role.CONTACT_PERSON: CASEWORK | INCIDENTS,
    # The APC sees every case and adds to it, but the contact person handles it.
    Role.COORDINATOR: frozenset({"AddNote", "AddAttachment"}) | INCIDENTS,
    Role.CARE_COORDINATOR: frozenset(),
    Role.TEACHER: frozenset(),
    # Schoolcontactpersoon: point of contact for a complaint; connects the complainant with
    # the complaint handler and the vertrouwenspersoon; never decides.
    Role.SCHOOL_CONTACT: frozenset(
        {
            "ExplainComplaintProcedure",
            "FileComplaint",
            "AssignComplaintSupport",
            "EscalateComplaint",
            "WithdrawComplaint",
        }
    ),
    # Vertrouwenspersoon: supports the complainant through the complaint routes; never decides.
    Role.CONFIDENTIAL_ADVISOR: frozenset(
        {"FileComplaint", "EscalateComplaint", "WithdrawComplaint"}
    ),
    Role.SAFETY_COORDINATOR: frozenset(),  # statistics only, never case content
    Role.MANAGEMENT: frozenset({"EscalateComplaint", "DecideComplaint"}),  # level 1
    Role.BOARD: frozenset({"EscalateComplaint", "DecideComplaint"}),  # level 2 and committee
    Role.AUDITOR: frozenset(),  # reads, changes nothing
    Role.DOMESTIC_VIOLENCE_OFFICER: frozenset(),  # seed 001: no task in bullying at school
    Role.OPERATOR: frozenset(),  # never case content
}
#: Commands a role may give only on a case it was engaged in (a mentor, an IB'er).
MAY_WHEN_ENGAGED: dict[Role, frozenset[str]] = {
    Role.CARE_COORDINATOR: frozenset({"AddNote", "AddAttachment", "CompleteStep"}),
    Role.TEACHER: frozenset({"AddNote", "AddAttachment", "CompleteStep"}),
}
#: Who files a new report (DESIGN.md §1: the contact person, the APC, IB'ers and mentors).
REPORTERS = frozenset({Role.CONTACT_PERSON, Role.COORDINATOR, Role.CARE_COORDINATOR, Role.TEACHER})
#: Who reads any case of their school (DESIGN.md §1), and who only the cases they are engaged in.
READERS = frozenset(
    {Role.CONTACT_PERSON, Role.COORDINATOR, Role.SCHOOL_CONTACT, Role.CONFIDENTIAL_ADVISOR,
     Role.MANAGEMENT, Role.BOARD, Role.AUDITOR}
)  # fmt: skip
ENGAGED_READERS = frozenset({Role.CARE_COORDINATOR, Role.TEACHER})


def expected_allowed(role: Role, command: type[CaseCommand], *, engaged: bool) -> bool:
    """What seed 001 says (the tables above), never what the code's tables say."""
    name = command.__name__
    allowed = name in MAY_ON_ANY_CASE[role] or (
        engaged and name in MAY_WHEN_ENGAGED.get(role, frozenset())
    )
    if command is DecideComplaint:  # the prepared complaint sits at directie level
        allowed = allowed and role is Role.MANAGEMENT
    return allowed


def test_every_command_class_is_in_the_matrix():
    assert set(MAKE) == set(all_case_commands())
    assert len(MAKE) >= 27


MATRIX = [
    pytest.param(role, command, engaged, id=f"{role.value}-{command.__name__}-{tag}")
    for role in Role
    for command in all_case_commands()
    for engaged, tag in ((False, "other-case"), (True, "engaged"))
]


@pytest.mark.parametrize(("role", "command", "engaged"), MATRIX)
def test_role_command_matrix(role: Role, command: type[CaseCommand], engaged: bool):
    who = actor(role)
    p = prepare(engaged_user=who.user_id if engaged else None)
    before = stored_count(p.service.app, p.case_id)
    cmd = MAKE[command](p)
    if expected_allowed(role, command, engaged=engaged):
        try:
            p.service.handle(who, cmd)
        except (RuleViolation, InvalidInput):
            # Authorized; a domain rule may still refuse it, which is not this test's concern.
            assert stored_count(p.service.app, p.case_id) == before
        else:
            assert stored_count(p.service.app, p.case_id) == before + 1
    else:
        # Staff who act only where engaged: a case they are not engaged in is "not found" for
        # them (need-to-know), a refusal on one they are engaged in says why.
        may_when_engaged = command.__name__ in MAY_WHEN_ENGAGED.get(role, frozenset())
        refusal = CaseNotFound if (may_when_engaged and not engaged) else PermissionDenied
        with pytest.raises(refusal):
            p.service.handle(who, cmd)
        assert stored_count(p.service.app, p.case_id) == before


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_who_may_report(app: CaseworkApplication, role: Role):
    service = new_service(app, uuid4())
    command = ReportCase(reporter_kind="anonymous", summary="Fictieve melding")
    if role in REPORTERS:
        case_id = service.report(actor(role), command)
        assert stored_count(app, case_id) == 1
    else:
        with pytest.raises(PermissionDenied):
            service.report(actor(role), command)
        assert app.recorder.select_notifications(start=None, limit=10) == []


@pytest.mark.parametrize(("role", "engaged"), [(r, e) for r in Role for e in (False, True)])
def test_who_may_read_case_content(role: Role, engaged: bool):
    who = actor(role)
    p = prepare(engaged_user=who.user_id if engaged else None)
    may = role in READERS or (engaged and role in ENGAGED_READERS)
    # Need-to-know: the prepared case has a complaint at directie level (filed by the
    # schoolcontactpersoon), no vertrouwenspersoon assigned: the board and the
    # vertrouwenspersoon have no relation to it; staff not engaged neither.
    unrelated = role in (Role.BOARD, Role.CONFIDENTIAL_ADVISOR) or (
        role in ENGAGED_READERS and not engaged
    )
    if may and not unrelated:
        assert p.service.read(who, p.case_id).id == p.case_id
        assert p.service.read(who, p.case_id, version=1).version == 1
    else:
        error = CaseNotFound if unrelated else PermissionDenied
        with pytest.raises(error):
            p.service.read(who, p.case_id)
        with pytest.raises(error):
            p.service.read(who, p.case_id, version=1)


# --- the roles the seeds single out ------------------------------------------------------------


def test_domestic_violence_officer_has_no_access_at_all():
    # Seed 001: the aandachtsfunctionaris huiselijk geweld has no task in bullying at school.
    officer = actor(Role.DOMESTIC_VIOLENCE_OFFICER, "user-ahg")
    # Even if someone engaged them on a step by mistake ...
    p = prepare(engaged_user=officer.user_id)
    before = stored_count(p.service.app, p.case_id)
    # ... they cannot report, read, or do anything on the case.
    with pytest.raises(PermissionDenied, match="no access to bullying cases"):
        p.service.report(officer, ReportCase(reporter_kind="staff", summary="Fictief"))
    with pytest.raises(PermissionDenied, match="no access to bullying cases"):
        p.service.read(officer, p.case_id)
    for command in all_case_commands():
        with pytest.raises(PermissionDenied, match="no access to bullying cases"):
            p.service.handle(officer, MAKE[command](p))
    assert stored_count(p.service.app, p.case_id) == before
    assert not any(has_permission(Role.DOMESTIC_VIOLENCE_OFFICER, perm) for perm in Permission)


def test_safety_coordinator_sees_statistics_never_case_content():
    coordinator = actor(Role.SAFETY_COORDINATOR)
    p = prepare()
    with pytest.raises(PermissionDenied, match=r"case\.read"):
        p.service.read(coordinator, p.case_id)
    with pytest.raises(PermissionDenied):
        p.service.report(coordinator, ReportCase(reporter_kind="staff", summary="Fictief"))
    assert has_permission(Role.SAFETY_COORDINATOR, Permission.STATS_SCHOOL)


def test_operator_never_sees_case_content():
    p = prepare()
    with pytest.raises(PermissionDenied):
        p.service.read(actor(Role.OPERATOR), p.case_id)


def test_auditor_only_reads():
    auditor = actor(Role.AUDITOR)
    p = prepare()
    before = stored_count(p.service.app, p.case_id)
    # The auditor replays the case, now and as of any version ...
    assert p.service.read(auditor, p.case_id).version == before
    assert p.service.read(auditor, p.case_id, version=2).version == 2
    # ... but no command succeeds.
    with pytest.raises(PermissionDenied):
        p.service.report(auditor, ReportCase(reporter_kind="staff", summary="Fictief"))
    for command in all_case_commands():
        with pytest.raises(PermissionDenied):
            p.service.handle(auditor, MAKE[command](p))
    assert stored_count(p.service.app, p.case_id) == before
    assert ROLE_PERMISSIONS[Role.AUDITOR] <= READ_ONLY_PERMISSIONS


@pytest.mark.parametrize("role", [Role.TEACHER, Role.CARE_COORDINATOR], ids=str)
def test_staff_act_only_on_cases_they_are_engaged_in(role: Role):
    who = actor(role, f"user-{role.value}-1")
    service = new_service(new_app(), uuid4())
    # The staff member reports a case themselves; reporting alone does not engage them.
    own_report = service.report(who, ReportCase(reporter_kind="staff", summary="Fictief"))
    # Need-to-know: a case they are not engaged in is "not found" for them.
    with pytest.raises(CaseNotFound):
        service.read(who, own_report)
    # On case A the contact person engages them for a step (with the pupil's consent).
    case_a = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief A"))
    case_b = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief B"))
    steps = {}
    for case_id in (case_a, case_b):
        service.handle(
            CONTACT, GiveConsent(case_id=case_id, given_by="pupil", covers=["engage_colleague"])
        )
        plan = PlanStep(case_id=case_id, kind="engage_colleague", description="Fictief")
        service.handle(CONTACT, plan)
        steps[case_id] = plan.step_id
    service.handle(
        CONTACT,
        EngagePerson(
            case_id=case_a, step_id=steps[case_a], user_id=who.user_id, staff_role=role.value
        ),
    )
    # On case A they read, add a note and complete their step.
    assert service.read(who, case_a).is_engaged(who.user_id)
    service.handle(who, AddNote(case_id=case_a, text="Fictieve notitie"))
    service.handle(who, CompleteStep(case_id=case_a, step_id=steps[case_a], outcome="Fictief"))
    # Being engaged is not being the contact person: no planning, no closing.
    for command in (
        PlanStep(case_id=case_a, kind="engage_colleague", description="F"),
        CloseCase(case_id=case_a, reason="referred", explanation="F"),
    ):
        with pytest.raises(PermissionDenied):
            service.handle(who, command)
    # On case B, where they were not engaged, nothing.
    before = stored_count(service.app, case_b)
    with pytest.raises(CaseNotFound):
        service.read(who, case_b)
    for command in (
        AddNote(case_id=case_b, text="F"),
        CompleteStep(case_id=case_b, step_id=steps[case_b], outcome="F"),
    ):
        with pytest.raises(CaseNotFound):
            service.handle(who, command)
    assert stored_count(service.app, case_b) == before
    # A colleague with the same role, not engaged anywhere, cannot act on case A either.
    colleague = actor(role, f"user-{role.value}-2")
    with pytest.raises(CaseNotFound):
        service.handle(colleague, AddNote(case_id=case_a, text="F"))


def _decide(p: Prepared) -> DecideComplaint:
    return DecideComplaint(
        case_id=p.case_id, complaint_id=p.complaint_id, outcome="rejected", summary="Fictief"
    )


# Who records the decision on a complaint, per level, written out from seed 001 and the Dutch
# complaints procedure (klachtenregeling) — deliberately NOT read from services.access.roles: the
# directie decides at level 1, the bestuur (bevoegd gezag) at level 2; the klachtencommissie is
# outside the school and advises the bestuur, which then decides and records its decision. The
# schoolcontactpersoon is the complainant's point of contact (seed: "brengt de klager in
# contact met klachtbehandelaar"), the vertrouwenspersoon supports the complainant: neither
# decides, nor records a decision for someone else.
DECIDES_PER_SEED: dict[str, set[Role]] = {
    "management": {Role.MANAGEMENT},
    "board": {Role.BOARD},
    "committee": {Role.BOARD},
}


def test_complaint_decided_at_its_own_level():
    p = prepare()
    before = stored_count(p.service.app, p.case_id)
    # At directie level the board does not decide, management does.
    with pytest.raises(PermissionDenied, match="'management'"):
        p.service.handle(BOARD, _decide(p))
    assert stored_count(p.service.app, p.case_id) == before
    p.service.handle(MANAGEMENT, _decide(p))
    # Escalated to the board: now management may not decide, the board does.
    p.service.handle(
        SCHOOL_CONTACT,
        EscalateComplaint(
            case_id=p.case_id, complaint_id=p.complaint_id, to_level="board", reason="F"
        ),
    )
    with pytest.raises(PermissionDenied, match="'board'"):
        p.service.handle(MANAGEMENT, _decide(p))
    p.service.handle(BOARD, _decide(p))
    # At the committee (outside the school): it advises, the board decides on that advice.
    p.service.handle(
        SCHOOL_CONTACT,
        EscalateComplaint(
            case_id=p.case_id, complaint_id=p.complaint_id, to_level="committee", reason="F"
        ),
    )
    before = stored_count(p.service.app, p.case_id)
    # Management was a party at level 1 and does not record the board's decision.
    with pytest.raises(PermissionDenied, match="'board' decides on the committee's advice"):
        p.service.handle(MANAGEMENT, _decide(p))
    # The school contact person connects the complainant with the handler; never decides.
    with pytest.raises(PermissionDenied, match=r"complaint\.decide"):
        p.service.handle(SCHOOL_CONTACT, _decide(p))
    assert stored_count(p.service.app, p.case_id) == before
    p.service.handle(BOARD, _decide(p))
    decided = p.service.read(BOARD, p.case_id).complaints[p.complaint_id]
    assert (decided.level, decided.status) == ("committee", "decided")


@pytest.mark.parametrize("level", sorted(DECIDES_PER_SEED))
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_who_records_a_complaint_decision_follows_the_seed(role: Role, level: str):
    assert may_complain_at_level(role, level) is (role in DECIDES_PER_SEED[level])


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_a_decision_at_the_committee_through_the_handler(role: Role):
    # The complaint went straight to the committee (with a reason, as the law allows).
    p = prepare()
    complaint = FileComplaint(
        case_id=p.case_id,
        complainant="Ouder Test-A",
        summary="Fictief",
        level="committee",
        skip_reason="Fictief: rechtstreeks naar de commissie",
    )
    p.service.handle(SCHOOL_CONTACT, complaint)
    before = stored_count(p.service.app, p.case_id)
    command = DecideComplaint(
        case_id=p.case_id,
        complaint_id=complaint.complaint_id,
        outcome="upheld",
        summary="Fictief besluit op advies",
    )
    if role in DECIDES_PER_SEED["committee"]:
        p.service.handle(actor(role), command)
        assert stored_count(p.service.app, p.case_id) == before + 1
    else:
        with pytest.raises(PermissionDenied):
            p.service.handle(actor(role), command)
        assert stored_count(p.service.app, p.case_id) == before


# --- the guards themselves, as pure functions ---------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("permission", list(Permission), ids=str)
def test_has_permission_follows_the_tables(role: Role, permission: Permission):
    in_role = permission in ROLE_PERMISSIONS[role]
    when_engaged = in_role or permission in ENGAGED_PERMISSIONS.get(role, frozenset())
    assert has_permission(role, permission) is in_role
    assert has_permission(role, permission, engaged=False) is in_role
    assert has_permission(role, permission, engaged=True) is when_engaged


def test_has_permission_examples():
    assert has_permission(Role.CONTACT_PERSON, Permission.CASE_PLAN_STEPS)
    assert not has_permission(Role.TEACHER, Permission.CASE_READ)
    assert has_permission(Role.TEACHER, Permission.CASE_READ, engaged=True)
    assert not has_permission(Role.TEACHER, Permission.CASE_PLAN_STEPS, engaged=True)
    assert not has_permission(Role.SAFETY_COORDINATOR, Permission.CASE_READ, engaged=True)
    assert not has_permission(Role.OPERATOR, Permission.CASE_READ)
    assert has_permission(Role.BOARD, Permission.STATS_BOARD)
    assert not has_permission(Role.MANAGEMENT, Permission.STATS_BOARD)


@pytest.mark.parametrize(
    ("role", "level", "may"),
    [
        (Role.MANAGEMENT, "management", True),
        (Role.BOARD, "management", False),
        (Role.BOARD, "board", True),
        (Role.MANAGEMENT, "board", False),
        (Role.MANAGEMENT, "committee", False),
        (Role.BOARD, "committee", True),
        (Role.SCHOOL_CONTACT, "committee", False),
        (Role.CONFIDENTIAL_ADVISOR, "committee", False),
        (Role.CONTACT_PERSON, "management", False),
        (Role.MANAGEMENT, "minister", False),
        (Role.BOARD, "", False),
    ],
)
def test_may_complain_at_level(role: Role, level: str, may: bool):
    assert may_complain_at_level(role, level) is may


def test_only_deciding_roles_decide_at_any_level():
    for role in Role:
        for level in ComplaintLevel:
            if may_complain_at_level(role, level):
                assert Permission.COMPLAINT_DECIDE in ROLE_PERMISSIONS[role]


def test_every_role_is_in_the_table_and_every_permission_is_granted():
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert set(ENGAGED_PERMISSIONS) <= set(Role)
    granted = set().union(*ROLE_PERMISSIONS.values(), *ENGAGED_PERMISSIONS.values())
    assert granted == set(Permission), f"never granted: {set(Permission) - granted}"
    assert set(Permission) >= READ_ONLY_PERMISSIONS


def test_engagement_never_grants_what_changes_the_case_beyond_notes_and_steps():
    # Engaged staff read, add notes and complete their step; nothing else.
    allowed = {Permission.CASE_READ, Permission.CASE_ADD_NOTE, Permission.CASE_COMPLETE_STEP}
    for role, permissions in ENGAGED_PERMISSIONS.items():
        assert permissions <= allowed, role


def test_an_actor_is_a_user_in_a_role():
    who = Actor(user_id="user-1", role=Role.TEACHER)
    assert who.role is Role.TEACHER
    with pytest.raises(AttributeError):
        who.role = Role.BOARD  # type: ignore[misc]
