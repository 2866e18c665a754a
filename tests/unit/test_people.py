"""The staff directory's rules: who may take which part, and the write side's one check of a
person named in a command (unknown, deactivated, another school's, wrong role: refused, the field
named, nothing stored)."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.commands import (
    AssignOwner,
    EngagePerson,
    EvaluateCase,
    GiveConsent,
    PlanStep,
    ReportCase,
    ShareLessons,
)
from services.casework.handlers import CaseService
from services.complaints.commands import AssignComplaintSupport, EscalateComplaint, FileComplaint
from services.people.domain import OPERATOR, SCIM, SCIM_CLIENT, ChangedBy, Person, Profile
from services.people.lookup import LogPeople, PersonReason
from services.people.parts import PART_ROLES, Part, may_take, role_in_part, roles_for_part
from services.shared.errors import InvalidInput, WrongState
from tests.unit.support import stored_count

BY = ChangedBy("test-operator", "operator")


def register(app: CaseworkApplication, school_id: UUID, *roles: Role, active: bool = True) -> str:
    """A person of ``school_id`` with ``roles`` in the school's log; returns their id."""
    person = Person.register(
        school_id=school_id,
        profile=Profile(display_name="Medewerker Test-A"),
        roles=roles,
        by=BY,
        source=OPERATOR,
    )
    if not active:
        person.set_active(False, by=BY, source=OPERATOR)
    app.save(person)
    return str(person.id)


@pytest.fixture
def school() -> UUID:
    return uuid4()


@pytest.fixture
def service(app: CaseworkApplication, school: UUID) -> CaseService:
    # The real directory: the persons in the school's own log (no test shortcut).
    return CaseService(app, school)


@pytest.fixture
def contact(app: CaseworkApplication, school: UUID) -> str:
    return register(app, school, Role.CONTACT_PERSON)


def _as(person_id: str, role: Role):
    from services.shared.actor import Actor

    return Actor(user_id=person_id, role=role)


# --- the parts, as data -------------------------------------------------------------------


def test_parts_follow_the_seed() -> None:
    assert PART_ROLES[Part.CASE_OWNER] == {Role.CONTACT_PERSON}
    assert PART_ROLES[Part.LESSONS_COORDINATOR] == {Role.COORDINATOR}
    assert PART_ROLES[Part.CONFIDENTIAL_ADVISOR] == {Role.CONFIDENTIAL_ADVISOR}
    engageable = PART_ROLES[Part.ENGAGED_COLLEAGUE]
    assert {Role.TEACHER, Role.CARE_COORDINATOR, Role.MANAGEMENT} <= engageable
    # Never case content for these (DESIGN.md §1, seed 001):
    for role in (
        Role.SAFETY_COORDINATOR,
        Role.DOMESTIC_VIOLENCE_OFFICER,
        Role.OPERATOR,
        Role.AUDITOR,
        Role.BOARD,
    ):
        assert not may_take((role,), Part.ENGAGED_COLLEAGUE), role
    assert not any(Role.OPERATOR in roles for roles in PART_ROLES.values())


def test_the_complaint_handler_is_the_levels_decider() -> None:
    assert roles_for_part(Part.COMPLAINT_HANDLER, complaint_level="management") == {Role.MANAGEMENT}
    assert roles_for_part(Part.COMPLAINT_HANDLER, complaint_level="board") == {Role.BOARD}
    assert roles_for_part(Part.COMPLAINT_HANDLER, complaint_level="committee") == {Role.BOARD}
    assert roles_for_part(Part.COMPLAINT_HANDLER, complaint_level="nonsense") == frozenset()


def test_role_in_part_takes_the_wanted_role_or_the_first() -> None:
    roles = (Role.CONTACT_PERSON, Role.TEACHER)
    assert role_in_part(roles, Part.ENGAGED_COLLEAGUE) is Role.CONTACT_PERSON
    assert role_in_part(roles, Part.ENGAGED_COLLEAGUE, "teacher") is Role.TEACHER
    assert role_in_part(roles, Part.ENGAGED_COLLEAGUE, "management") is None
    assert role_in_part((Role.AUDITOR,), Part.ENGAGED_COLLEAGUE) is None


# --- the person --------------------------------------------------------------------------


def test_a_person_records_only_changes_and_stays_removed() -> None:
    person = Person.register(
        school_id=uuid4(),
        profile=Profile("Medewerker Test-B", user_name="test-b@school.test"),
        roles=(Role.TEACHER,),
        by=SCIM_CLIENT,
        source=SCIM,
    )
    assert person.provisioned
    assert person.may_log_in
    assert person.subject is None
    assert not person.change_profile(
        Profile("Medewerker Test-B", user_name="test-b@school.test"), by=SCIM_CLIENT
    )
    assert not person.change_roles((Role.TEACHER,), by=SCIM_CLIENT, source=SCIM)
    assert person.change_roles((Role.TEACHER, Role.COORDINATOR), by=SCIM_CLIENT, source=SCIM)
    assert person.set_active(False, by=SCIM_CLIENT, source=SCIM)
    assert not person.may_log_in
    person.remove(by=SCIM_CLIENT, source=SCIM)
    with pytest.raises(WrongState):
        person.set_active(True, by=SCIM_CLIENT, source=SCIM)
    types = [type(e).__name__ for e in person.collect_events()]
    assert types == [
        "PersonRegistered",
        "PersonRolesChanged",
        "PersonDeactivated",
        "PersonRemoved",
    ]


def test_a_person_of_a_school_is_never_an_operator() -> None:
    with pytest.raises(InvalidInput):
        Person.register(
            school_id=uuid4(), profile=Profile("X"), roles=(Role.OPERATOR,), by=BY, source=OPERATOR
        )


def test_profile_text_follows_the_one_text_rule() -> None:
    with pytest.raises(InvalidInput) as info:
        Person.register(
            school_id=uuid4(), profile=Profile("Naam\x00"), roles=(), by=BY, source=OPERATOR
        )
    assert info.value.field == "display_name"


# --- the write side's check, through the command handler ------------------------------------


def _refused(service: CaseService, who, command, field: str, reason: str) -> None:
    before = stored_count(service.app, command.case_id)
    with pytest.raises(InvalidInput) as info:
        service.handle(who, command)
    assert (info.value.field, info.value.reason) == (field, reason), info.value.message
    assert stored_count(service.app, command.case_id) == before, "a refused command was stored"


def test_assign_owner_refuses_every_person_who_cannot_own(
    app: CaseworkApplication, service: CaseService, school: UUID, contact: str
) -> None:
    who = _as(contact, Role.CONTACT_PERSON)
    case_id = service.report(who, ReportCase(reporter_kind="parent", summary="Fictieve melding"))
    teacher = register(app, school, Role.TEACHER)
    gone = register(app, school, Role.CONTACT_PERSON, active=False)
    elsewhere = register(app, uuid4(), Role.CONTACT_PERSON)  # another school's, same log
    for value, reason in (
        ("demo-user-string", PersonReason.NOT_A_PERSON_ID),
        (str(uuid4()), PersonReason.UNKNOWN),
        (elsewhere, PersonReason.UNKNOWN),
        (gone, PersonReason.INACTIVE),
        (teacher, PersonReason.WRONG_ROLE),
        ("", "required"),
    ):
        _refused(service, who, AssignOwner(case_id=case_id, owner_id=value), "owner_id", reason)
    other = register(app, school, Role.CONTACT_PERSON)
    service.handle(who, AssignOwner(case_id=case_id, owner_id=f" {other.upper()} "))
    assert service.read(who, case_id).owner_id == other  # canonical form


def test_report_checks_a_named_owner(
    app: CaseworkApplication, service: CaseService, school: UUID, contact: str
) -> None:
    who = _as(contact, Role.CONTACT_PERSON)
    teacher = register(app, school, Role.TEACHER)
    with pytest.raises(InvalidInput) as info:
        service.report(
            who, ReportCase(reporter_kind="parent", summary="Fictieve melding", owner_id=teacher)
        )
    assert info.value.field == "owner_id"
    assert app.recorder.max_notification_id() == 2  # the two persons, no case


def test_engaging_takes_the_colleagues_own_role(
    app: CaseworkApplication, service: CaseService, school: UUID, contact: str
) -> None:
    who = _as(contact, Role.CONTACT_PERSON)
    case_id = service.report(who, ReportCase(reporter_kind="parent", summary="Fictieve melding"))
    service.handle(who, GiveConsent(case_id=case_id, given_by="pupil", covers=["engage_colleague"]))
    plan = PlanStep(case_id=case_id, kind="engage_colleague", description="Fictief gesprek")
    service.handle(who, plan)
    mentor = register(app, school, Role.TEACHER, Role.CARE_COORDINATOR)
    safety = register(app, school, Role.SAFETY_COORDINATOR)
    step = plan.step_id
    _refused(
        service,
        who,
        EngagePerson(case_id=case_id, step_id=step, user_id=safety),
        "user_id",
        PersonReason.WRONG_ROLE,
    )
    _refused(
        service,
        who,
        EngagePerson(case_id=case_id, step_id=step, user_id=mentor, staff_role="management"),
        "staff_role",
        PersonReason.WRONG_ROLE,
    )
    service.handle(who, EngagePerson(case_id=case_id, step_id=step, user_id=mentor))
    service.handle(
        who, EngagePerson(case_id=case_id, step_id=step, user_id=mentor, staff_role="teacher")
    )
    engaged = [e for e in app.events.get(case_id) if type(e).__name__ == "PersonEngaged"]
    # Without a staff role, their first role that can be engaged (in Role order).
    assert [(e.user_id, e.staff_role) for e in engaged] == [
        (mentor, "care_coordinator"),
        (mentor, "teacher"),
    ]
    # A step's assignee is checked too.
    _refused(
        service,
        who,
        PlanStep(case_id=case_id, kind="engage_colleague", description="F", assignee_id=safety),
        "assignee_id",
        PersonReason.WRONG_ROLE,
    )


def test_lessons_go_to_a_coordinator(
    app: CaseworkApplication, service: CaseService, school: UUID, contact: str
) -> None:
    who = _as(contact, Role.CONTACT_PERSON)
    case_id = service.report(who, ReportCase(reporter_kind="parent", summary="Fictieve melding"))
    service.handle(who, EvaluateCase(case_id=case_id, lessons=["Fictieve les"]))
    _refused(
        service,
        who,
        ShareLessons(case_id=case_id, coordinator_id=contact),
        "coordinator_id",
        PersonReason.WRONG_ROLE,
    )
    apc = register(app, school, Role.COORDINATOR)
    service.handle(who, ShareLessons(case_id=case_id, coordinator_id=apc))


def test_complaint_support_per_support_role_and_level(
    app: CaseworkApplication, service: CaseService, school: UUID, contact: str
) -> None:
    who = _as(contact, Role.CONTACT_PERSON)
    case_id = service.report(who, ReportCase(reporter_kind="parent", summary="Fictieve melding"))
    sc = _as(register(app, school, Role.SCHOOL_CONTACT), Role.SCHOOL_CONTACT)
    filed = FileComplaint(case_id=case_id, complainant="Ouder Test-A", summary="Fictief")
    service.handle(sc, filed)
    directie = register(app, school, Role.MANAGEMENT)
    bestuur = register(app, school, Role.BOARD)
    advisor = register(app, school, Role.CONFIDENTIAL_ADVISOR)

    def support(user: str, role: str) -> AssignComplaintSupport:
        return AssignComplaintSupport(
            case_id=case_id, complaint_id=filed.complaint_id, user_id=user, support_role=role
        )

    # Level 1: the directie handles; a board member does not; the advisor advises.
    _refused(service, sc, support(bestuur, "handler"), "user_id", PersonReason.WRONG_ROLE)
    _refused(service, sc, support(directie, "confidential_advisor"), "user_id", "wrong_role")
    service.handle(sc, support(directie, "handler"))
    service.handle(sc, support(advisor, "confidential_advisor"))
    # At the board's level, the board handles.
    service.handle(
        sc,
        EscalateComplaint(
            case_id=case_id, complaint_id=filed.complaint_id, to_level="board", reason="F"
        ),
    )
    _refused(service, sc, support(directie, "handler"), "user_id", PersonReason.WRONG_ROLE)
    service.handle(sc, support(bestuur, "handler"))


def test_the_default_lookup_reads_the_log(app: CaseworkApplication, school: UUID) -> None:
    person = register(app, school, Role.TEACHER)
    lookup = LogPeople(app, school)
    found = lookup.person(UUID(person))
    assert found is not None
    assert found.roles == (Role.TEACHER,)
    assert found.active
    assert LogPeople(app, uuid4()).person(UUID(person)) is None  # another school's
    assert lookup.person(uuid4()) is None


def test_an_engaged_person_is_found_under_their_old_subject_too(
    app: CaseworkApplication, service: CaseService, school: UUID, contact: str
) -> None:
    """Events written before the directory hold the login subject: an actor carrying it as an
    alias is still the engaged colleague there."""
    from services.shared.actor import Actor, acting_as

    who = _as(contact, Role.CONTACT_PERSON)
    case_id = service.report(who, ReportCase(reporter_kind="parent", summary="Fictieve melding"))
    service.handle(who, GiveConsent(case_id=case_id, given_by="pupil", covers=["other"]))
    plan = PlanStep(case_id=case_id, kind="other", description="F")
    service.handle(who, plan)
    case = app.get_case(case_id, school)
    with acting_as(who):  # as an old event: the subject, not a person id
        case.engage_person(step_id=plan.step_id, user_id="old-sub-1", staff_role="mentor")
    app.save_case(case)
    mentor = Actor(user_id=str(uuid4()), role=Role.TEACHER, aliases=("old-sub-1",))
    assert service.read(mentor, case_id).id == case_id
