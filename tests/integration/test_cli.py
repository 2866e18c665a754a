"""The `vangnet` command against a real database: tenants and the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from infra.entrypoints.cli import cli, main
from services.casework.domain import EVENT_TYPES
from tests.conftest import TEST_MASTER_KEY_B64

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")


@pytest.mark.usefixtures("cli_env")
def test_tenants_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tenants", "create-board", "Testbestuur CLI"]) == 0
    assert main(["tenants", "create-school", "--board", "testbestuur-cli", "Testschool Een"]) == 0
    assert main(["tenants", "list"]) == 0
    out = capsys.readouterr().out
    assert "board created: testbestuur-cli" in out
    assert "school created: testschool-een" in out
    assert "  testschool-een  Testschool Een  (schema school_" in out

    # Bad input: a clear one-line error and exit 2, nothing created.
    assert main(["tenants", "create-school", "--board", "bestaat-niet", "Testschool Twee"]) == 2
    assert main(["tenants", "create-board", "Testbestuur CLI"]) == 2
    err = capsys.readouterr().err
    assert "bestaat-niet" in err
    assert "testbestuur-cli" in err
    assert main(["tenants", "list"]) == 0
    assert "testschool-twee" not in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
def test_demo_prepares_board_schools_and_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "Demo board: Stichting Demo Onderwijs" in out
    # 30 cases of today, and two school years of history before them.
    found = re.search(r"In total: 3 schools, (\d+) cases", out)
    assert found is not None
    total = int(found.group(1))
    assert total > 30 + 3 * 80
    history = sum(int(n) for n in re.findall(r": (\d+) cases of the last two school years", out))
    assert history == total - 30
    assert f"{len(EVENT_TYPES)} of {len(EVENT_TYPES)} event types used" in out
    # Running it again keeps the data and says so.
    assert main(["demo", "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "already present" in out
    assert f"In total: 3 schools, {total} cases" in out


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("tenants", "demo"):
        assert command in out


@pytest.mark.usefixtures("cli_env")
def test_scripts_read_json() -> None:
    """``--json``: one JSON document on stdout, the exit code as without it (click's
    CliRunner, not in standalone mode, so the command's exit code is its return value)."""
    runner = CliRunner()

    def run(*argv: str) -> tuple[int, Any]:
        result = runner.invoke(cli, list(argv), standalone_mode=False, catch_exceptions=False)
        return result.return_value, json.loads(result.stdout)

    assert main(["tenants", "create-board", "Testbestuur JSON"]) == 0
    assert main(["tenants", "create-school", "--board", "testbestuur-json", "Testschool J"]) == 0
    code, listed = run("tenants", "list", "--json")
    assert code == 0
    board = next(b for b in listed["boards"] if b["slug"] == "testbestuur-json")
    assert [s["slug"] for s in board["schools"]] == ["testschool-j"]
    assert board["schools"][0]["schema"].startswith("school_")

    code, status = run("projections", "status", "--json")
    assert code == 0
    row = next(r for r in status["schools"] if r["school"] == "testschool-j")
    assert row == {"school": "testschool-j", "lag": 0, "degraded": None}

    code, verified = run("projections", "verify", "--school", "testschool-j", "--json")
    assert (code, verified["ok"], verified["schools"]) == (
        0,
        True,
        [{"school": "testschool-j", "differences": []}],
    )

    code, audited = run("audit", "verify", "--school", "testschool-j", "--json")
    assert code == 0
    assert audited["ok"] is True
    assert [log["log"] for log in audited["logs"]] == ["testschool-j"]
    assert audited["logs"][0]["problems"] == []

    code, expired = run("privacy", "expire", "--school", "testschool-j", "--json")
    assert code == 0
    assert expired["schools"][0]["erased"] == []
