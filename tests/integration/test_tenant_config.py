"""School configuration on real PostgreSQL: the protocol and contacts commands
(``infra.entrypoints.cli.tenants``) and the registry events they record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from services.casework.protocol import DEFAULT_PROTOCOL
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY_B64
from tests.integration.readside import new_school

pytestmark = pytest.mark.integration


def vangnet(argv: list[str]) -> int:
    """``vangnet ...`` in this process (refusals: one line on stderr, exit 2)."""
    return main(argv)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")


def reload_school(slug: str) -> School:
    with Container.open(Settings.from_env()) as container:
        return container.registry.school_by_slug(slug)


def fresh_school_slug() -> str:
    """A new school (the CLI opens its own Container: one per process at a time)."""
    with Container.open(Settings.from_env()) as container:
        return new_school(container).slug


@pytest.mark.usefixtures("cli_env")
def test_protocol_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slug = fresh_school_slug()
    assert vangnet(["tenants", "show-protocol", "--school", slug]) == 0
    out = capsys.readouterr().out
    assert f"{slug}: default protocol, {len(DEFAULT_PROTOCOL.steps)} steps" in out
    assert "within 2 school days" in out

    assert vangnet(["tenants", "show-protocol", "--school", slug, "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    exported["steps"][1]["deadline_school_days"] = 3
    exported["steps"] = exported["steps"][:3]
    path = tmp_path / "protocol.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    assert vangnet(["tenants", "set-protocol", "--school", slug, "--file", str(path)]) == 0
    assert f"protocol set for {slug}: 3 steps" in capsys.readouterr().out
    school = reload_school(slug)
    assert not school.protocol_is_default
    assert school.protocol.intake_deadline == 3
    assert [s.key for s in school.protocol.steps] == [
        "melding_vastgelegd", "intakegesprek", "situatie_in_kaart",
    ]  # fmt: skip

    # Refusals: one line, exit 2, nothing changed.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"key": "x", "label": "X", "event_type": "Nope"}]))
    assert vangnet(["tenants", "set-protocol", "--school", slug, "--file", str(bad)]) == 2
    assert "unknown event type" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    assert vangnet(["tenants", "set-protocol", "--school", slug, "--file", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    missing = tmp_path / "missing.json"
    assert vangnet(["tenants", "set-protocol", "--school", slug, "--file", str(missing)]) == 2
    assert "cannot read protocol file" in capsys.readouterr().err
    assert vangnet(["tenants", "show-protocol", "--school", "bestaat-niet"]) == 2
    assert "bestaat-niet" in capsys.readouterr().err
    assert reload_school(slug).protocol.intake_deadline == 3


@pytest.mark.usefixtures("cli_env")
def test_contacts_command(capsys: pytest.CaptureFixture[str]) -> None:
    slug = fresh_school_slug()
    argv = ["tenants", "set-contacts", "--school", slug,
            "--contact-person", "ap@school.nl", "AP2@school.nl",
            "--coordinator", "apc@school.nl", "--board", "b@bestuur.nl"]  # fmt: skip
    assert vangnet(argv) == 0
    out = capsys.readouterr().out
    assert f"contacts set for {slug}: 2 contact person, 1 coordinator, 0 management, 1 board" in out
    contacts = reload_school(slug).notification_contacts
    assert contacts.contact_person_emails == ("ap@school.nl", "ap2@school.nl")
    assert contacts.management_emails == ()

    assert vangnet(["tenants", "set-contacts", "--school", slug, "--board", "geen-adres"]) == 2
    err = capsys.readouterr().err
    assert "board_emails: address 1 is not a valid e-mail address" in err
    assert "geen-adres" not in err
    assert reload_school(slug).notification_contacts == contacts


def test_complaints_procedure_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slug = fresh_school_slug()
    assert reload_school(slug).complaints_procedure is None
    procedure = {
        "text": "Fictieve klachtenregeling.",
        "confidential_advisor": "Fictieve vertrouwenspersoon",
        "committee": "Fictieve commissie",
    }
    path = tmp_path / "procedure.json"
    path.write_text(json.dumps(procedure), encoding="utf-8")
    assert (
        vangnet(["tenants", "set-complaints-procedure", "--school", slug, "--file", str(path)]) == 0
    )
    assert f"complaints procedure set for {slug}" in capsys.readouterr().out
    stored = reload_school(slug).complaints_procedure
    assert stored is not None
    assert stored.to_json() == procedure
    # A missing part is refused, naming it; nothing changes.
    path.write_text(json.dumps({**procedure, "committee": ""}), encoding="utf-8")
    assert (
        vangnet(["tenants", "set-complaints-procedure", "--school", slug, "--file", str(path)]) == 2
    )
    assert "committee is required" in capsys.readouterr().err
    assert reload_school(slug).complaints_procedure == stored
