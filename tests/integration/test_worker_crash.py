"""SIGKILL in the middle of a catch-up batch loses nothing and applies nothing twice.

A child process catches a school of 5,000 events up in batches of 100. In batch 15, after the
views have written their rows but before the positions are updated and the transaction commits
(the engine's ``after_process`` hook), it tells the parent and waits; the parent kills it with
SIGKILL. PostgreSQL rolls the open batch back. A new catch-up then finishes the job, and the
views equal a rebuild from scratch, with exactly one timeline row per event.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from psycopg.sql import SQL, Identifier

from infra.bootstrap import views as school_views
from infra.bootstrap.container import Container
from projections.engine import head, positions
from projections.views import ALL_VIEWS
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.shared.actor import Actor, acting_as
from tests.conftest import TEST_MASTER_KEY_B64

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONTACT = Actor("test-cp-crash", Role.CONTACT_PERSON)
CASES = 50
EVENTS_PER_CASE = 100  # the report and 99 notes
BATCH = 100
PAUSE_IN_BATCH = 15


def _seed(app: CaseworkApplication, school_id: UUID) -> None:
    """5,000 events, one save (one transaction) per case."""
    with acting_as(CONTACT):
        for n in range(CASES):
            case = Case.report(school_id=school_id, reporter_kind="staff", summary="Fictief.")
            for i in range(EVENTS_PER_CASE - 1):
                case.add_note(text=f"Fictieve notitie {n}-{i}.")
            app.save_case(case)


def child_main() -> None:
    """The catch-up loop run in the child process (see the test)."""
    from infra.config.settings import Settings
    from projections.engine import catch_up_batch

    school_id = UUID(os.environ["VT_SCHOOL"])
    marker = Path(os.environ["VT_MARKER"])
    with Container.open(Settings.from_env(), provision_platform=False) as container:
        target = school_views.ensure_school_views(container, school_id)
        app = container.schools.get(school_id)
        batches = 0

        def after_process() -> None:
            nonlocal batches
            batches += 1
            if batches == PAUSE_IN_BATCH:
                marker.write_text("inside a batch")
                time.sleep(120)  # the parent kills us here

        with container.pool.connection() as conn:
            while catch_up_batch(
                conn, target, app.read_side_mapper(), ALL_VIEWS,
                batch_size=BATCH, after_process=after_process,
            ):  # fmt: skip
                pass


def _count(container: Container, schema: str, table: str) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(SQL("SELECT count(*) FROM {}").format(Identifier(schema, table)))
        result = row.fetchone()
        assert result is not None
        return int(result[0] if not isinstance(result, dict) else next(iter(result.values())))


def test_sigkill_mid_batch_then_catch_up_equals_a_rebuild(
    container: Container, database_url: str, tmp_path: Path
) -> None:
    slug = f"kill-{uuid4().hex[:8]}"
    container.create_board(f"Testbestuur {slug}", slug=f"b-{slug}")
    school = container.create_school(f"b-{slug}", f"Testschool {slug}", slug=slug)
    _seed(container.schools.get(school.id), school.id)
    total = CASES * EVENTS_PER_CASE

    marker = tmp_path / "in-batch"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VANGNET_MASTER_KEY": TEST_MASTER_KEY_B64,
        "VANGNET_DATA_DIR": str(tmp_path),
        "VANGNET_POOL_SIZE": "2",
        "PYTHONPATH": str(ROOT),
        "VT_SCHOOL": str(school.id),
        "VT_MARKER": str(marker),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", "from tests.integration.test_worker_crash import child_main; "
         "child_main()"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"child exited early:\n{child.stderr.read() if child.stderr else ''}")
            if time.monotonic() > deadline:
                pytest.fail("child never reached the batch to be killed in")
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL

    # The killed batch rolled back: every view stands at the end of the last committed batch.
    committed = (PAUSE_IN_BATCH - 1) * BATCH
    deadline = time.monotonic() + 10
    while True:
        with container.pool.connection() as conn:
            now = positions(conn, school.schema_name)
        live = {v.name: now[v.name] for v in ALL_VIEWS}
        if set(live.values()) == {committed} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert set(live.values()) == {committed}, live
    assert _count(container, school.schema_name, "case_timeline") == committed

    # Restart: the catch-up finishes, nothing applied twice, views equal a from-scratch rebuild.
    assert school_views.catch_up_school(container, school.id) == total - committed
    with container.pool.connection() as conn:
        log_head = head(conn, school.schema_name)
        after = positions(conn, school.schema_name)
    assert all(after[v.name] == log_head for v in ALL_VIEWS), after
    assert _count(container, school.schema_name, "case_timeline") == total
    assert _count(container, school.schema_name, "cases") == CASES
    assert school_views.lag(container, school.id) == 0
    assert school_views.verify_school(container, school.id) == []
