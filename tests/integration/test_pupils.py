"""The pupil register through the web edge, on real PostgreSQL: a pupil is registered, picked
into one case as target and into another as actor, and added on the spot into a third; their
page shows every case with their role; the signals find them; erasing them leaves their name,
number and group nowhere in the school's tables while the cases replay and the chain verifies.
Every name is fictitious."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from infra.adapters.audit.integrity import verify_school
from infra.bootstrap.container import Container
from infra.bootstrap.retention import expire_school
from infra.bootstrap.views import catch_up_school
from infra.bootstrap.views import verify_school as verify_school_views
from services.access.roles import Role
from services.casework.application import register_of
from services.casework.commands import (
    AddParticipant,
    CloseCase,
    CompleteFollowUp,
    EvaluateCase,
    HoldIntake,
    ReportCase,
    ScheduleFollowUp,
)
from services.casework.handlers import CaseService
from services.casework.sealing import ERASED
from services.pupils.domain import PupilDetails
from tests.integration.test_erasure import CONTACT, _case_with_pupil, _school, _tables_holding
from tests.integration.test_pages import Browser
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    World,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    web_client,
)

pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    container: Container
    world: World
    issuers: tuple[FakeIssuer, FakeIssuer]

    def api(self, method: str, path: str, role: Role, *, school_b: bool = False, **kw: Any) -> Any:
        school = self.world.school_b if school_b else self.world.school_a
        issuer = self.issuers[1] if school_b else self.issuers[0]
        return self.client.request(method, path, headers=bearer(issuer, school, role), **kw)

    def new_case(self) -> str:
        body = {"reporter_kind": "parent", "summary": "Fictieve melding"}
        answer = self.api("POST", "/api/cases", Role.CONTACT_PERSON, json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["case_id"])

    def add(self, case_id: str, **body: Any) -> Any:
        return self.api("POST", f"/api/cases/{case_id}/add-participant", Role.CONTACT_PERSON,
                        json=body)  # fmt: skip

    def chronology(self, pupil_id: str, cases: int) -> Any:
        """The pupil's page as JSON, once the views show ``cases`` cases (worker catch-up)."""
        deadline = time.monotonic() + 10
        while True:
            answer = self.api("GET", f"/api/pupils/{pupil_id}", Role.COORDINATOR)
            assert answer.status_code == 200, answer.text
            found = answer.json()
            if len(found["cases"]) >= cases or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    world = make_world(container, "pupils")
    a = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    b = FakeIssuer(f"https://idp.test/{world.school_b.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, a)
    configure_fake_login(container, world.school_b, b)
    with web_client(container, http_transport=Issuers(a, b).transport) as client:
        yield Site(client, container, world, (a, b))


def _close(service: CaseService, case_id: UUID) -> None:
    """Intake, aftercare that found the bullying stopped, evaluation, closing."""
    service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=date(2025, 3, 3),
                                       summary="Fictief intakegesprek"))  # fmt: skip
    follow_up = uuid4()
    service.handle(CONTACT, ScheduleFollowUp(case_id=case_id, follow_up_id=follow_up,
                                             due_on=date(2025, 3, 17)))  # fmt: skip
    service.handle(CONTACT, CompleteFollowUp(case_id=case_id, follow_up_id=follow_up,
                                             agreements_kept=True, bullying_stopped=True,
                                             pupil_feels_safe=True))  # fmt: skip
    service.handle(CONTACT, EvaluateCase(case_id=case_id, went_well="Fictief",
                                         to_improve="Fictief", lessons=[]))  # fmt: skip
    service.handle(CONTACT, CloseCase(case_id=case_id, reason="resolved"))


def _error_fields(answer: Any) -> list[tuple[str, str]]:
    return [(e.get("field"), e.get("reason")) for e in answer.json().get("errors", [])]


def test_a_pupil_across_cases_their_page_signals_and_erasure(site: Site) -> None:
    tag = uuid4().hex[:6]
    name, number, group = f"Fictieve Pupilla Zwerfkei-{tag}", f"LLN-{tag}", f"groep-{tag}"
    other = f"Fictieve Quintus Keileem-{tag}"

    # The contact person registers the pupil; the same number again is refused, naming it.
    details = {"reference": number, "display_name": name, "group": group}
    created = site.api("POST", "/api/pupils", Role.CONTACT_PERSON, json=details)
    assert created.status_code == 201, created.text
    pupil_id = created.json()["pupil_id"]
    again = site.api("POST", "/api/pupils", Role.CONTACT_PERSON, json={"reference": number})
    assert again.status_code == 422
    assert ("reference", "reference_taken") in _error_fields(again)
    assert (
        site.api("POST", "/api/pupils", Role.COORDINATOR, json={"reference": "x"}).status_code
        == 403
    )

    # Target in one case, actor in two others (one of them added on the spot with details of
    # another pupil, who is registered on the way).
    first, second, third = site.new_case(), site.new_case(), site.new_case()
    assert site.add(first, pupil_id=pupil_id, role="target").status_code == 200
    assert site.add(second, pupil_id=pupil_id, role="actor").status_code == 200
    assert site.add(third, pupil_id=pupil_id, role="actor").status_code == 200
    on_spot = site.add(second, pupil_ref=f"LLN2-{tag}", display_name=other, role="target")
    assert on_spot.status_code == 200, on_spot.text

    # An unknown pupil id, another school's, and no UUID: 422 naming pupil_id, nothing stored.
    elsewhere = site.api("POST", "/api/pupils", Role.CONTACT_PERSON, school_b=True,
                         json={"reference": f"B-{tag}", "display_name": "Fictief B"})  # fmt: skip
    assert elsewhere.status_code == 201
    for value, reason in (
        (str(uuid4()), "unknown_pupil"),
        (elsewhere.json()["pupil_id"], "unknown_pupil"),
        ("geen-id", "not_a_pupil_id"),
    ):
        refused = site.add(first, pupil_id=value, role="bystander")
        assert refused.status_code == 422, refused.text
        assert ("pupil_id", reason) in _error_fields(refused)

    # The register: for the roles that read case-wide; searched by name.
    listed = site.api("GET", "/api/pupils", Role.AUDITOR, params={"q": f"zwerfkei-{tag}"})
    assert listed.status_code == 200
    assert [p["pupil_id"] for p in listed.json()] == [pupil_id]
    for role in (Role.TEACHER, Role.MANAGEMENT, Role.SAFETY_COORDINATOR, Role.BOARD):
        assert site.api("GET", "/api/pupils", role).status_code == 403
        assert site.api("GET", f"/api/pupils/{pupil_id}", role).status_code == 403
    assert (
        site.api("GET", f"/api/pupils/{pupil_id}", Role.COORDINATOR, school_b=True).status_code
        == 404
    )

    # The chronology: every case, the pupil's role in each, oldest report first.
    page = site.chronology(pupil_id, 3)
    assert page["pupil"]["display_name"] == name
    assert [(c["case_id"], c["role"]) for c in page["cases"]] == [
        (first, "target"), (second, "actor"), (third, "actor"),
    ]  # fmt: skip
    assert all(c["status"] == "reported" for c in page["cases"])

    # The signals: actor in two or more cases (the target is in one case only).
    signals = site.api("GET", "/api/pupils/signals", Role.COORDINATOR).json()
    assert [(s["pupil"]["pupil_id"], s["kind"]) for s in signals] == [(pupil_id, "actor_in_cases")]

    # The pages: the register, the pupil's page, the coordinator's signals.
    log_in(site.client, principal(site.world.school_a, Role.COORDINATOR))
    html = site.client.get(f"/leerlingen/{pupil_id}")
    assert html.status_code == 200
    assert name in html.text
    assert "Pester" in html.text
    assert name in site.client.get("/leerlingen").text
    assert "Pester in meerdere zaken" in site.client.get("/school/signalen").text
    log_in(site.client, principal(site.world.school_a, Role.TEACHER))
    assert site.client.get(f"/leerlingen/{pupil_id}").status_code == 403

    # Erasure of the pupil: their number, name and group go from every case at once.
    container, school = site.container, site.world.school_a
    catch_up_school(container, school.id)
    # The views hold the pupil sealed only (issue 12 §4): no table has the name in plain text.
    assert _tables_holding(container, [school.schema_name], name) == []
    erased = site.api("POST", f"/api/pupils/{pupil_id}/erasure", Role.CONTACT_PERSON,
                      json={"reason": "Verzoek van ouders"})  # fmt: skip
    assert erased.status_code == 200, erased.text
    assert erased.json()["display_name"] == ERASED
    catch_up_school(container, school.id)
    for needle in (name, number, group):
        assert _tables_holding(container, [school.schema_name, "platform"], needle) == []
    # ... the other pupil of the second case is still there (the views hold both sealed, so
    # the case's answer tells), the cases still read, the chain verifies and a rebuild of the
    # views gives what the live views hold.
    case = site.api("GET", f"/api/cases/{second}", Role.CONTACT_PERSON).json()
    shown = {p["display_name"] for p in case["detail"]["participants"].values()}
    assert shown == {ERASED, other}
    history = site.api("GET", f"/api/cases/{first}/history", Role.AUDITOR)
    assert history.status_code == 200
    assert name not in history.text
    assert verify_school(container.pool, school).ok
    assert verify_school_views(container, school.id) == []
    # The pupil's page still lists their cases, without who they were.
    page = site.chronology(pupil_id, 3)
    assert page["pupil"]["erased"] is True
    assert len(page["cases"]) == 3
    assert site.add(site.new_case(), pupil_id=pupil_id, role="target").status_code == 422


def test_erasing_a_case_cuts_its_link_to_the_pupil(site: Site) -> None:
    tag = uuid4().hex[:6]
    details = {"reference": f"LLN-{tag}", "display_name": f"Fictief {tag}"}
    created = site.api("POST", "/api/pupils", Role.CONTACT_PERSON, json=details)
    pupil_id = created.json()["pupil_id"]
    first, second = site.new_case(), site.new_case()
    site.add(first, pupil_id=pupil_id, role="target")
    site.add(second, pupil_id=pupil_id, role="target")
    assert len(site.chronology(pupil_id, 2)["cases"]) == 2
    signals = site.api("GET", "/api/pupils/signals", Role.CONTACT_PERSON).json()
    assert (pupil_id, "target_again") in [(s["pupil"]["pupil_id"], s["kind"]) for s in signals]

    answer = site.api("POST", f"/api/cases/{first}/request-erasure", Role.CONTACT_PERSON,
                      json={"reason": "Verzoek van ouders"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    catch_up_school(site.container, site.world.school_a.id)
    page = site.chronology(pupil_id, 1)
    assert [c["case_id"] for c in page["cases"]] == [second]
    assert page["pupil"]["display_name"] == f"Fictief {tag}"  # still in the register
    assert verify_school_views(site.container, site.world.school_a.id) == []


def test_retention_runs_from_the_pupils_last_case(container: Container) -> None:
    school = _school(container)
    school = container.registry.configure_retention(school.id, 30)
    service = CaseService(container.schools.get(school.id), school.id)
    register = register_of(container.schools.get(school.id), school.id)
    tag = uuid4().hex[:6]
    kept, gone, alone = f"Fictieve Lange-{tag}", f"Fictieve Korte-{tag}", f"Fictieve Los-{tag}"
    # ``kept`` is in a closed case and in an open one; ``gone`` only in a closed case;
    # ``alone`` in no case at all.
    old = _case_with_pupil(service, kept, closed=True)
    still_open = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    service.handle(CONTACT, AddParticipant(case_id=still_open, pupil_ref=f"ref-{kept}",
                                           role="actor"))  # fmt: skip
    other = _case_with_pupil(service, gone, closed=True)
    register.register(CONTACT, PupilDetails(f"ref-{alone}", alone))
    catch_up_school(container, school.id)
    schemas = [school.schema_name, "platform"]
    by_name = {p.display_name: p.pupil_id for p in register.all()}

    # 31 days on: the case of ``gone`` and ``gone`` are erased, and ``alone``; the closed case
    # of ``kept`` is kept, for ``kept`` still has an open case.
    later = datetime.now(UTC).date() + timedelta(days=31)
    report = expire_school(container, school.id, today=later)
    assert report.erased == [other]
    assert set(report.erased_pupils) == {by_name[gone], by_name[alone]}
    assert _tables_holding(container, schemas, gone) == []  # (nor ever in plain text)
    assert {p.display_name for p in register.all() if not p.erased} == {kept}

    # Once ``kept``'s last case closes and the period passes, both cases and the pupil go.
    _close(service, still_open)
    catch_up_school(container, school.id)
    report = expire_school(container, school.id, today=later)
    assert sorted(report.erased) == sorted([old, still_open])
    assert report.erased_pupils == [by_name[kept]]
    assert _tables_holding(container, schemas, kept) == []
    assert verify_school(container.pool, school).ok
    assert expire_school(container, school.id, today=later).erased_pupils == []


def test_the_register_pages_add_and_erase_a_pupil(container: Container) -> None:
    world = make_world(container, "pupil-pages")
    tag = uuid4().hex[:6]
    name = f"Fictieve Wilhelmina Klaproos-{tag}"
    with web_client(container, worker=False) as client:
        browser = Browser(client)
        log_in(client, principal(world.school_a, Role.CONTACT_PERSON))
        browser.get("/leerlingen")
        # Added: their page.
        page = browser.submit("/leerlingen", {"reference": f"N-{tag}", "display_name": name,
                                              "group": "3a"})  # fmt: skip
        assert name in page
        pupil_url = re.search(r'action="(/leerlingen/[0-9a-f-]+)/wissen"', page)
        assert pupil_url is not None
        # The same number again: the form again, the field named in Dutch, nothing stored.
        browser.get("/leerlingen")
        refused = browser.post("/leerlingen", {"reference": f"n-{tag}", "display_name": "X"})
        assert refused.status_code == 422
        assert "Er staat al een leerling met dit leerlingnummer" in refused.text
        found = re.findall(
            r'href="/leerlingen/([0-9a-f-]{36})"', browser.get(f"/leerlingen?q={tag}")
        )
        assert found == [pupil_url.group(1).rsplit("/", 1)[-1]]
        # Erased on their page: the register no longer knows who they were.
        browser.get(pupil_url.group(1))
        without_reason = browser.post(pupil_url.group(1) + "/wissen", {"reason": ""})
        assert without_reason.status_code == 422
        browser.get(pupil_url.group(1))
        page = browser.submit(pupil_url.group(1) + "/wissen", {"reason": "Verzoek van ouders"})
        assert name not in page
        assert "zijn gewist" in page
        # The coordinator reads the register but cannot add to it.
        log_in(client, principal(world.school_a, Role.COORDINATOR))
        assert "Leerling toevoegen" not in browser.get("/leerlingen")
