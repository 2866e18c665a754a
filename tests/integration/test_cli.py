"""The `vangnet` command against a real database: tenants and the demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli import main
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
    assert "In total: 3 schools, 30 cases" in out
    assert "33 of 33 event types used" in out, out
    # Running it again keeps the data and says so.
    assert main(["demo", "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "already present" in out
    assert "In total: 3 schools, 30 cases" in out


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("tenants", "demo"):
        assert command in out
