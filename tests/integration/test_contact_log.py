"""Contact with pupil and parents (issue 14 §2), through the pages and the API: the contact log
on the case page, when pupil and parents were last informed, the "not informed" notice after a
step, and the school's complaints procedure (configured, shown beside the complaints route,
printable as a letter). All names and texts are fictitious.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from services.access.roles import Role
from services.casework.commands import GiveConsent, HoldIntake, PlanStep, ReportCase
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from tests.integration.readside import today
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    web_client,
)

pytestmark = pytest.mark.integration

PROCEDURE = {
    "text": "Fictieve klachtenregeling: eerst naar de directie, daarna het bestuur.",
    "confidential_advisor": "Fictieve vertrouwenspersoon, 010-0000000",
    "committee": "Fictieve Klachtencommissie, Postbus 0, 0000 AA Nergens",
}


@dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    school: Any
    case_id: UUID
    service: CaseService
    contact: Actor
    issuer: FakeIssuer

    def page(self, url: str, status: int = 200) -> str:
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code)
        return response.text

    def post_form(self, url: str, data: dict[str, Any], csrf_from: str) -> Any:
        page = self.page(csrf_from)
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert token
        return self.client.post(
            url, data={**data, "_csrf_token": token.group(1)}, follow_redirects=False
        )


@contextmanager
def site_on(container: Container, prefix: str, role: Role = Role.CONTACT_PERSON) -> Iterator[Site]:
    world = make_world(container, prefix)
    school = world.school_a
    issuer = FakeIssuer(f"https://idp.test/{school.slug}", "vangnet-api")
    configure_fake_login(container, school, issuer)
    service = CaseService(container.schools.get(school.id), school.id)
    contact = Actor(f"test-{school.slug}-contact_person", Role.CONTACT_PERSON)
    case_id = service.report(contact, ReportCase(reporter_kind="parent", summary="Fictief"))
    service.handle(contact, HoldIntake(case_id=case_id, held_on=today(), summary="Intake"))
    catch_up_school(container, school.id)
    with web_client(container, http_transport=Issuers(issuer).transport) as client:
        log_in(client, principal(school, role))
        yield Site(client, school, case_id, service, contact, issuer)


def test_a_contact_is_logged_and_shows_when_pupil_and_parents_were_informed(
    container: Container,
) -> None:
    with site_on(container, "contact-log") as site:
        case_url = f"/zaken/{site.case_id}"
        page = site.page(case_url)
        assert "Nog geen contact vastgelegd." in page
        assert "Leerling laatst geïnformeerd" in page
        # A step is planned: the page says nobody told pupil and parents since.
        site.service.handle(site.contact, GiveConsent(case_id=site.case_id, given_by="pupil",
                                                      covers=["talk_with_actor"]))  # fmt: skip
        site.service.handle(site.contact, PlanStep(case_id=site.case_id, kind="talk_with_actor",
                                                   description="Fictief gesprek"))  # fmt: skip
        catch_up_school(container, site.school.id)
        assert "Nog niet geïnformeerd." in site.page(case_url)
        # The contact person records a phone call with the parents, the pupil present.
        form_url = f"{case_url}/record-contact"
        response = site.post_form(
            form_url,
            {
                "with_whom": "parents",
                "channel": "phone",
                "held_on": today().isoformat(),
                "discussed": "Fictief: de geplande stap",
                "agreed": "Fictief: vrijdag terugbellen",
                "pupil_present": "on",
            },
            csrf_from=form_url,
        )
        assert response.status_code == 303, response.text[:1000]
        page = site.page(response.headers["location"])
        assert "Nog niet geïnformeerd." not in page
        assert "Fictief: de geplande stap" in page
        assert "Fictief: vrijdag terugbellen" in page
        assert "telefoon met de ouders (leerling erbij)" in page
        informed = re.findall(r"laatst geïnformeerd</dt><dd>([^<]+)</dd>", page)
        assert len(informed) == 2
        assert all("nog niet" not in d for d in informed)
        assert "Contact met leerling/ouders vastgelegd" in page  # the timeline
        # The case file has the contact log.
        dossier = site.client.get(f"{case_url}/dossier.json").json()
        (section,) = [s for s in dossier["sections"] if s["key"] == "contacts"]
        lines = {line["label"]: line["value"] for line in section["entries"][0]["lines"]}
        assert (lines["Met"], lines["Hoe"], lines["Leerling erbij"]) == (
            "de ouders",
            "telefoon",
            "ja",
        )


def test_a_contact_in_the_future_is_refused_naming_the_field(container: Container) -> None:
    with site_on(container, "contact-future") as site:
        r = site.client.post(
            f"/api/cases/{site.case_id}/record-contact",
            json={
                "with_whom": "pupil",
                "channel": "letter",
                "held_on": "2999-01-01",
                "discussed": "Fictief",
            },
            headers=bearer(site.issuer, site.school, Role.CONTACT_PERSON),
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "held_on"


def test_the_complaints_procedure_is_configured_shown_and_printed(container: Container) -> None:
    with site_on(container, "procedure", role=Role.COORDINATOR) as site:
        # Not configured yet: the page says so.
        assert "nog niet ingesteld" in site.page("/school/klachtenregeling")
        # The coordinator sets it; a control character is refused, naming the field.
        bad = site.post_form(
            "/school/klachtenregeling",
            {**PROCEDURE, "committee": "Fictief\x00"},
            csrf_from="/school/klachtenregeling",
        )
        assert bad.status_code == 422
        assert "niet is toegestaan" in bad.text
        saved = site.post_form(
            "/school/klachtenregeling", PROCEDURE, csrf_from="/school/klachtenregeling"
        )
        assert saved.status_code == 303
        page = site.page(saved.headers["location"])
        assert "De klachtenregeling is opgeslagen." in page
        assert PROCEDURE["committee"] in page
        # The API gives it to anyone of the school; a contact person may not change it.
        r = site.client.get(
            "/api/complaints-procedure",
            headers=bearer(site.issuer, site.school, Role.CONTACT_PERSON),
        )
        assert r.json()["procedure"] == PROCEDURE
        r = site.client.put(
            "/api/complaints-procedure",
            json=PROCEDURE,
            headers=bearer(site.issuer, site.school, Role.CONTACT_PERSON),
        )
        assert r.status_code == 403
        # The contact person sees it beside the complaints route, and prints the letter.
        log_in(site.client, principal(site.school, Role.CONTACT_PERSON))
        case_page = site.page(f"/zaken/{site.case_id}")
        assert "Klachtenregeling van de school" in case_page
        assert PROCEDURE["confidential_advisor"] in case_page
        explain = site.page(f"/zaken/{site.case_id}/explain-complaint-procedure")
        assert PROCEDURE["text"] in explain
        letter = site.page(f"/zaken/{site.case_id}/klachtenregeling")
        assert "Betreft: de klachtenregeling" in letter
        assert PROCEDURE["committee"] in letter
        assert PROCEDURE["text"] in letter
        pdf = site.client.get(f"/zaken/{site.case_id}/klachtenregeling.pdf")
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF-")
        assert pdf.headers["content-disposition"].startswith("attachment;")
        # The registry keeps it (a fresh read of the school).
        stored = container.registry.school(site.school.id).complaints_procedure
        assert stored is not None
        assert stored.to_json() == PROCEDURE
