"""Replay for auditors: a case's history, its state as of a moment, the differences between two
moments — over the API, on the auditor's page and with ``vangnet audit replay`` — and an auditor
who cannot change anything.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from infra.entrypoints.web.actions import ACTIONS
from services.access.roles import Role
from services.casework.commands import AddNote, GiveConsent, HoldIntake, ReportCase
from services.casework.handlers import CaseService
from services.casework.state import case_state
from services.shared.actor import Actor
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY_B64
from tests.integration.readside import today
from tests.integration.test_isolation import api_body, form_body
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

CONTACT = Actor(user_id="test-replay-contact", role=Role.CONTACT_PERSON)
ZONE = ZoneInfo("Europe/Amsterdam")


@dataclass
class Story:
    """A case handled in four steps, with the moments between them."""

    case_id: UUID
    before: datetime  # before the report
    reported: datetime  # after the report
    intake: datetime  # after the intake
    end: datetime  # after consent and a note


def handle_a_case(container: Container, school: School) -> Story:
    service = CaseService(container.schools.get(school.id), school.id)
    before = datetime.now(UTC)
    case_id = service.report(
        CONTACT, ReportCase(reporter_kind="parent", summary="Fictieve melding (audit)")
    )
    reported = datetime.now(UTC)
    service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=today(), summary="Gesprek"))
    intake = datetime.now(UTC)
    service.handle(
        CONTACT,
        GiveConsent(
            case_id=case_id,
            consent_id=uuid.uuid4(),
            given_by="pupil_and_parents",
            covers=["talk_with_actor"],
        ),
    )
    service.handle(CONTACT, AddNote(case_id=case_id, text="Eerste notitie"))
    catch_up_school(container, school.id)  # the case page reads the case view
    return Story(case_id, before, reported, intake, datetime.now(UTC))


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    container: Container
    world: World
    issuer: FakeIssuer
    story: Story

    def get(self, path: str, role: Role = Role.AUDITOR, **params: Any) -> Any:
        headers = bearer(self.issuer, self.world.school_a, role)
        return self.client.get(path, headers=headers, params=params)

    def events(self) -> int:
        """The cases' events (a first request of a person records them in the staff directory,
        beside the cases: not a change of any case)."""
        with self.container.pool.connection() as conn:
            row = conn.execute(
                f'SELECT count(*) AS n FROM "{self.world.school_a.schema_name}".casework_events'
                " WHERE topic NOT LIKE 'services.people.%'"
            ).fetchone()
        assert row is not None
        return int(row["n"])


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    world = make_world(container, "replay")
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    story = handle_a_case(container, world.school_a)
    with web_client(container, http_transport=Issuers(issuer).transport) as client:
        yield Api(client, container, world, issuer, story)


def test_the_history_names_every_event_its_actor_role_and_time(api: Api) -> None:
    case_id = api.story.case_id
    r = api.get(f"/api/cases/{case_id}/history")
    assert r.status_code == 200, r.text
    history = r.json()
    events = history["events"]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert [e["event_type"] for e in events] == [
        "CaseReported",
        "IntakeHeld",
        "ConsentGiven",
        "NoteAdded",
    ]
    assert {(e["actor_id"], e["actor_role"]) for e in events} == {
        ("test-replay-contact", "contact_person")
    }
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)
    assert api.story.before < times[0] < api.story.reported
    # The auditor reads case content: the events' data is there.
    assert events[0]["data"]["summary"] == "Fictieve melding (audit)"
    assert events[3]["data"] == {"text": "Eerste notitie"}
    # The history shows who read the case; this very read is the last one.
    auditor = api.get("/api/me").json()["user_id"]  # the token's person
    assert history["reads"][-1]["user_id"] == auditor
    assert history["reads"][-1]["role"] == "auditor"
    assert history["reads"][-1]["what"] == "history"
    # The three audit routes are documented.
    paths = api.client.get("/schema/openapi.json").json()["paths"]
    for part in ("history", "state", "diff"):
        assert f"/api/cases/{{case_id}}/{part}" in paths


def test_the_state_as_of_a_moment(api: Api) -> None:
    case_id, story = api.story.case_id, api.story
    # Just after the report: version 1, reported, no intake.
    r = api.get(f"/api/cases/{case_id}/state", as_of=story.reported.isoformat())
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["version"] == 1
    assert state["state"]["status"] == "reported"
    assert state["state"]["intake_held_on"] is None
    # After the intake: version 2.
    state = api.get(f"/api/cases/{case_id}/state", as_of=story.intake.isoformat()).json()
    assert state["version"] == 2
    assert state["state"]["status"] == "in_progress"
    assert state["state"]["intake_held_on"] == today().isoformat()
    # Now (the default): the whole case, exactly as the library loads it today.
    state = api.get(f"/api/cases/{case_id}/state").json()
    assert state["version"] == 4
    current = api.container.schools.get(api.world.school_a.id).get_case(
        case_id, api.world.school_a.id
    )
    assert state["state"] == case_state(current)
    # Dutch local time without an offset is understood; a date alone is the end of that day.
    local = story.intake.astimezone(ZONE).replace(tzinfo=None).isoformat()
    assert api.get(f"/api/cases/{case_id}/state", as_of=local).json()["version"] == 2
    day = api.get(f"/api/cases/{case_id}/state", as_of=today().isoformat()).json()
    assert day["version"] == 4
    # Before the report there was no case; a malformed moment is refused.
    r = api.get(f"/api/cases/{case_id}/state", as_of=story.before.isoformat())
    assert r.status_code == 404
    assert r.json()["code"] == "not_yet_reported"
    r = api.get(f"/api/cases/{case_id}/state", as_of="gisteren")
    assert r.status_code == 400  # not the documented form of a moment
    assert r.json()["code"] == "validation"


def test_the_differences_between_two_moments(api: Api) -> None:
    case_id, story = api.story.case_id, api.story
    r = api.get(
        f"/api/cases/{case_id}/diff",
        **{"from": story.reported.isoformat(), "to": story.end.isoformat()},
    )
    assert r.status_code == 200, r.text
    diff = r.json()
    assert (diff["from_version"], diff["to_version"]) == (1, 4)
    changed = {c["field"]: (c["before"], c["after"]) for c in diff["changes"]}
    assert changed["status"] == ("reported", "in_progress")
    assert changed["intake_held_on"] == (None, today().isoformat())
    assert changed["notes"] == (0, 1)
    consent = next(f for f in changed if f.startswith("consents."))
    assert changed[consent][1]["covers"] == ["talk_with_actor"]
    assert "summary" not in changed
    assert [e["event_type"] for e in diff["events"]] == ["IntakeHeld", "ConsentGiven", "NoteAdded"]
    # From the beginning (no "from"): the case did not exist, so everything is new.
    diff = api.get(f"/api/cases/{case_id}/diff", to=story.reported.isoformat()).json()
    assert diff["from_version"] is None
    assert diff["to_version"] == 1
    assert {c["field"] for c in diff["changes"]} >= {"summary", "status", "reporter_kind"}
    # "to" before "from" is refused.
    r = api.get(
        f"/api/cases/{case_id}/diff",
        **{"from": story.end.isoformat(), "to": story.before.isoformat()},
    )
    assert r.status_code == 422


def test_only_auditors_replay_and_only_their_schools_cases(api: Api) -> None:
    case_id = api.story.case_id
    for role in (Role.CONTACT_PERSON, Role.COORDINATOR, Role.MANAGEMENT, Role.SAFETY_COORDINATOR):
        for part in ("history", "state", "diff"):
            r = api.get(f"/api/cases/{case_id}/{part}", role=role)
            assert r.status_code == 403, (role, part, r.status_code)
    # Another school's case is simply not found, also for its own auditor's colleagues.
    other = handle_a_case(api.container, api.world.school_b)
    for part in ("history", "state", "diff"):
        assert api.get(f"/api/cases/{other.case_id}/{part}").status_code == 404


def test_an_auditor_changes_nothing(api: Api) -> None:
    case_id = api.story.case_id
    before = api.events()
    headers = bearer(api.issuer, api.world.school_a, Role.AUDITOR)
    # Every case action over the API: refused.
    for name in ACTIONS:
        path = f"/api/cases/{case_id}/{name}"
        r = api.client.post(path, json=api_body(path), headers=headers)
        assert r.status_code in (403, 404), (name, r.status_code)
        assert r.status_code == 403 or r.json()["code"] != "case_not_found", name
    r = api.client.post(
        "/api/cases", json={"reporter_kind": "parent", "summary": "Nee"}, headers=headers
    )
    assert r.status_code == 403
    # ... and every form on the pages.
    log_in(api.client, principal(api.world.school_a, Role.AUDITOR))
    page = api.client.get(f"/zaken/{case_id}")
    assert page.status_code == 200
    # (A form that only filters what is shown, method="get", changes nothing.)
    assert 'method="post" action="/zaken/' not in page.text, "the auditor is offered a form"
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    for name in ACTIONS:
        path = f"/zaken/{case_id}/{name}"
        data = form_body(path) | {"_csrf_token": token.group(1)}
        r = api.client.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, (name, r.status_code)
    r = api.client.post(
        "/zaken",
        data={"reporter_kind": "parent", "summary": "Nee", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert api.events() == before, "an auditor's request stored an event"


def local_input(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M:%S.%f")


def test_the_auditors_page(api: Api) -> None:
    case_id, story = api.story.case_id, api.story
    log_in(api.client, principal(api.world.school_a, Role.AUDITOR))
    # The case page links to the history.
    assert f'href="/zaken/{case_id}/geschiedenis"' in api.client.get(f"/zaken/{case_id}").text
    page = api.client.get(f"/zaken/{case_id}/geschiedenis")
    assert page.status_code == 200, page.text[:2000]
    text = page.text
    assert f"Geschiedenis van zaak {str(case_id)[:8]}" in text
    for label in ("Melding vastgelegd", "Opvanggesprek (intake) gehouden", "Notitie toegevoegd"):
        assert label in text
    # People by name: this story's actor is an old login id the directory does not know.
    assert "[onbekend] (Aanspreekpunt pesten)" in text
    assert "test-replay-contact" not in text
    assert "Eerste notitie" in text
    # The access log beside it: the page view just now, and the case page before it.
    assert "Inzage in deze zaak" in text
    assert "zaakpagina" in text
    assert "geschiedenis" in text
    assert "<td>Test auditor</td>" in text  # the reader, by name

    # The state as of just after the intake, and the differences from the report to the end.
    page = api.client.get(
        f"/zaken/{case_id}/geschiedenis",
        params={
            "op": local_input(story.intake),
            "vanaf": local_input(story.reported),
            "tot": local_input(story.end),
        },
    )
    assert page.status_code == 200
    assert "stond de zaak op versie 2" in page.text
    assert "Van versie 1 naar versie 4" in page.text
    assert "Aantal notities" in page.text

    # Before the report: said in Dutch, not an error page.
    page = api.client.get(
        f"/zaken/{case_id}/geschiedenis", params={"op": local_input(story.before - timedelta(1))}
    )
    assert page.status_code == 200
    assert "Op dat moment was deze zaak nog niet gemeld." in page.text

    # Not for the contact person (403), and another school's case is not found (404).
    log_in(api.client, principal(api.world.school_a, Role.CONTACT_PERSON))
    assert api.client.get(f"/zaken/{case_id}/geschiedenis").status_code == 403
    assert "geschiedenis" not in api.client.get(f"/zaken/{case_id}").text
    log_in(api.client, principal(api.world.school_b, Role.AUDITOR))
    assert api.client.get(f"/zaken/{case_id}/geschiedenis").status_code == 404


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")


@pytest.mark.usefixtures("cli_env")
def test_vangnet_audit_replay(capsys: pytest.CaptureFixture[str]) -> None:
    with Container.open(Settings.from_env()) as container:
        world = make_world(container, "cli-replay")
        story = handle_a_case(container, world.school_a)
    args = ["audit", "replay", "--school", world.school_a.slug, "--case", str(story.case_id)]
    assert main([*args, "--as-of", story.intake.isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"case {story.case_id} at {world.school_a.slug}: 4 events" in out
    assert re.search(r"\n\s+1  \S+ \S+  CaseReported\s+contact_person\s+test-replay-contact", out)
    assert "NoteAdded" in out
    assert "state as of" in out
    assert ": version 2 " in out
    assert '"status": "in_progress"' in out
    # Before the report: a clear refusal (exit 2).
    assert main([*args, "--as-of", story.before.isoformat()]) == 2
    assert "was reported only at" in capsys.readouterr().err
    # The replay was recorded as a read of the case.
    with Container.open(Settings.from_env()) as container, container.pool.connection() as conn:
        rows = conn.execute(
            f'SELECT user_id, role, what FROM "{world.school_a.schema_name}".case_reads '
            "WHERE case_id = %s",
            (story.case_id,),
        ).fetchall()
    assert [(r["role"], r["what"]) for r in rows] == [("auditor", "cli_replay")]
    assert rows[0]["user_id"].startswith("cli:")
