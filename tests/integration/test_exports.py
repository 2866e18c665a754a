"""The case file (dossier) for the complaints committee: JSON and PDF, in Dutch, built from the
case's events; who may export it; every export recorded in the access log.

All names and texts are fictitious.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from services.access.roles import Role
from services.casework.commands import (
    AddParticipant,
    CompleteFollowUp,
    CompleteStep,
    EngagePerson,
    EvaluateCase,
    GiveConsent,
    HoldIntake,
    MapSituation,
    PlanStep,
    RecordAgreement,
    ReportCase,
    ScheduleFollowUp,
)
from services.casework.handlers import CaseService
from services.complaints.commands import (
    AssignComplaintSupport,
    ExplainComplaintProcedure,
    FileComplaint,
)
from services.shared.actor import Actor
from tests.integration.readside import today
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    World,
    as_person,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    staff,
    web_client,
)

pytestmark = pytest.mark.integration

TARGET_NAME = "Zoë Ünal"  # fictitious; ë and Ü must survive into the PDF
TEACHER_ID = "test-exports-mentor"


@dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    container: Container
    world: World
    issuer_a: FakeIssuer
    issuer_b: FakeIssuer
    case_id: UUID
    version: int
    teacher_id: str  # the engaged mentor's person id

    def get(self, path: str, role: Role, school: str = "a", sub: str | None = None) -> Any:
        if school == "a":
            headers = bearer(self.issuer_a, self.world.school_a, role, sub)
        else:
            headers = bearer(self.issuer_b, self.world.school_b, role, sub)
        return self.client.get(path, headers=headers)

    def reads(self) -> list[dict[str, Any]]:
        schema = self.world.school_a.schema_name
        with self.container.pool.connection() as conn:
            rows = conn.execute(
                f'SELECT user_id, role, what FROM "{schema}".case_reads '
                "WHERE case_id = %s ORDER BY id",
                (self.case_id,),
            ).fetchall()
        return [dict(r) for r in rows]


def a_whole_case(container: Container, world: World, teacher_id: str) -> tuple[UUID, int]:
    """The story of a case up to a complaint, through the write side (``teacher_id``: the
    person id of the mentor who is engaged)."""
    school = world.school_a
    service = CaseService(container.schools.get(school.id), school.id)
    contact = Actor(f"test-{school.slug}-contact_person", Role.CONTACT_PERSON)
    school_contact = Actor(f"test-{school.slug}-school_contact", Role.SCHOOL_CONTACT)
    day = today()
    # A parent reports; the target pupil joins the case; the intake is held.
    case_id = service.report(
        contact, ReportCase(reporter_kind="parent", summary="Ouder meldt uitsluiten in de klas.")
    )
    service.handle(
        contact,
        AddParticipant(
            case_id=case_id,
            pupil_ref="LL-0042",
            role="target",
            display_name=TARGET_NAME,
            group="groep 7",
        ),
    )
    intake = "Gesprek met leerling – rustig."  # noqa: RUF001 (an en dash, on purpose)
    service.handle(contact, HoldIntake(case_id=case_id, held_on=day, summary=intake))
    # The situation is mapped, consent is given, a step is planned, a mentor engaged, done.
    service.handle(
        contact,
        MapSituation(
            case_id=case_id,
            forms=["verbal", "relational"],
            locations=["classroom"],
            frequency="weekly",
            impact="moderate",
            description="Buitensluiten bij groepswerk.",
        ),
    )
    service.handle(
        contact,
        GiveConsent(case_id=case_id, given_by="pupil_and_parents", covers=["talk_with_actor"]),
    )
    step = PlanStep(case_id=case_id, kind="talk_with_actor", description="Gesprek met de pester")
    service.handle(contact, step)
    service.handle(
        contact,
        EngagePerson(
            case_id=case_id, step_id=step.step_id, user_id=teacher_id, staff_role="teacher"
        ),
    )
    service.handle(
        contact, CompleteStep(case_id=case_id, step_id=step.step_id, outcome="Excuses gemaakt.")
    )
    # An agreement, aftercare that found the bullying stopped, an evaluation.
    service.handle(
        contact,
        RecordAgreement(
            case_id=case_id, text="Samen werken bij groepswerk.", parties="leerlingen en mentor"
        ),
    )
    follow_up = ScheduleFollowUp(case_id=case_id, due_on=day + timedelta(days=14))
    service.handle(contact, follow_up)
    service.handle(
        contact,
        CompleteFollowUp(
            case_id=case_id,
            follow_up_id=follow_up.follow_up_id,
            agreements_kept=True,
            bullying_stopped=True,
            pupil_feels_safe=True,
            notes="Het gaat goed.",
        ),
    )
    service.handle(
        contact,
        EvaluateCase(case_id=case_id, went_well="Snel gesprek", lessons=["Eerder ingrijpen"]),
    )
    # The parents are not content: the complaint procedure, a complaint, support.
    service.handle(contact, ExplainComplaintProcedure(case_id=case_id, explained_to="de ouders"))
    complaint = FileComplaint(
        case_id=case_id, complainant="de ouders", summary="Te laat gehandeld, vinden zij."
    )
    service.handle(school_contact, complaint)
    version = service.handle(
        school_contact,
        AssignComplaintSupport(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            user_id=staff(container, school, Role.CONFIDENTIAL_ADVISOR),
            support_role="confidential_advisor",
        ),
    )
    return case_id, version


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    world = make_world(container, "exp")
    issuer_a = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    issuer_b = FakeIssuer(f"https://idp.test/{world.school_b.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer_a)
    configure_fake_login(container, world.school_b, issuer_b)
    # The mentor's login (sub TEACHER_ID at school A's provider) is a person of the directory.
    mentor = principal(world.school_a, Role.TEACHER, TEACHER_ID)
    mentor = as_person(container, dataclasses.replace(mentor, issuer=issuer_a.issuer))
    case_id, version = a_whole_case(container, world, mentor.user_id)
    catch_up_school(container, world.school_a.id)  # the case page reads the view
    with web_client(container, http_transport=Issuers(issuer_a, issuer_b).transport) as client:
        yield Site(client, container, world, issuer_a, issuer_b, case_id, version, mentor.user_id)


def section(document: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in document["sections"] if s["key"] == key)


def lines(entry: dict[str, Any]) -> dict[str, str]:
    return {line["label"]: line["value"] for line in entry["lines"]}


# --- a light PDF text check: the font's ToUnicode maps applied to the shown strings ------------


def _streams(data: bytes) -> list[bytes]:
    found = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            found.append(zlib.decompress(raw))
        except zlib.error:
            found.append(raw)
    return found


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(literal):
        char = literal[i : i + 1]
        if char != b"\\":
            out += char
            i += 1
            continue
        following = literal[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(following, following)
            i += 2
    return bytes(out)


def pdf_text(data: bytes) -> str:
    """Every shown string decoded with every font's ToUnicode map (wrong pairs give noise)."""
    streams = _streams(data)
    maps = []
    for stream in streams:
        if b"beginbfchar" in stream:
            pairs = re.findall(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]{4,8})>", stream)
            maps.append(
                {int(code, 16): bytes.fromhex(u.decode()).decode("utf-16-be") for code, u in pairs}
            )
    shown = [
        _unescape(m)
        for stream in streams
        for m in re.findall(rb"\(((?:\\.|[^\\()])*)\)\s*Tj", stream, re.S)
    ]
    texts = []
    for mapping in maps:
        for raw in shown:
            codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw) - 1, 2)]
            texts.append("".join(mapping.get(code, "\ufffd") for code in codes))
    return "\n".join(texts)


# --- the JSON export --------------------------------------------------------------------------


def test_the_json_case_file_tells_the_whole_case_in_dutch(site: Site) -> None:
    response = site.get(f"/api/cases/{site.case_id}/export.json", Role.CONTACT_PERSON)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["format"] == "vangnet.case-file/1"
    assert document["case_id"] == str(site.case_id)
    assert document["version"] == site.version
    assert document["school_name"] == "School A"

    # The header: school, case id, status, dates, who made the file.
    header = {line["label"]: line["value"] for line in document["header"]}
    assert header["School"] == "School A"
    assert header["Zaaknummer"] == str(site.case_id)
    assert header["Status"] == "in behandeling"
    assert header["Gemeld door"] == "ouder"
    assert header["Hoogste klachtniveau"] == "directie"
    assert "Gemeld op" in header
    assert "Laatst gewijzigd op" in header
    assert header["Dossier gemaakt door"].endswith("(Aanspreekpunt pesten)")

    # The sections, with Dutch labels for every stored value.
    titles = [s["title"] for s in document["sections"]]
    for title in (
        "De melding",
        "Betrokken leerlingen",
        "De pestsituatie",
        "Toestemming",
        "Stappen",
        "Afspraken",
        "Nazorg",
        "Klachten",
        "Evaluatie en leerpunten",
    ):
        assert title in titles
    participant = section(document, "participants")["entries"][0]
    assert participant["title"] == TARGET_NAME
    assert lines(participant)["Rol in deze zaak"] == "gepeste leerling"
    assert lines(participant)["Leerlingreferentie"] == "LL-0042"
    situation = lines(section(document, "situation")["entries"][0])
    assert situation["Vormen van pesten"] == "verbaal, relationeel (buitensluiten)"
    assert situation["Hoe vaak"] == "wekelijks"
    consent = section(document, "consents")["entries"][0]
    assert consent["title"] == "Toestemming van de leerling en de ouders"
    assert lines(consent)["Voor de stappen"] == "gesprek met pester"
    assert lines(consent)["Status"] == "geldig"
    step = section(document, "steps")["entries"][0]
    assert step["title"] == "gesprek met pester"
    assert lines(step)["Status"] == "afgerond"
    assert lines(step)["Resultaat"] == "Excuses gemaakt."
    # People by name and role at the school, never by id.
    assert lines(step)["Ingeschakeld"] == "Test teacher (Mentor / leerkracht)"
    engaged = next(i for i in document["timeline"] if i["event_type"] == "PersonEngaged")
    assert {"label": "Collega", "value": "Test teacher"} in engaged["details"]
    assert engaged["actor_name"]
    agreement = lines(section(document, "agreements")["entries"][0])
    assert agreement["Afspraak"] == "Samen werken bij groepswerk."
    aftercare = lines(section(document, "aftercare")["entries"][0])
    assert aftercare["Het pesten is gestopt"] == "ja"
    complaints = section(document, "complaints")["entries"]
    assert complaints[0]["title"].startswith("Klachtenregeling uitgelegd op")
    complaint = lines(complaints[1])
    assert complaint["Stand"] == "lopend, bij directie"
    assert complaint["Klager"] == "de ouders"
    assert "vertrouwenspersoon" in complaint["Ondersteuning"]
    evaluation = lines(section(document, "evaluation")["entries"][0])
    assert evaluation["Leerpunten"] == "Eerder ingrijpen"
    assert section(document, "police")["entries"] == []
    assert section(document, "police")["empty"] == "Niets vastgelegd."

    # The full timeline: every event, oldest first, with a Dutch label, who and which role.
    timeline = document["timeline"]
    assert [item["version"] for item in timeline] == list(range(1, site.version + 1))
    assert timeline[0]["event_type"] == "CaseReported"
    assert timeline[0]["label"] == "Melding vastgelegd"
    assert timeline[0]["actor_role_label"] == "Aanspreekpunt pesten"
    consent_given = next(i for i in timeline if i["event_type"] == "ConsentGiven")
    assert consent_given["label"] == "Toestemming vastgelegd"
    assert {"label": "Toestemming gegeven door", "value": "de leerling en de ouders"} in (
        consent_given["details"]
    )
    filed = next(i for i in timeline if i["event_type"] == "ComplaintFiled")
    assert filed["actor_role"] == "school_contact"
    assert filed["actor_role_label"] == "Schoolcontactpersoon"
    assert re.match(r"\d{1,2} [a-z]+ \d{4}, \d{2}:\d{2}$", filed["at_local"])

    # The export is recorded in the case's access log.
    me = site.get("/api/me", Role.CONTACT_PERSON).json()  # the token's person
    assert site.reads()[-1] == {
        "user_id": me["user_id"],
        "role": "contact_person",
        "what": "export",
    }


def test_the_pdf_case_file_holds_the_timeline_and_dutch_characters(site: Site) -> None:
    response = site.get(f"/api/cases/{site.case_id}/export.pdf", Role.CONTACT_PERSON)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.headers["content-disposition"].startswith('attachment; filename="dossier-')
    data = response.content
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    assert TARGET_NAME in text  # ë and Ü, through the embedded Unicode font
    assert "Dossier pestzaak" in text
    assert "Tijdlijn" in text
    assert "Toestemming vastgelegd" in text
    assert "Klacht ingediend" in text
    assert "Schoolcontactpersoon" in text  # who filed the complaint
    assert "Gesprek met leerling – rustig." in text  # noqa: RUF001 (an en dash in free text)
    assert site.reads()[-1]["what"] == "export"


# --- who may export -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [
        Role.CONTACT_PERSON,
        Role.COORDINATOR,
        Role.SCHOOL_CONTACT,  # the complaints route is open
        Role.MANAGEMENT,  # the complaint is at directie level
        Role.AUDITOR,
    ],
)
def test_those_who_see_the_case_may_export_it(site: Site, role: Role) -> None:
    response = site.get(f"/api/cases/{site.case_id}/export.json", role)
    assert response.status_code == 200, response.text
    assert site.reads()[-1]["role"] == role.value
    # Need-to-know: the complaint roles get the complaint file, not the notes or the offence.
    keys = {s["key"] for s in response.json()["sections"]}
    assert "complaints" in keys
    assert ("notes" in keys) is (role in (Role.CONTACT_PERSON, Role.COORDINATOR, Role.AUDITOR))


@pytest.mark.parametrize("role", [Role.CONFIDENTIAL_ADVISOR, Role.BOARD])
def test_complaint_roles_without_a_relation_to_the_case_do_not_find_it(
    site: Site, role: Role
) -> None:
    """A vertrouwenspersoon not assigned to its complaint, the board while the complaint is at
    directie level: the case is not found (need-to-know), and nothing is recorded."""
    before = len(site.reads())
    response = site.get(f"/api/cases/{site.case_id}/export.json", role)
    assert response.status_code == 404, response.text
    assert len(site.reads()) == before


@pytest.mark.parametrize(
    "role",
    [
        Role.TEACHER,
        Role.CARE_COORDINATOR,
        Role.SAFETY_COORDINATOR,
        Role.DOMESTIC_VIOLENCE_OFFICER,
    ],
)
def test_other_roles_may_not_export(site: Site, role: Role) -> None:
    before = len(site.reads())
    for path in ("export.json", "export.pdf"):
        response = site.get(f"/api/cases/{site.case_id}/{path}", role)
        assert response.status_code == 403, (role, path, response.text)
    assert len(site.reads()) == before  # a refused export is no read


def test_an_engaged_mentor_reads_the_case_but_may_not_hand_out_its_file(site: Site) -> None:
    page = site.get(f"/api/cases/{site.case_id}", Role.TEACHER, sub=TEACHER_ID)
    assert page.status_code == 200
    response = site.get(f"/api/cases/{site.case_id}/export.json", Role.TEACHER, sub=TEACHER_ID)
    assert response.status_code == 403


def test_another_schools_case_or_an_unknown_case_is_not_found(site: Site) -> None:
    for path in ("export.json", "export.pdf"):
        response = site.get(f"/api/cases/{site.case_id}/{path}", Role.CONTACT_PERSON, school="b")
        assert response.status_code == 404, response.text
        response = site.get(f"/api/cases/{uuid4()}/{path}", Role.CONTACT_PERSON)
        assert response.status_code == 404
    # ... also for a role that may not export: no hint the case exists elsewhere (the route's
    # guard refuses the role before any case is looked up, the same for every case id).
    response = site.get(f"/api/cases/{site.case_id}/export.json", Role.TEACHER, school="b")
    nowhere = site.get(f"/api/cases/{uuid4()}/export.json", Role.TEACHER, school="b")
    assert response.status_code == nowhere.status_code == 403
    assert site.client.get(f"/api/cases/{site.case_id}/export.json").status_code == 401


# --- from the case page ------------------------------------------------------------------------


def test_the_case_page_offers_the_case_file_to_those_who_may(site: Site) -> None:
    case_url = f"/zaken/{site.case_id}"
    log_in(site.client, principal(site.world.school_a, Role.MANAGEMENT))
    page = site.client.get(case_url)
    assert page.status_code == 200
    assert f'href="{case_url}/dossier.pdf"' in page.text
    pdf = site.client.get(f"{case_url}/dossier.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    # Directie decides the complaint: the pupils by first name, no surname (need-to-know).
    text = pdf_text(pdf.content)
    assert TARGET_NAME.split(maxsplit=1)[0] in text
    assert TARGET_NAME not in text
    document = site.client.get(f"{case_url}/dossier.json")
    assert document.status_code == 200
    assert document.json()["case_id"] == str(site.case_id)
    assert [r["what"] for r in site.reads()[-3:]] == ["case_page", "export", "export"]

    # The safety coordinator reads no case content: no file either.
    log_in(site.client, principal(site.world.school_a, Role.SAFETY_COORDINATOR))
    assert site.client.get(f"{case_url}/dossier.pdf").status_code == 403
    # Someone of school B: the case does not exist for them.
    log_in(site.client, principal(site.world.school_b, Role.CONTACT_PERSON))
    assert site.client.get(f"{case_url}/dossier.pdf").status_code == 404


def test_the_exports_are_in_the_openapi_document(site: Site) -> None:
    paths = site.client.get("/schema/openapi.json").json()["paths"]
    assert "/api/cases/{case_id}/export.json" in paths
    assert "/api/cases/{case_id}/export.pdf" in paths
    assert (
        "application/pdf"
        in paths["/api/cases/{case_id}/export.pdf"]["get"]["responses"]["200"]["content"]
    )
