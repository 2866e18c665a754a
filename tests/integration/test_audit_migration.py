"""Logs written by an older version are re-sealed once: states re-encrypted bound to their
event, the keyed chain computed, a signed ``sealed`` checkpoint recorded inside and outside the
database. Old-format states are refused afterwards, a log whose old chain does not verify is not
re-sealed, and deleting a log's keyed checkpoints does not get it re-sealed (that would bless a
tampered log).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest

from infra.adapters.audit import access_log
from infra.adapters.audit.checkpoints import create_checkpoint_table
from infra.adapters.audit.integrity import verify_school
from infra.adapters.audit.migration import seal_events
from infra.adapters.audit.sink import DirectorySink
from infra.adapters.audit.tables import ensure_school_audit, schools_to_seal
from infra.adapters.postgres.chain import legacy_link
from infra.adapters.postgres.cipher import MAGIC
from infra.adapters.postgres.store import LogKeys
from infra.bootstrap.container import Container
from services.casework.commands import AddNote
from services.casework.handlers import CaseService
from services.shared.errors import IntegrityViolation
from tenants.registry import School
from tests.integration.tamper import Tables, make_old_format
from tests.integration.test_audit_chain import CONTACT, new_school, write_cases

pytestmark = pytest.mark.integration


@dataclass
class Old:
    """A school whose log an older version wrote (built by rewriting a new one)."""

    container: Container
    school: School
    cases: list[UUID]
    tables: Tables
    keys: LogKeys

    def seal(self) -> int:
        """What a process start does: re-seal the logs that need it."""
        with self.container.pool.connection() as conn:
            return ensure_school_audit(conn, self.container.audit, self.container.registry)

    def needs_sealing(self) -> bool:
        with self.container.pool.connection() as conn:
            return self.school.schema_name in schools_to_seal(conn)

    def note(self, case_id: UUID, text: str) -> None:
        service = CaseService(self.container.schools.get(self.school.id), self.school.id)
        service.handle(CONTACT, AddNote(case_id=case_id, text=text))

    def outside_kinds(self) -> list[str | None]:
        sink = DirectorySink(self.container.settings.checkpoint_path)
        return [(line.record or {}).get("kind") for line in sink.read(self.school.schema_name)]


@pytest.fixture
def written(container: Container, database_url: str) -> Iterator[Old]:
    school = new_school(container, "old")
    cases = write_cases(container, school, cases=2, notes=2)
    with container.pool.connection() as conn:
        for case_id in cases:
            access_log.record_case_read(
                conn, school.schema_name, case_id, "test-auditor", "auditor",
                access_log.ReadKind.EXPORT,
            )  # fmt: skip
    tables = Tables(database_url, school)
    tables.save()
    yield Old(container, school, cases, tables, container.audit.school_log(school))
    tables.restore()


@pytest.fixture
def old(written: Old) -> Old:
    make_old_format(written.tables, written.keys, written.container.settings.checkpoint_path)
    return written


def test_an_old_format_log_is_resealed_once(old: Old) -> None:
    # Before: its states (no associated data) are refused, and it is due for sealing.
    with pytest.raises(IntegrityViolation):
        old.container.schools.get(old.school.id).get_case(old.cases[0], old.school.id)
    assert old.needs_sealing()
    head = int(old.tables.rows()[-1][0])

    assert old.seal() >= 1

    # After: every state is bound to its event, the keyed chain and the access log verify.
    assert all(bytes(row[4]).startswith(MAGIC) for row in old.tables.stored())
    report = verify_school(old.container.pool, old.school)
    assert report.ok, report.lines()
    assert (report.events, report.reads) == (8, 2)
    assert report.sealed is not None
    assert report.sealed.position == head
    assert "re-sealed with the keyed chain on" in "\n".join(report.lines())
    assert old.outside_kinds() == ["sealed", "sealed"]  # the events and the access log
    # The cases read back as they were; new commands continue the keyed chain.
    case = old.container.schools.get(old.school.id).get_case(old.cases[0], old.school.id)
    assert case.version == 4
    old.note(old.cases[0], "Na de omzetting")
    assert verify_school(old.container.pool, old.school).ok
    # Once only.
    assert not old.needs_sealing()


def test_an_old_ciphertext_copied_back_after_the_reseal_is_refused(old: Old) -> None:
    nid, case_id, version = old.tables.rows()[1]
    ((old_state,),) = old.tables.sql("SELECT state FROM {events} WHERE notification_id = %s", nid)
    old.seal()
    # Its own ciphertext from before the re-seal, put back (a copy from a backup, say).
    old.tables.sql("UPDATE {events} SET state = %s WHERE notification_id = %s", old_state, nid)
    with pytest.raises(IntegrityViolation, match=f"version {version}"):
        old.container.schools.get(old.school.id).get_case(case_id, old.school.id)
    report = verify_school(old.container.pool, old.school)
    assert f"event #{nid} (case {case_id}, version {version}) does not match the chain" in (
        "\n".join(report.lines())
    )


def test_a_log_from_before_the_chain_is_sealed(written: Old) -> None:
    make_old_format(
        written.tables, written.keys, written.container.settings.checkpoint_path, chained=False
    )
    written.seal()
    report = verify_school(written.container.pool, written.school)
    assert report.ok, report.lines()
    assert (report.events, report.reads) == (8, 0)  # (the access log did not exist yet)
    assert report.sealed is not None


def test_an_old_log_whose_chain_does_not_verify_is_not_resealed(old: Old) -> None:
    nid = old.tables.rows()[3][0]
    old.tables.sql(
        "UPDATE {events} SET state = state || '\\x00'::bytea WHERE notification_id = %s", nid
    )
    with old.container.pool.connection() as conn:
        sealed = seal_events(conn, old.container.audit, old.keys)
    assert sealed is not None
    assert sealed.refused == f"event #{nid} does not match its old chain: not re-sealed"
    assert old.needs_sealing()  # still: nothing was changed
    report = verify_school(old.container.pool, old.school)
    assert not report.ok
    assert "casework_events has no signed checkpoint at all" in "\n".join(report.lines())


def test_an_old_log_that_does_not_match_its_old_checkpoint_is_not_resealed(old: Old) -> None:
    # Another case's intake copied over this one's (old states are not bound to their event,
    # so it decrypts) and the unkeyed chain recomputed (anyone could): only the old checkpoint
    # of the head no longer matches. Not blessed by a re-seal.
    rows = old.tables.rows()
    nid = rows[1][0]
    other = next(r[0] for r in rows if r[1] == old.cases[1] and r[2] == 2)
    old.tables.sql(
        "UPDATE {events} SET state = (SELECT state FROM {events} WHERE notification_id = %s) "
        "WHERE notification_id = %s",
        other,
        nid,
    )
    old.tables.forge_links(nid, legacy_link)
    head = old.tables.rows()[-1][0]
    with old.container.pool.connection() as conn:
        sealed = seal_events(conn, old.container.audit, old.keys)
    assert sealed is not None
    assert sealed.refused == (f"its old chain does not match its checkpoint #{head}: not re-sealed")


def test_deleting_a_logs_keyed_checkpoints_does_not_get_it_resealed(written: Old) -> None:
    # Someone tampers with a keyed log and deletes its checkpoints, hoping the next start
    # seals what they left behind.
    written.tables.sql("DELETE FROM {checkpoints} WHERE log = %s", written.tables.schema)
    with written.container.pool.connection() as conn:
        sealed = seal_events(conn, written.container.audit, written.keys)
    assert sealed is not None
    assert sealed.refused is not None
    assert "the outside copy" in sealed.refused
    assert "holds 1 keyed checkpoint(s) of it but the database none" in sealed.refused
    # Without the outside copy either: its states are in the new format already.
    sink = written.container.settings.checkpoint_path / f"{written.school.schema_name}.jsonl"
    sink.unlink()
    with written.container.pool.connection() as conn:
        sealed = seal_events(conn, written.container.audit, written.keys)
    assert sealed is not None
    assert sealed.refused is not None
    assert "is already in the new format" in sealed.refused
    assert written.tables.sql(
        "SELECT count(*) FROM {checkpoints} WHERE log = %s", written.tables.schema
    ) == [(0,)]


def test_a_checkpoint_table_from_before_signing_gets_its_columns(container: Container) -> None:
    # The table as older versions made it (inside a transaction that is rolled back: the
    # test database is shared).
    with container.pool.connection() as conn, conn.transaction(force_rollback=True):
        conn.execute("DROP INDEX platform.chain_checkpoints_by_position")
        conn.execute(
            "ALTER TABLE platform.chain_checkpoints DROP COLUMN scheme, DROP COLUMN key_id, "
            "DROP COLUMN signature"
        )
        conn.execute("DELETE FROM platform.chain_checkpoints")
        conn.execute("ALTER TABLE platform.chain_checkpoints ADD UNIQUE (log, chain, position)")
        conn.execute(
            "INSERT INTO platform.chain_checkpoints (log, chain, position, hash) "
            "VALUES ('school_x', 'casework_events', 3, '\\x01')"
        )
        create_checkpoint_table(conn)
        create_checkpoint_table(conn)  # idempotent
        rows = conn.execute(
            "SELECT scheme, signature FROM platform.chain_checkpoints WHERE log = 'school_x'"
        ).fetchall()
        assert [(r["scheme"], r["signature"]) for r in rows] == [("sha256", None)]
        unique = conn.execute(
            "SELECT count(*) AS n FROM pg_constraint "
            "WHERE conrelid = 'platform.chain_checkpoints'::regclass AND contype = 'u'"
        ).fetchone()
        assert unique is not None
        assert unique["n"] == 0
        # The keyed checkpoint of the same position is a row of its own.
        conn.execute(
            "INSERT INTO platform.chain_checkpoints (log, chain, position, hash, scheme) "
            "VALUES ('school_x', 'casework_events', 3, '\\x02', 'hmac-sha256')"
        )
