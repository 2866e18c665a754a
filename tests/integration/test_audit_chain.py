"""Tamper evidence: every stored event is chained to the one before; edits to the raw tables are
caught and named, and a rewritten tail with recomputed hashes is caught by a checkpoint.

Each test writes a few cases through the normal command path, then tampers with the school's
tables directly in SQL (as someone with database access would) and verifies the log.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.audit import access_log
from infra.audit.checkpoints import checkpoints_of
from infra.audit.integrity import (
    checkpoint_platform,
    checkpoint_school,
    verify_platform,
    verify_school,
)
from infra.audit.tables import ensure_school_audit, schools_without_audit_tables
from infra.cli import main
from infra.container import Container
from infra.postgres.chain import encode_event, genesis, link
from infra.postgres.store import CHAIN_CHUNK
from infra.settings import Settings
from infra.worker.actors import checkpoint_sweep
from services.casework.commands import AddNote, HoldIntake, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseService
from services.shared.actor import Actor, acting_as
from tenants.registry import School
from tenants.roles import Role
from tests.conftest import TEST_MASTER_KEY_B64
from tests.integration.readside import today

pytestmark = pytest.mark.integration

CONTACT = Actor(user_id="test-chain-contact", role=Role.CONTACT_PERSON)
EVENTS = "casework_events"
CHAIN = "casework_events_chain"


@dataclass
class Log:
    container: Container
    school: School
    cases: list[UUID]

    @property
    def schema(self) -> str:
        return self.school.schema_name

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Raw SQL on the school's schema (``{events}``/``{chain}`` are its tables)."""
        statement = statement.replace("}_saved", "_saved}")
        query = SQL(statement).format(  # type: ignore[arg-type]
            events=Identifier(self.schema, EVENTS),
            chain=Identifier(self.schema, CHAIN),
            reads=Identifier(self.schema, access_log.TABLE),
            events_saved=Identifier(self.schema, EVENTS + "_saved"),
            chain_saved=Identifier(self.schema, CHAIN + "_saved"),
            reads_saved=Identifier(self.schema, access_log.TABLE + "_saved"),
        )
        with (
            self.container.pool.connection() as conn,
            conn.cursor(row_factory=tuple_row) as curs,
        ):
            curs.execute(query, params)
            return curs.fetchall() if curs.description else []

    def rows(self) -> list[tuple[Any, ...]]:
        return self.sql(
            "SELECT notification_id, originator_id, originator_version FROM {events} "
            "ORDER BY notification_id"
        )


def write_cases(container: Container, school: School, cases: int = 3, notes: int = 3) -> list[UUID]:
    service = CaseService(container.schools.get(school.id), school.id)
    ids = []
    for n in range(cases):
        case_id = service.report(
            CONTACT, ReportCase(reporter_kind="target_pupil", summary=f"Fictieve melding {n}")
        )
        service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=today(), summary="Gesprek"))
        for i in range(notes):
            service.handle(CONTACT, AddNote(case_id=case_id, text=f"Notitie {i}"))
        ids.append(case_id)
    return ids


def new_school(container: Container, prefix: str = "chain") -> School:
    slug = f"{prefix}-{uuid.uuid4().hex[:6]}"
    container.create_board(f"{slug} board", slug=f"{slug}-board")
    return container.create_school(f"{slug}-board", "Chain School", slug=slug)


@pytest.fixture
def log(container: Container) -> Iterator[Log]:
    """A school with three cases; its tables are put back as they were after the test, so the
    tampering does not trouble other tests that walk every school (sweeps, exports)."""
    school = new_school(container)
    written = Log(container, school, write_cases(container, school))
    for table in ("events", "chain", "reads"):
        written.sql(f"CREATE TABLE {{{table}}}_saved AS SELECT * FROM {{{table}}}")
    yield written
    for table in ("events", "chain", "reads"):
        written.sql(
            f"CREATE TABLE IF NOT EXISTS {{{table}}} (LIKE {{{table}}}_saved INCLUDING ALL)"
        )
        written.sql(f"DELETE FROM {{{table}}}")
        written.sql(f"INSERT INTO {{{table}}} SELECT * FROM {{{table}}}_saved")
        written.sql(f"DROP TABLE {{{table}}}_saved")
    with container.pool.connection() as conn:
        conn.execute("DELETE FROM platform.chain_checkpoints WHERE log = %s", (school.schema_name,))


def problems(log: Log) -> str:
    report = verify_school(log.container.pool, log.school)
    assert not report.ok, "tampering went unnoticed"
    return "\n".join(report.lines())


# --- the chain as written ---------------------------------------------------------------------


def test_every_command_is_chained_and_verifies(log: Log) -> None:
    rows = log.rows()
    assert len(rows) == 3 * 5
    # One link per event, computed in SQL by the recorder; Python recomputes the same hashes.
    links = log.sql("SELECT notification_id, hash FROM {chain} ORDER BY notification_id")
    assert [r[0] for r in links] == [r[0] for r in rows]
    previous = genesis(log.schema, EVENTS)
    stored = log.sql(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {events} "
        "ORDER BY notification_id"
    )
    for (nid, oid, version, topic, state), (_, chained) in zip(stored, links, strict=True):
        previous = link(previous, encode_event(nid, oid, version, topic, bytes(state)))
        assert bytes(chained) == previous
    report = verify_school(log.container.pool, log.school)
    assert report.ok, report.lines()
    assert report.events == 15
    assert report.lines()[0].startswith(f"{log.school.slug}: intact: 15 events")


def test_concurrent_writers_keep_one_chain(log: Log) -> None:
    # Commands on different cases of one school at the same time: the table lock orders them.
    def work(case_id: UUID) -> None:
        service = CaseService(log.container.schools.get(log.school.id), log.school.id)
        for i in range(10):
            service.handle(CONTACT, AddNote(case_id=case_id, text=f"Tegelijk {i}"))

    threads = [threading.Thread(target=work, args=(c,)) for c in log.cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_school(log.container.pool, log.school)
    assert report.ok, report.lines()
    assert report.events == 15 + 30


def test_a_big_save_is_chained_in_chunks(log: Log) -> None:
    # More events in one save than the recorder chains per statement.
    app = log.container.schools.get(log.school.id)
    with acting_as(CONTACT):
        case = Case.report(school_id=log.school.id, reporter_kind="staff", summary="Groot")
        for n in range(CHAIN_CHUNK * 2 + 10):
            case.add_note(text=f"Notitie {n}")
    recordings = app.save(case)
    ids = [r.notification.id for r in recordings]
    stored = [r[0] for r in log.rows() if r[1] == case.id]
    assert ids == stored
    assert len(ids) == CHAIN_CHUNK * 2 + 11
    report = verify_school(log.container.pool, log.school)
    assert report.ok, report.lines()
    assert report.events == 15 + len(ids)


def test_the_platform_log_is_chained_too(container: Container) -> None:
    new_school(container)
    report = verify_platform(container.pool)
    assert report.ok, report.lines()
    assert report.events >= 2


# --- tampering with the raw tables ---------------------------------------------------------


def test_a_changed_byte_of_an_event_is_named(log: Log) -> None:
    nid, oid, version = log.rows()[6]
    log.sql(
        "UPDATE {events} SET state = set_byte(state, 20, (get_byte(state, 20) + 1) %% 256) "
        "WHERE notification_id = %s",
        nid,
    )
    found = problems(log)
    assert (
        f"{log.school.slug}: event #{nid} (case {oid}, version {version}) does not match" in found
    )
    assert "6 events before it verified" in found


def test_a_deleted_event_is_named(log: Log) -> None:
    nid, _, _ = log.rows()[4]
    log.sql("DELETE FROM {events} WHERE notification_id = %s", nid)
    found = problems(log)
    assert f"event #{nid} is missing from the log" in found


def test_a_deleted_event_and_its_link_break_the_next_link(log: Log) -> None:
    rows = log.rows()
    nid = rows[4][0]
    log.sql("DELETE FROM {events} WHERE notification_id = %s", nid)
    log.sql("DELETE FROM {chain} WHERE notification_id = %s", nid)
    found = problems(log)
    after, oid, version = rows[5]
    assert f"event #{after} (case {oid}, version {version}) does not match the chain" in found


def test_an_inserted_event_is_named(log: Log) -> None:
    # A forged event: a copy of a real one under a new version of the same case.
    nid, oid, version = log.rows()[-1]
    log.sql(
        "INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version + 1, topic, state FROM {events} "
        "WHERE notification_id = %s",
        nid,
    )
    new_nid, new_oid, new_version = log.rows()[-1]
    assert (new_oid, new_version) == (oid, version + 1)
    found = problems(log)
    assert f"event #{new_nid} (case {oid}, version {new_version}) is not in the chain" in found


def test_two_swapped_states_are_named(log: Log) -> None:
    rows = log.rows()
    first, second = rows[2][0], rows[9][0]
    log.sql(
        "UPDATE {events} e SET state = o.state FROM {events} o "
        "WHERE (e.notification_id, o.notification_id) IN ((%s, %s), (%s, %s))",
        first,
        second,
        second,
        first,
    )
    found = problems(log)
    _, oid, version = rows[2]
    assert f"event #{first} (case {oid}, version {version}) does not match the chain" in found


def _rewrite_tail(log: Log, from_index: int) -> None:
    """Change one event and recompute every link from it on: the chain alone stays consistent."""
    nid = log.rows()[from_index][0]
    log.sql("UPDATE {events} SET state = state || '\\x00'::bytea WHERE notification_id = %s", nid)
    rows = log.sql(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {events} "
        "ORDER BY notification_id"
    )
    previous = genesis(log.schema, EVENTS)
    for n, oid, version, topic, state in rows:
        previous = link(previous, encode_event(n, oid, version, topic, bytes(state)))
        log.sql("UPDATE {chain} SET hash = %s WHERE notification_id = %s", previous, n)


def test_a_rewritten_tail_with_recomputed_hashes_is_caught_by_the_checkpoint(log: Log) -> None:
    checkpoint_school(log.container.pool, log.school)
    _rewrite_tail(log, 7)
    report = verify_school(log.container.pool, log.school)
    # The chain is consistent again ...
    assert report.events == 15
    assert not any("does not match the chain" in p for p in report.problems)
    # ... but the checkpoint recorded before the rewrite no longer matches.
    assert not report.ok
    head = log.rows()[-1][0]
    assert any(
        f"casework_events no longer matches checkpoint #{head}" in p for p in report.problems
    ), report.problems


def test_checkpoints_narrow_down_where_a_rewrite_happened(log: Log) -> None:
    service = CaseService(log.container.schools.get(log.school.id), log.school.id)
    checkpoint_school(log.container.pool, log.school)
    first_head = log.rows()[-1][0]
    service.handle(CONTACT, AddNote(case_id=log.cases[0], text="Later"))
    checkpoint_school(log.container.pool, log.school)
    _rewrite_tail(log, 15)  # only the event after the first checkpoint
    found = problems(log)
    assert f"rewritten after #{first_head}, at or before #{first_head + 1}" in found


def test_a_removed_tail_is_caught_by_the_checkpoint(log: Log) -> None:
    checkpoint_school(log.container.pool, log.school)
    head = log.rows()[-1][0]
    log.sql("DELETE FROM {events} WHERE notification_id = %s", head)
    log.sql("DELETE FROM {chain} WHERE notification_id = %s", head)
    found = problems(log)
    assert f"casework_events ends at #{head - 1}, but the checkpoint of" in found
    assert f"recorded its head at #{head}: entries at the end were removed" in found


def test_a_removed_access_log_entry_is_caught(log: Log) -> None:
    for _ in range(3):
        with log.container.pool.connection() as conn:
            access_log.record_case_read(
                conn,
                log.schema,
                log.cases[0],
                "test-auditor",
                "auditor",
                access_log.ReadKind.EXPORT,
            )
    assert verify_school(log.container.pool, log.school).reads == 3
    first = log.sql("SELECT min(id) FROM {reads}")[0][0]
    log.sql("DELETE FROM {reads} WHERE id = %s", first)
    found = problems(log)
    assert f"case read #{first + 1} (case {log.cases[0]}) does not match the chain" in found


# --- checkpoints and logs from before the chain ---------------------------------------------


def test_the_checkpoint_sweep_records_moved_heads_only(log: Log) -> None:
    checkpoint_sweep(log.container)
    mine = checkpoints_of_school(log)
    assert [(c.chain, c.position) for c in mine] == [(EVENTS, log.rows()[-1][0])]
    checkpoint_sweep(log.container)
    assert checkpoints_of_school(log) == mine
    assert checkpoint_platform(log.container.pool) == []


def checkpoints_of_school(log: Log) -> list[Any]:
    with log.container.pool.connection() as conn:
        return checkpoints_of(conn, log.schema)


def test_a_school_from_before_the_chain_is_sealed_once(log: Log) -> None:
    # Make it look like a school provisioned before tamper evidence existed.
    log.sql("DROP TABLE {chain}")
    log.sql("DROP TABLE {reads}")
    with log.container.pool.connection() as conn:
        assert log.schema in schools_without_audit_tables(conn)
        assert ensure_school_audit(conn) >= 1
        assert log.schema not in schools_without_audit_tables(conn)
        assert ensure_school_audit(conn) == 0
    report = verify_school(log.container.pool, log.school)
    assert report.ok, report.lines()
    assert report.events == 15
    assert report.sealed is not None
    assert report.sealed.position == log.rows()[-1][0]
    assert "written before tamper evidence existed" in "\n".join(report.lines())
    # New commands continue the sealed chain.
    write_cases(log.container, log.school, cases=1, notes=1)
    assert verify_school(log.container.pool, log.school).events == 18


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")


@pytest.mark.usefixtures("cli_env")
def test_vangnet_audit_verify_and_checkpoint(capsys: pytest.CaptureFixture[str]) -> None:
    with Container.open(Settings.from_env()) as container:
        school = new_school(container, "cli-chain")
        cases = write_cases(container, school, cases=2, notes=1)
    assert main(["audit", "checkpoint", "--school", school.slug]) == 0
    assert f"{school.slug}: casework_events #" in capsys.readouterr().out
    assert main(["audit", "verify", "--school", school.slug]) == 0
    out = capsys.readouterr().out
    assert (
        f"{school.slug}: intact: 6 events and 0 case reads verified, 1 checkpoint(s) match" in out
    )
    # (--all would also see the schools other tests tampered with in this shared database.)
    assert main(["audit", "verify", "--platform"]) == 0
    assert "platform: intact" in capsys.readouterr().out

    # A byte changed in the second case's report: exit 1, naming the school, id, case, version.
    with Container.open(Settings.from_env()) as container:
        log = Log(container, school, cases)
        nid = next(r[0] for r in log.rows() if r[1] == cases[1] and r[2] == 1)
        log.sql(
            "UPDATE {events} SET state = state || '\\x01'::bytea WHERE notification_id = %s", nid
        )
    assert main(["audit", "verify", "--school", school.slug]) == 1
    out = capsys.readouterr().out
    assert f"{school.slug}: event #{nid} (case {cases[1]}, version 1) does not match" in out
    assert f"1 of 1 log(s) do not fit their chain or checkpoints: {school.slug}" in out
    # Put the byte back (other tests walk every school).
    with Container.open(Settings.from_env()) as container:
        Log(container, school, cases).sql(
            "UPDATE {events} SET state = substring(state FROM 1 FOR length(state) - 1) "
            "WHERE notification_id = %s",
            nid,
        )
    assert main(["audit", "verify", "--school", school.slug]) == 0
