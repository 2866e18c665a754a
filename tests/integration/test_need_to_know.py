"""Need-to-know over EVERY reading route: each role of a school sees of a case only the parts its
relation to the case gives it (services.access.need_to_know), and nothing of a case it has no
relation to.

The routes come from the app's own route table (as in ``test_isolation``), so a new route that
shows case content cannot forget it. Two cases of one school:

- *own*: every role that can have a relation has one: the mentor and the IB'er are engaged in a
  step, the vertrouwenspersoon supports its complaint, the complaint went to the board (so
  directie and bestuur have it at or past their level), the complaints route is open (the
  schoolcontactpersoon). It holds a marker in each guarded part: the pupil's surname and
  reference (full participants), the intake, a note of the contact person, a criminal offence.
- *not own*: a plain report, no relation for anyone but the case-wide roles; its summary holds a
  marker.

As each role, over the API (bearer tokens) and the pages (session), every GET route is called
with both cases: a marker of a part the role does not see never shows; the case it has no
relation to answers exactly like a case that exists nowhere (404, or the guard's 403) and its
marker and id never show in lists. The parts expected come from the rule (``sight``) on the
case's facts: the table itself is checked against the seed in ``tests/unit/test_need_to_know``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from infra.bootstrap.container import Container
from infra.entrypoints.web.actions import ACTIONS
from services.access.need_to_know import Part, Sight, reads_case_wide, sight
from services.access.roles import Role
from services.attachments.scanning import UnscannedDemo
from services.casework.commands import (
    AddNote,
    AddParticipant,
    EngagePerson,
    FlagCriminalOffence,
    GiveConsent,
    HoldIntake,
    PlanStep,
    RecordContact,
    ReportCase,
)
from services.casework.facts import case_facts
from services.casework.handlers import CaseService
from services.casework.vocabulary import StepKind
from services.complaints.commands import (
    AssignComplaintSupport,
    EscalateComplaint,
    ExplainComplaintProcedure,
    FileComplaint,
)
from services.shared.actor import Actor
from tests.documents import pdf
from tests.integration.handover import stored_handover
from tests.integration.readside import catch_up, today
from tests.integration.test_isolation import NOT_SCHOOL_BOUND, expand, routes
from tests.integration.web import (
    FakeIssuer,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    web_client,
)

#: Every role a school's person can act in.
SCHOOL_ROLES = tuple(r for r in Role if r is not Role.OPERATOR)

#: Roles brought into a step of the own case.
ENGAGED_ROLES = (Role.TEACHER, Role.CARE_COORDINATOR)


@dataclasses.dataclass
class Setup:
    container: Container
    client: Any
    issuer: FakeIssuer
    school: Any
    own: UUID
    other: UUID
    markers: dict[Part, tuple[str, ...]]
    other_marker: str
    api_ids: dict[Role, str]
    page_ids: dict[Role, str]
    attachment: UUID
    pupil: UUID | None
    handover: UUID
    received: UUID


def _get(client: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    return client.get(path, headers=headers or {}, follow_redirects=True)


@pytest.fixture
def setup(container: Container) -> Iterator[Setup]:
    world = make_world(container, "ntk")
    school = world.school_a
    issuer = FakeIssuer(f"https://idp.test/{school.slug}", "vangnet-api")
    configure_fake_login(container, school, issuer)
    tag = uuid.uuid4().hex[:8].upper()
    markers = {
        Part.PARTICIPANTS: (f"ACHTERNAAM{tag}", f"REF{tag}"),
        Part.INTAKE: (f"OPVANG{tag}",),
        Part.NOTES: (f"NOTITIE{tag}",),
        Part.OFFENCE: (f"STRAFBAAR{tag}",),
        Part.CONTACTS: (f"GESPREK{tag}",),
        Part.ATTACHMENTS: (f"BIJLAGE{tag}",),
    }
    with web_client(container, http_transport=issuer.transport) as client:
        # Each role's person as the API (bearer) and the pages (session) know them.
        api_ids = {}
        page_ids = {}
        for role in SCHOOL_ROLES:
            me = client.get("/api/me", headers=bearer(issuer, school, role))
            assert me.status_code == 200, me.text
            api_ids[role] = me.json()["user_id"]
            page_ids[role] = log_in(client, principal(school, role)).user_id
        client.cookies.clear()
        service = CaseService(container.schools.get(school.id), school.id)
        contact = Actor(api_ids[Role.CONTACT_PERSON], Role.CONTACT_PERSON)
        school_contact = Actor(api_ids[Role.SCHOOL_CONTACT], Role.SCHOOL_CONTACT)
        own = service.report(contact, ReportCase(reporter_kind="parent", summary="Fictief"))
        do = service.handle
        pupil = AddParticipant(
            case_id=own,
            pupil_ref=f"REF{tag}",
            role="target",
            display_name=f"Leerling ACHTERNAAM{tag}",
            group="Groep 7",
        )
        do(contact, pupil)
        do(contact, HoldIntake(case_id=own, held_on=today(), summary=f"Fictief OPVANG{tag}"))
        do(contact, GiveConsent(case_id=own, given_by="pupil", covers=list(StepKind)))
        step = PlanStep(case_id=own, kind="engage_colleague", description="Fictieve stap")
        do(contact, step)
        for role in ENGAGED_ROLES:
            for person in (api_ids[role], page_ids[role]):
                do(contact, EngagePerson(case_id=own, step_id=step.step_id, user_id=person))
        do(contact, AddNote(case_id=own, text=f"Fictief NOTITIE{tag}"))
        do(contact, RecordContact(
            case_id=own, with_whom="parents", channel="phone", held_on=today(),
            discussed=f"Fictief GESPREK{tag}",
        ))  # fmt: skip
        attachment = (
            container.attachment_service(school, scanner=UnscannedDemo())
            .add(
                contact,
                own,
                file_name="bewijs.pdf",
                content=pdf(f"BIJLAGE{tag}"),
                caption=f"Fictief BIJLAGE{tag}",
            )
            .attachment_id
        )
        pupil_id = next(iter(service.app.get_case(own, school.id).participants.values())).pupil_id
        do(contact, FlagCriminalOffence(case_id=own, description=f"Fictief STRAFBAAR{tag}"))
        do(contact, ExplainComplaintProcedure(case_id=own, explained_to="ouders"))
        complaint = FileComplaint(case_id=own, complainant="Ouder Test-A", summary="Fictief")
        do(school_contact, complaint)
        for person in (api_ids[Role.CONFIDENTIAL_ADVISOR], page_ids[Role.CONFIDENTIAL_ADVISOR]):
            do(school_contact, AssignComplaintSupport(
                case_id=own, complaint_id=complaint.complaint_id, user_id=person,
                support_role="confidential_advisor",
            ))  # fmt: skip
        do(school_contact, EscalateComplaint(
            case_id=own, complaint_id=complaint.complaint_id, to_level="board", reason="Fictief",
        ))  # fmt: skip
        other_marker = f"GEEN-RELATIE-{tag}"
        other = service.report(contact, ReportCase(reporter_kind="peer", summary=other_marker))
        # A hand-over sent and a file received, holding the marker of nobody's case: only the
        # contact person (case-wide) may open them.
        handover, received = stored_handover(service.app, school.id, other_marker)
        catch_up(container, school)
        yield Setup(
            container,
            client,
            issuer,
            school,
            own,
            other,
            markers,
            other_marker,
            api_ids,
            page_ids,
            attachment,
            pupil_id,
            handover,
            received,
        )


def _sight(s: Setup, role: Role, user_id: str) -> Sight:
    case = s.container.schools.get(s.school.id).get_case(s.own, s.school.id)
    return sight(Actor(user_id, role), case_facts(case))


#: A case id that exists in no school.
NOWHERE = uuid.uuid4()


def _reading_routes(s: Setup, *, api: bool) -> list[str]:
    """Every GET route of the API (``api``) or of the pages that a school's data can pass."""
    return [
        template
        for method, template in routes(s.client.app)
        if method == "GET"
        and template.startswith("/api/") is api
        and template not in NOT_SCHOOL_BOUND
        and not template.startswith(("/schema", "/scim/", "/dev-idp", "/auth/"))
    ]


def _values(s: Setup, case_id: UUID) -> dict[str, list[str]]:
    return {
        "case_id": [str(case_id)],
        "attachment_id": [str(s.attachment)],
        "pupil_id": [str(s.pupil)],
        "handover_id": [str(s.handover)],
        "file_id": [str(s.received)],
        "action_name": list(ACTIONS),
        "school_id": [str(s.school.id)],
        "slug": [s.school.slug],
        "token": ["not-a-token"],
        "school_year": ["2025-2026"],
        "path": ["Users"],
    }


def _check_role(s: Setup, role: Role, seen: Sight, fetch: Any, *, api: bool) -> int:
    """Call every reading route as ``role`` with both cases; returns the number of calls."""
    calls = 0
    hidden = [m for part, ms in s.markers.items() if not seen.sees(part) for m in ms]
    wide = reads_case_wide(role)
    for template in _reading_routes(s, api=api):
        for case_id in (s.own, s.other):
            for path in expand(template, _values(s, case_id)):
                response = fetch(path)
                calls += 1
                where = f"{role} GET {path} ({template})"
                assert response.status_code < 500, f"{where}: {response.status_code}"
                for marker in hidden:
                    assert marker not in response.text, f"{where} shows {marker}"
                if wide:
                    continue
                assert s.other_marker not in response.text, f"{where}: the case of nobody's"
                if "{case_id" not in template:
                    assert str(s.other) not in response.text, f"{where} lists the other case"
                elif case_id == s.other:
                    nowhere = fetch(path.replace(str(s.other), str(NOWHERE)))
                    assert response.status_code in (403, 404), f"{where}: {response.status_code}"
                    assert nowhere.status_code == response.status_code, f"{where}: a hint"
    return calls


def test_the_relations_of_the_own_case_are_as_planned(setup: Setup) -> None:
    """The setup gives each role the relation meant (so the route test checks what it says)."""
    for role in SCHOOL_ROLES:
        seen = _sight(setup, role, setup.api_ids[role])
        expect_nothing = role in (Role.SAFETY_COORDINATOR, Role.DOMESTIC_VIOLENCE_OFFICER)
        assert seen.nothing is expect_nothing, role
    assert _sight(setup, Role.TEACHER, setup.api_ids[Role.TEACHER]).sees(Part.OWN_STEPS)
    assert not _sight(setup, Role.TEACHER, setup.api_ids[Role.TEACHER]).sees(Part.NOTES)
    assert _sight(setup, Role.BOARD, setup.api_ids[Role.BOARD]).sees(Part.COMPLAINTS)


@pytest.mark.parametrize("role", SCHOOL_ROLES)
def test_api_routes_show_only_the_visible_parts(setup: Setup, role: Role) -> None:
    headers = bearer(setup.issuer, setup.school, role)
    seen = _sight(setup, role, setup.api_ids[role])
    calls = _check_role(setup, role, seen, lambda p: _get(setup.client, p, headers), api=True)
    assert calls > 0
    # The list finds the case the role has a relation to (and, unless case-wide, no other).
    listed = setup.client.get("/api/cases", headers=headers)
    if seen.nothing:
        assert listed.status_code == 403 or str(setup.own) not in listed.text
    else:
        ids = {item["case_id"] for item in listed.json()}
        assert str(setup.own) in ids
        assert (str(setup.other) in ids) is reads_case_wide(role)
    # The case detail answers with exactly the parts the rule gives.
    detail = setup.client.get(f"/api/cases/{setup.own}", headers=headers)
    if seen.nothing or role is Role.SAFETY_COORDINATOR:
        assert detail.status_code in (403, 404)
    else:
        assert detail.status_code == 200, detail.text
        assert set(detail.json()["detail"]["visible_parts"]) == {str(p) for p in seen.parts}


@pytest.mark.parametrize("role", SCHOOL_ROLES)
def test_pages_show_only_the_visible_parts(setup: Setup, role: Role) -> None:
    who = log_in(setup.client, principal(setup.school, role))
    seen = _sight(setup, role, who.user_id)
    try:
        calls = _check_role(setup, role, seen, lambda p: _get(setup.client, p), api=False)
    finally:
        setup.client.cookies.clear()
    assert calls > 0
