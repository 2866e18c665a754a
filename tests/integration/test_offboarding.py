"""A school leaves the platform: its full export, then offboarding — refused unless the export
matches the database; afterwards its schema and key are gone, nobody can log in to it, and the
other schools carry on as before.

The `vangnet` commands open their own container (one per process at a time), so the tests open
one only around their own setup and checks. All texts are fictitious.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from infra.adapters.audit.sink import DirectorySink
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from services.access.roles import Role
from services.casework.commands import AddParticipant, HoldIntake, MapSituation, ReportCase
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from services.shared.errors import PermissionDenied, SchoolNotFound
from tenants.offboarding import offboard_school
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY_B64
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


@dataclass
class Platform:
    settings: Settings
    tmp: Path
    school_a: School  # leaves
    school_b: School  # stays
    issuer_a: FakeIssuer
    issuer_b: FakeIssuer
    case_a: UUID
    case_b: UUID

    @contextmanager
    def opened(self) -> Iterator[Container]:
        with Container.open(self.settings) as container:
            yield container

    def export(self, capsys: pytest.CaptureFixture[str], name: str) -> tuple[Path, str]:
        out = self.tmp / name
        assert main(["tenants", "export", "--school", self.school_a.slug, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        found = re.search(r"sha256 ([0-9a-f]{64})  ", printed)
        assert found, printed
        return out, found.group(1)

    def offboard(self, export: Path, *extra: str, confirm: str | None = None) -> int:
        slug = self.school_a.slug
        return main(
            [
                "tenants",
                "offboard",
                "--school",
                slug,
                "--export",
                str(export),
                "--confirm",
                confirm or slug,
                *extra,
            ]
        )


def _case(container: Container, school: School, summary: str) -> UUID:
    service = CaseService(container.schools.get(school.id), school.id)
    contact = Actor(f"test-{school.slug}-contact_person", Role.CONTACT_PERSON)
    case_id = service.report(contact, ReportCase(reporter_kind="parent", summary=summary))
    service.handle(
        contact,
        AddParticipant(case_id=case_id, pupil_ref="LL-7", role="target", display_name="Zoë"),
    )
    service.handle(contact, HoldIntake(case_id=case_id, held_on=today(), summary="Gesprek"))
    service.handle(
        contact,
        MapSituation(case_id=case_id, forms=["verbal"], frequency="weekly", impact="low"),
    )
    catch_up_school(container, school.id)  # the views, and the board statistics rows
    return case_id


@pytest.fixture
def platform(
    monkeypatch: pytest.MonkeyPatch, test_settings: Settings, database_url: str, tmp_path: Path
) -> Platform:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")
    with Container.open(test_settings) as container:
        world = make_world(container, "off")
        issuer_a = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
        issuer_b = FakeIssuer(f"https://idp.test/{world.school_b.slug}", "vangnet-api")
        configure_fake_login(container, world.school_a, issuer_a)
        configure_fake_login(container, world.school_b, issuer_b)
        case_a = _case(container, world.school_a, "Fictieve melding op school A")
        case_b = _case(container, world.school_b, "Fictieve melding op school B")
        # A logged-in person of each school has a web session in platform.web_sessions.
        for school in (world.school_a, world.school_b):
            with web_client(container, worker=False) as client:
                log_in(client, principal(school, Role.CONTACT_PERSON))
                assert client.get("/zaken").status_code == 200
        # Each school entered its monitor averages (the web start created the table).
        with container.pool.connection() as conn:
            for school in (world.school_a, world.school_b):
                conn.execute(
                    "INSERT INTO platform.monitor_averages"
                    " (school_id, school_year, safety, bullying, wellbeing)"
                    " VALUES (%s, 2025, 80.0, 10.0, 75.0)",
                    (school.id,),
                )
        a = container.registry.school(world.school_a.id)
        b = container.registry.school(world.school_b.id)
    return Platform(test_settings, tmp_path, a, b, issuer_a, issuer_b, case_a, case_b)


def _schema_exists(container: Container, schema: str) -> bool:
    with container.pool.connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


def _stats_rows(container: Container, school: School) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM platform.stats_cases WHERE school_id = %s", (school.id,)
        ).fetchone()
    assert row is not None
    return int(row["n"])


def _monitor_rows(container: Container, school: School) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM platform.monitor_averages WHERE school_id = %s",
            (school.id,),
        ).fetchone()
    assert row is not None
    return int(row["n"])


def _sessions_of(container: Container, school: School) -> int:
    with container.pool.connection() as conn:
        rows = conn.execute("SELECT value FROM platform.web_sessions").fetchall()
    found = 0
    for row in rows:
        data: Any = json.loads(bytes(row["value"]))
        if (data.get("principal") or {}).get("school_id") == str(school.id):
            found += 1
    return found


def test_export_then_offboard_a_school(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = platform.school_a, platform.school_b
    with platform.opened() as container:
        assert _stats_rows(container, a) == 1
        assert _sessions_of(container, a) == 1

    # The export: every event decrypted, the access log, the registry record, counts, a SHA-256.
    path, digest = platform.export(capsys, "school-a.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds every case of the school
    assert (path.parent / "school-a.json.sha256").read_text().startswith(digest + "  ")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "vangnet.school-export/1"
    assert document["school"]["slug"] == a.slug
    assert document["school"]["board"]["id"] == str(a.board_id)
    assert document["configuration"]["login"]["issuer"] == platform.issuer_a.issuer
    assert document["configuration"]["protocol"]["default"] is True
    assert [e["type"] for e in document["registry_events"]] == [
        "School.Created",
        "School.LoginConfigured",
    ]
    assert document["registry_events"][0]["data"]["slug"] == a.slug
    # The case's events, the staff directory's (the person who logged in) and the pupil
    # register's (the participant's pupil, registered as they were added).
    assert document["counts"]["events"] == 6
    assert document["counts"]["events_by_type"]["PersonRegistered"] == 1
    assert document["counts"]["events_by_type"]["PupilRegistered"] == 1
    assert document["counts"]["cases"] == 1
    assert document["counts"]["events_by_type"]["ParticipantAdded"] == 1
    reported = document["events"][0]
    assert reported["type"] == "CaseReported"
    assert reported["originator_id"] == str(platform.case_a)
    assert reported["originator_version"] == 1
    assert reported["actor_role"] == "contact_person"
    assert reported["data"]["summary"] == "Fictieve melding op school A"  # decrypted
    assert document["events"][1]["data"]["display_name"] == "Zoë"
    assert document["chain"]["position"] == document["counts"]["last_position"]
    # The export read every case, and says so in the access log it carries.
    assert document["access_log"][-1]["what"] == "export"
    assert document["access_log"][-1]["case_id"] == str(platform.case_a)
    assert "wrapped_data_key" not in path.read_text(encoding="utf-8")

    # Offboarding without a matching export is refused; nothing changes.
    assert platform.offboard(path, confirm=b.slug) == 2
    assert "repeat the school's slug" in capsys.readouterr().err
    assert platform.offboard(platform.tmp / "missing.json") == 2
    assert "does not exist" in capsys.readouterr().err
    tampered = platform.tmp / "tampered.json"
    tampered.write_text(path.read_text(encoding="utf-8").replace("Zoë", "Zoe"), encoding="utf-8")
    assert platform.offboard(tampered, "--sha256", digest) == 2
    assert "does not match its SHA-256" in capsys.readouterr().err
    assert platform.offboard(tampered) == 2  # and no .sha256 beside it
    assert "no checksum" in capsys.readouterr().err
    # ... an export of another school,
    other = platform.tmp / "school-b.json"
    assert main(["tenants", "export", "--school", b.slug, "--out", str(other)]) == 0
    capsys.readouterr()
    assert platform.offboard(other) == 2
    assert f"not an export of school {a.slug}" in capsys.readouterr().err
    # ... and a stale one: something was recorded after the export.
    with platform.opened() as container:
        service = CaseService(container.schools.get(a.id), a.id)
        service.report(
            Actor("test-late", Role.CONTACT_PERSON),
            ReportCase(reporter_kind="staff", summary="Late melding"),
        )
    assert platform.offboard(path) == 2
    assert "does not match the database" in capsys.readouterr().err
    with platform.opened() as container:
        assert _schema_exists(container, a.schema_name)
        assert container.registry.school(a.id).wrapped_data_key

    # A fresh export, then offboarding goes through.
    path, digest = platform.export(capsys, "school-a-final.json")
    assert platform.offboard(path) == 0
    out = capsys.readouterr().out
    assert f"offboarded school {a.slug}" in out
    assert "data key destroyed" in out

    with platform.opened() as container:
        # The schema is gone; the registry keeps the fact, never the key.
        assert not _schema_exists(container, a.schema_name)
        with pytest.raises(SchoolNotFound):
            container.registry.school(a.id)
        with pytest.raises(SchoolNotFound):
            container.registry.school_by_slug(a.slug)
        with pytest.raises(SchoolNotFound):
            container.schools.get(a.id)
        gone = container.registry.school(a.id, include_offboarded=True)
        assert gone.offboarded
        assert gone.wrapped_data_key == ""
        assert gone.login is None
        assert gone.offboard_export_sha256 == digest
        last = list(container.registry.events.get(a.id))[-1]
        assert type(last).__name__ == "Offboarded"
        assert "wrapped_data_key" not in vars(last)
        # Not listed, not offered at login; the other school is.
        listed = {s.slug for s in container.registry.list_schools()}
        assert a.slug not in listed
        assert b.slug in listed
        assert a.slug in {s.slug for s in container.registry.list_schools(include_offboarded=True)}
        login_slugs = {s.slug for s in container.registry.schools_with_login()}
        assert a.slug not in login_slugs
        assert b.slug in login_slugs
        assert container.registry.schools_for_issuer(platform.issuer_a.issuer) == []
        # Its statistics rows and sessions are gone; school B's are not.
        assert _stats_rows(container, a) == 0
        assert _stats_rows(container, b) == 1
        assert _sessions_of(container, a) == 0
        assert _sessions_of(container, b) == 1
        assert _monitor_rows(container, a) == 0
        assert _monitor_rows(container, b) == 1
        # The final head of its log is kept as a checkpoint (hashes only).
        with container.pool.connection() as conn:
            rows = conn.execute(
                "SELECT position, hash FROM platform.chain_checkpoints "
                "WHERE log = %s AND chain = 'casework_events' ORDER BY position DESC LIMIT 1",
                (a.schema_name,),
            ).fetchall()
        final = json.loads(path.read_text(encoding="utf-8"))["chain"]
        assert [(r["position"], bytes(r["hash"]).hex()) for r in rows] == [
            (final["position"], final["sha256"])
        ]
        # ... signed, and outside the database too.
        outside = [
            line.record
            for line in DirectorySink(container.settings.checkpoint_path).read(a.schema_name)
            if line.record is not None and line.record["chain"] == "casework_events"
        ]
        last_outside = outside[-1]
        assert (last_outside["kind"], last_outside["position"], last_outside["hash"]) == (
            "checkpoint",
            final["position"],
            final["sha256"],
        )

        # Logging in is refused: no provider trusts the token, no login page, no session.
        transport = Issuers(platform.issuer_a, platform.issuer_b).transport
        with web_client(container, http_transport=transport) as client:
            token_a = bearer(platform.issuer_a, a, Role.CONTACT_PERSON)
            assert client.get("/api/cases", headers=token_a).status_code == 401
            assert client.get(f"/login/{a.slug}").status_code == 404
            login_page = client.get("/login").text
            assert a.slug not in login_page
            assert b.slug in login_page
            log_in(client, principal(a, Role.CONTACT_PERSON))
            assert client.get("/zaken").status_code == 404

            # The platform stays healthy for the other school.
            token_b = bearer(platform.issuer_b, b, Role.CONTACT_PERSON)
            assert client.get("/api/cases", headers=token_b).status_code == 200
            detail = client.get(f"/api/cases/{platform.case_b}", headers=token_b)
            assert detail.status_code == 200
            new = client.post(
                "/api/cases",
                json={"reporter_kind": "peer", "summary": "Nieuwe fictieve melding"},
                headers=token_b,
            )
            assert new.status_code == 201
            exported = client.get(f"/api/cases/{platform.case_b}/export.json", headers=token_b)
            assert exported.status_code == 200
            assert client.get("/health/ready").status_code == 200
        # The jobs: school B's views catch up; for school A a late hint finds no school (the
        # worker logs and drops it), and the sweep, which walks the listed schools, skips it.
        catch_up_school(container, b.id)
        with pytest.raises(SchoolNotFound):
            catch_up_school(container, a.id)

    # The commands that walk every school skip it; it cannot be exported again.
    assert main(["tenants", "list"]) == 0
    listing = capsys.readouterr().out
    assert a.slug not in listing
    assert b.slug in listing
    assert main(["audit", "verify", "--school", b.slug]) == 0
    assert main(["audit", "verify", "--platform"]) == 0  # the registry's log is intact
    capsys.readouterr()
    again = platform.tmp / "again.json"
    assert main(["tenants", "export", "--school", a.slug, "--out", str(again)]) == 2
    assert "school not found" in capsys.readouterr().err
    # Offboarding again with the same export is harmless (there is nothing left to drop).
    assert platform.offboard(path) == 0


def test_an_interrupted_offboarding_is_finished_by_running_it_again(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    a = platform.school_a
    path, digest = platform.export(capsys, "school-a.json")
    # The registry event was recorded, then the process died before the schema was dropped.
    with platform.opened() as container:
        container.registry.offboard_school(
            a.id, export_sha256=digest, events_exported=4, actor=Actor("op", Role.OPERATOR)
        )
        assert _schema_exists(container, a.schema_name)
    # Another export than the one recorded is refused ...
    other = platform.tmp / "other.json"
    other.write_text(path.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert platform.offboard(other, "--sha256", "0" * 64) == 2
    capsys.readouterr()
    # ... the recorded one finishes the job.
    assert platform.offboard(path) == 0
    assert "offboarded earlier; its schema is dropped now" in capsys.readouterr().out
    with platform.opened() as container:
        assert not _schema_exists(container, a.schema_name)
        assert _stats_rows(container, a) == 0


def test_only_the_platform_operator_offboards(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    a = platform.school_a
    path, _digest = platform.export(capsys, "school-a.json")
    with platform.opened() as container:
        for role in (Role.MANAGEMENT, Role.BOARD, Role.CONTACT_PERSON):
            with pytest.raises(PermissionDenied):
                offboard_school(
                    container.registry,
                    container.archive,
                    a.slug,
                    path,
                    confirm=a.slug,
                    actor=Actor("test-someone", role),
                )
        assert _schema_exists(container, a.schema_name)
        assert not container.registry.school(a.id).offboarded
