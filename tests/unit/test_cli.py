"""The ``vangnet`` command line (click), without a database: every command line the README
documents parses, usage errors exit 2 naming the problem, ``bench`` hands its arguments to the
harness untouched, and e-mail lists take several values after one option."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import infra.entrypoints.cli
from infra.entrypoints.cli import cli, main, resolve
from infra.entrypoints.cli.common import progress_bar

ROOT = Path(__file__).resolve().parents[2]
#: Values for the README's placeholders that are not free text.
VALUES = {
    "N": "2",
    "S": "30",
    "SECONDS": "5",
    "ID": str(uuid.UUID(int=1)),
    "YYYY-MM-DD": "2026-01-31",
    "ISO-TIME": "2026-01-31T12:00",
}


def documented_command_lines() -> list[list[str]]:
    """The ``vangnet …`` synopsis lines of README.md, with every optional part given, the
    first of each ``(A | B)`` choice, and continuation lines joined."""
    text = ROOT.joinpath("README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for raw in text.splitlines():
        line = raw.split("  #")[0].strip()
        if not line.startswith("vangnet ") or line.startswith("vangnet bench"):
            continue
        line = re.sub(r"\(([^|)]*)\|[^)]*\)", r"\1", line)  # (A | B) -> A
        line = line.replace("[", " ").replace("]", " ").replace("…", " ")
        words = [VALUES.get(word, word) for word in line.split()[1:]]
        words = [w for w in words if w != "|" and not w.startswith("--view=")]
        found.append(words)
    return found


def test_the_readme_documents_command_lines() -> None:
    lines = documented_command_lines()
    assert len(lines) > 20
    assert ["projections", "status", "--json"] in lines


@pytest.mark.parametrize("argv", documented_command_lines(), ids=" ".join)
def test_every_documented_command_line_parses(argv: list[str]) -> None:
    if argv == ["--help"]:
        return  # the root's help (tested below)
    command = resolve(argv)
    assert not isinstance(command, click.Group), argv


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("tenants", "demo", "serve", "worker", "jobs", "projections", "audit"):
        assert name in result.output
    for name in ("privacy", "migrate", "bench"):
        assert name in result.output


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["projections", "verify"], "exactly one of --school SLUG and --all"),
        (["projections", "verify", "--school", "a", "--all"], "exactly one of"),
        (["audit", "verify", "--school", "a", "--platform"], "exactly one of"),
        (["serve", "--port", "0"], "--port"),
        (["tenants", "list", "--nope"], "--nope"),
        (["nope"], "nope"),
        (["privacy", "expire", "--all", "--today", "31-01-2026"], "--today"),
    ],
)
def test_usage_errors_exit_2_naming_the_problem(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert said in capsys.readouterr().err


def test_bench_hands_its_arguments_to_the_harness(monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[tuple[str, ...]] = []

    def fake_run(options: tuple[str, ...]) -> int:
        given.append(tuple(options))
        return 0

    monkeypatch.setattr(infra.entrypoints.cli, "run_bench", fake_run)
    argv = ["bench", "--quick", "--broker", "amqp://x", "--help"]
    assert CliRunner().invoke(cli, argv).exit_code == 0
    assert given == [("--quick", "--broker", "amqp://x", "--help")]


def test_email_lists_take_several_values_after_one_option() -> None:
    group = cli.commands["tenants"]
    assert isinstance(group, click.Group)
    command = group.commands["set-contacts"]
    argv = ["--school", "s", "--contact-person", "a@test.example", "b@test.example"]
    argv += ["--board", "c@test.example", "--contact-person", "d@test.example"]
    params = command.make_context("set-contacts", argv).params
    assert params["contact_person"] == ("a@test.example", "b@test.example", "d@test.example")
    assert params["board"] == ("c@test.example",)
    assert params["coordinator"] == ()


def test_progress_off_a_terminal_is_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar("schools", 2, counting="events") as bar:
        bar.describe("school-a")
        bar.count(10)
        bar.say("school-a: rebuilt from 10 events")
        bar.item_done()
    captured = capsys.readouterr()
    assert captured.err == "school-a: rebuilt from 10 events\n"
    assert captured.out == ""


@pytest.mark.parametrize("argv", [[], ["projections"], ["tenants"], ["audit"]])
def test_a_group_without_a_command_shows_its_help(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: vangnet {' '.join(argv)}".rstrip() + " [OPTIONS]")
    assert "Commands:" in out
