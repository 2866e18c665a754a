"""`vangnet bench --quick` produces every figure (its values are not checked: CI is noisy).

Runs the benchmark as a user would, in a subprocess, against the test session's server: the
benchmark makes (and drops) its own database there, starts the web process and the load
generator, and must finish well within CI's two-minute budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.config import QUICK
from bench.report import FIGURES, figures, is_number, missing_figures

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BUDGET_SECONDS = 120


@pytest.mark.timeout(BUDGET_SECONDS + 60)
def test_quick_bench_produces_every_figure(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VANGNET_", "BROKER_URL"))}
    env.pop("DATABASE_URL", None)
    env["VANGNET_BENCH_DATABASE_URL"] = database_url
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUDGET_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        pytest.fail(f"bench --quick took longer than {BUDGET_SECONDS} s:\n{stderr}")
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"

    results = json.loads(out.read_text())
    assert results["mode"] == "quick"
    assert missing_figures(results) == []
    found = figures(results)
    assert all(is_number(value) for value in found.values())
    # One row per concurrency level, each with HTTP, the bare library and pgbench side by side.
    levels = results["command_path"]["levels"]
    assert [level["concurrency"] for level in levels] == list(QUICK.levels)
    assert len(found) >= len(FIGURES)
    # Every target is reported with a value (met or not).
    assert results["targets"]
    assert all(is_number(check["value"]) for check in results["targets"])
    # The run really exercised what it claims.
    assert levels[0]["http"]["statuses"].get("200", 0) > 0
    assert results["tenant_scale"]["schools"] == QUICK.scale_schools
    assert results["rebuild"]["events"] > 0
    # The table is printed.
    assert "1. Command path" in done.stdout
    assert "Targets" in done.stdout
