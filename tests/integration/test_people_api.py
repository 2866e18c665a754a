"""The staff directory through the web edge: just in time at bearer tokens and sessions, a
deactivated person refused, and every refusal of a named person answered 422 with the field
named and nothing stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from infra.bootstrap.container import Container
from infra.entrypoints.web.auth.gate import PeopleGate
from services.access.roles import Role
from services.people.domain import OPERATOR, ChangedBy
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    World,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    school_group,
    staff,
    web_client,
)

pytestmark = pytest.mark.integration

BY = ChangedBy("test-operator", "operator")


@dataclasses.dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    container: Container
    world: World
    issuer: FakeIssuer

    def api(self, method: str, path: str, role: Role, sub: str | None = None, **kw: Any) -> Any:
        headers = bearer(self.issuer, self.world.school_a, role, sub)
        return self.client.request(method, path, headers=headers, **kw)

    def as_named(self, sub: str, name: str) -> Any:
        """GET /api/me with a token whose ``name`` claim is ``name``."""
        group = school_group(self.world.school_a, Role.TEACHER)
        token = self.issuer.token(sub, [group], name=name)
        return self.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    def person_events(self) -> list[str]:
        schema = self.world.school_a.schema_name
        with self.container.pool.connection() as conn:
            rows = conn.execute(
                f'SELECT topic FROM "{schema}".casework_events ORDER BY notification_id'
            ).fetchall()
        return [r["topic"].rsplit(".", 1)[-1] for r in rows if "people" in r["topic"]]


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    world = make_world(container, "people")
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    with web_client(container, http_transport=Issuers(issuer).transport) as client:
        yield Site(client, container, world, issuer)


def test_a_token_is_a_person_just_in_time_and_refreshed(site: Site) -> None:
    first = site.as_named("sub-jit", "Mentor Test-J")
    assert first.status_code == 200, first.text
    me = first.json()
    assert me["display_name"] == "Mentor Test-J"
    again = site.as_named("sub-jit", "Mentor Test-J")
    assert again.json()["user_id"] == me["user_id"]  # the same person, nothing new written
    assert site.person_events() == ["PersonRegistered"]
    renamed = site.as_named("sub-jit", "Mentor Test-K")
    assert renamed.json()["user_id"] == me["user_id"]
    assert renamed.json()["display_name"] == "Mentor Test-K"
    assert site.person_events() == ["PersonRegistered", "PersonProfileChanged"]


def test_a_deactivated_person_is_refused_by_token_and_by_session(site: Site) -> None:
    school = site.world.school_a
    me = site.api("GET", "/api/me", Role.CONTACT_PERSON, sub="sub-gone").json()
    who = log_in(site.client, principal(school, Role.COORDINATOR, user_id="sub-gone-2"))
    assert site.client.get("/zaken").status_code == 200
    gate: PeopleGate = site.client.app.state.people
    for person_id in (me["user_id"], who.user_id):
        gate.directory(school).set_active(_uuid(person_id), False, by=BY, source=OPERATOR)
        gate.forget(_uuid(person_id))
    refused = site.api("GET", "/api/me", Role.CONTACT_PERSON, sub="sub-gone")
    assert refused.status_code == 403
    assert refused.json()["code"] == "person_inactive"
    page = site.client.get("/zaken")
    assert page.status_code == 403
    assert "Vangnet" in page.text  # a Dutch page, not a stack trace


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def test_every_refusal_of_a_named_person_names_the_field(site: Site) -> None:
    school_a, school_b = site.world.school_a, site.world.school_b
    created = site.api(
        "POST",
        "/api/cases",
        Role.CONTACT_PERSON,
        json={"reporter_kind": "parent", "summary": "Fictieve melding"},
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    teacher = staff(site.container, school_a, Role.TEACHER)
    gone = staff(site.container, school_a, Role.CONTACT_PERSON)
    PeopleGate(site.container).directory(school_a).set_active(
        _uuid(gone), False, by=BY, source=OPERATOR
    )
    elsewhere = staff(site.container, school_b, Role.CONTACT_PERSON)
    unknown = "00000000-0000-4000-8000-000000000000"
    url = f"/api/cases/{case_id}/assign-owner"
    for value, reason in (
        (unknown, "unknown_person"),
        (elsewhere, "unknown_person"),
        (gone, "inactive_person"),
        (teacher, "wrong_role"),
        ("demo-user-string", "not_a_person_id"),
    ):
        response = site.api("POST", url, Role.CONTACT_PERSON, json={"owner_id": value})
        assert response.status_code == 422, (value, response.text)
        (error,) = response.json()["errors"]
        assert (error["field"], error["reason"]) == ("owner_id", reason), error
        assert "Fictieve" not in response.text
    detail = site.api("GET", f"/api/cases/{case_id}", Role.CONTACT_PERSON).json()
    assert detail["version"] == 1, "a refused command was stored"
    owner = staff(site.container, school_a, Role.CONTACT_PERSON)
    done = site.api("POST", url, Role.CONTACT_PERSON, json={"owner_id": owner})
    assert done.status_code == 200, done.text
    # The report's own owner field is checked the same way.
    report = site.api(
        "POST",
        "/api/cases",
        Role.CONTACT_PERSON,
        json={"reporter_kind": "parent", "summary": "Fictieve melding", "owner_id": teacher},
    )
    assert report.status_code == 422
    assert report.json()["errors"][0]["field"] == "owner_id"


def test_the_people_a_picker_offers_for_each_part(site: Site) -> None:
    school_a, school_b = site.world.school_a, site.world.school_b
    contact = staff(site.container, school_a, Role.CONTACT_PERSON, "Zaakhouder Test-Aa")
    mentor = staff(site.container, school_a, Role.TEACHER, "Mentor Test-Bb")
    staff(site.container, school_a, Role.COORDINATOR, "Coördinator Test-Cc")
    staff(site.container, school_a, Role.CONFIDENTIAL_ADVISOR, "Vertrouwenspersoon Test-Dd")
    staff(site.container, school_a, Role.MANAGEMENT, "Directeur Test-Ee")
    staff(site.container, school_a, Role.BOARD, "Bestuurder Test-Ff")
    staff(site.container, school_b, Role.CONTACT_PERSON, "Andere School Test-Gg")
    gone = staff(site.container, school_a, Role.CONTACT_PERSON, "Vertrokken Test-Hh")
    PeopleGate(site.container).directory(school_a).set_active(
        _uuid(gone), False, by=BY, source=OPERATOR
    )

    def names(query: str, role: Role = Role.CONTACT_PERSON) -> list[str]:
        response = site.api("GET", f"/api/people?{query}", role, sub="sub-picker")
        assert response.status_code == 200, response.text
        return [p["display_name"] for p in response.json() if "Test-" in p["display_name"]]

    assert names("part=case_owner") == ["Zaakhouder Test-Aa"]
    engaged = site.api("GET", "/api/people?part=engaged_colleague", Role.CONTACT_PERSON).json()
    by_name = {p["display_name"]: p for p in engaged}
    assert by_name["Mentor Test-Bb"]["person_id"] == mentor
    assert by_name["Mentor Test-Bb"]["role"] == "teacher"
    assert by_name["Mentor Test-Bb"]["role_label"] == "Mentor / leerkracht"
    assert "Vertrouwenspersoon Test-Dd" not in by_name
    assert "Bestuurder Test-Ff" not in by_name
    assert names("part=lessons_coordinator") == ["Coördinator Test-Cc"]
    # The schoolcontactpersoon assigns a complaint's support.
    sc = Role.SCHOOL_CONTACT
    assert names("part=confidential_advisor", sc) == ["Vertrouwenspersoon Test-Dd"]
    assert names("part=complaint_handler&level=management", sc) == ["Directeur Test-Ee"]
    assert names("part=complaint_handler&level=board", sc) == ["Bestuurder Test-Ff"]
    assert names("part=engaged_colleague&q=mentor") == ["Mentor Test-Bb"]
    assert names("part=engaged_colleague&q=%25") == []  # a wildcard is text, not a pattern
    assert contact in {p["person_id"] for p in engaged}

    # Bad input: 400 naming the parameter; a role that may not pick for the part: 403.
    for query in (
        "",
        "part=pupil",
        "part=case_owner&level=nowhere",
        "part=case_owner&q=" + "x" * 101,
    ):
        bad = site.api("GET", f"/api/people?{query}", Role.CONTACT_PERSON)
        assert bad.status_code == 400, (query, bad.text)
    refused = site.api("GET", "/api/people?part=case_owner", Role.TEACHER)
    assert refused.status_code == 403, refused.text
    refused = site.api("GET", "/api/people?part=confidential_advisor", Role.CONTACT_PERSON)
    assert refused.status_code == 403, refused.text
    refused = site.api("GET", "/api/people?part=engaged_colleague", Role.AUDITOR)
    assert refused.status_code == 403, refused.text
