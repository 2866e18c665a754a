"""Tamper evidence against someone who can write the database.

Every stored event is chained to the one before by a keyed hash (the key is derived from the
master key and never reaches the database), its ciphertext is bound to its school, case, version
and type, and every checkpoint is signed and also written outside the database. Each test writes
cases through the normal command path, then tampers with the school's tables in SQL — as someone
with database write access (but not the master key) would, recomputing whatever they can — and
runs ``vangnet audit verify``, which must exit 1 and name what it found.

The tamper kinds of issue #10 §5: a changed byte, a deleted, inserted, moved or swapped row; an
event rewritten after the last checkpoint with the chain recomputed; the same with the
checkpoint's hash rewritten too; the newest event cut together with its checkpoint; an event
appended at the head with a link computed the way an attacker can; another case's ciphertext
copied into this case.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from infra.adapters.audit import access_log
from infra.adapters.audit.checkpoints import checkpoints_of
from infra.adapters.audit.integrity import (
    checkpoint_platform,
    checkpoint_school,
    verify_platform,
    verify_school,
)
from infra.adapters.audit.sink import DirectorySink
from infra.adapters.postgres.chain import encode_event, genesis, legacy_link, link
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from infra.entrypoints.worker.actors import checkpoint_sweep
from infra.entrypoints.worker.inprocess import start_inprocess_worker
from services.access.roles import Role
from services.casework.commands import AddNote, HoldIntake, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseService
from services.shared.actor import Actor, acting_as
from services.shared.errors import IntegrityViolation
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY_B64
from tests.integration.readside import today
from tests.integration.tamper import EVENTS, Linker, Tables
from tests.integration.web import (
    METRICS_TOKEN,
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

CONTACT = Actor(user_id="test-chain-contact", role=Role.CONTACT_PERSON)
#: What an attacker can compute a link with: the unkeyed formula of older versions, or the
#: keyed one with a key of their own (they do not have the master key).
UNKEYED: Linker = legacy_link


def guessed_key(previous: bytes, body: bytes) -> bytes:
    return link(b"\x42" * 32, previous, body)


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


# --- the chain as written ------------------------------------------------------------------


@pytest.fixture
def school(container: Container) -> School:
    return new_school(container)


def test_every_command_is_chained_with_the_logs_key(
    container: Container, school: School, database_url: str
) -> None:
    write_cases(container, school)
    tables = Tables(database_url, school)
    stored = tables.stored()
    assert len(stored) == 3 * 5
    # One link per event, keyed with the log's own chain key (derived from the master key).
    key = container.audit.chain_key(school.schema_name, EVENTS)
    links = tables.sql("SELECT notification_id, hash FROM {chain} ORDER BY notification_id")
    previous = genesis(school.schema_name, EVENTS)
    for (nid, oid, version, topic, state), (linked, chained) in zip(stored, links, strict=True):
        assert linked == nid
        previous = link(key, previous, encode_event(nid, oid, version, topic, bytes(state)))
        assert bytes(chained) == previous
    # Not the unkeyed formula anyone could recompute.
    nid, oid, version, topic, state = stored[0]
    first = legacy_link(
        genesis(school.schema_name, EVENTS), encode_event(nid, oid, version, topic, bytes(state))
    )
    assert bytes(links[0][1]) != first
    report = verify_school(container.pool, school)
    assert report.ok, report.lines()
    assert report.events == 15


def test_concurrent_writers_keep_one_chain(container: Container, school: School) -> None:
    cases = write_cases(container, school, notes=0)

    # Commands on different cases of one school at the same time: the table lock orders them.
    def work(case_id: UUID) -> None:
        service = CaseService(container.schools.get(school.id), school.id)
        for i in range(10):
            service.handle(CONTACT, AddNote(case_id=case_id, text=f"Tegelijk {i}"))

    threads = [threading.Thread(target=work, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_school(container.pool, school)
    assert report.ok, report.lines()
    assert report.events == 6 + 30


def test_a_big_save_is_chained(container: Container, school: School, database_url: str) -> None:
    app = container.schools.get(school.id)
    with acting_as(CONTACT):
        case = Case.report(school_id=school.id, reporter_kind="staff", summary="Groot")
        for n in range(600):
            case.add_note(text=f"Notitie {n}")
    recordings = app.save(case)
    ids = [r.notification.id for r in recordings]
    assert ids == [r[0] for r in Tables(database_url, school).rows()]
    report = verify_school(container.pool, school)
    assert report.ok, report.lines()
    assert report.events == 601


def test_the_platform_log_is_chained_too(container: Container) -> None:
    new_school(container)
    checkpoint_platform(container.pool)
    report = verify_platform(container.pool)
    assert report.ok, report.lines()
    assert report.events >= 2


def test_a_new_school_is_keyed_from_its_creation(container: Container, school: School) -> None:
    # Position-0 checkpoints mark both chains keyed from the start, inside and outside.
    with container.pool.connection() as conn:
        mine = checkpoints_of(conn, school.schema_name)
    assert {(c.chain, c.position, c.kind) for c in mine} == {
        (EVENTS, 0, "created"),
        (access_log.TABLE, 0, "created"),
    }
    assert all(c.signature and c.key_id == container.audit.signer.key_id for c in mine)
    outside = DirectorySink(container.settings.checkpoint_path).read(school.schema_name)
    assert [(line.record or {}).get("chain") for line in outside] == [EVENTS, access_log.TABLE]


# --- tampering, and `vangnet audit verify` naming it --------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")
    return tmp_path


class Log(Tables):
    """A school with three cases and a checkpoint of its head, and the CLI to verify it."""

    def __init__(
        self, url: str, school: School, cases: list[UUID], capsys: pytest.CaptureFixture[str]
    ) -> None:
        super().__init__(url, school)
        self.cases = cases
        self.capsys = capsys

    def verify(self) -> tuple[int, str]:
        """``vangnet audit verify --school SLUG``: (exit code, what it printed)."""
        self.capsys.readouterr()
        code = main(["audit", "verify", "--school", self.school.slug])
        return code, self.capsys.readouterr().out

    def broken(self) -> str:
        code, out = self.verify()
        assert code == 1, f"tampering went unnoticed:\n{out}"
        assert f"1 of 1 log(s) do not fit their chain or checkpoints: {self.school.slug}" in out
        return out

    def add_note(self, case_id: UUID) -> int:
        """A command after the last checkpoint; returns its notification id."""
        with Container.open(Settings.from_env()) as container:
            service = CaseService(container.schools.get(self.school.id), self.school.id)
            service.handle(CONTACT, AddNote(case_id=case_id, text="Later"))
        return int(self.rows()[-1][0])


@pytest.fixture
def log(cli_env: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Log]:
    with Container.open(Settings.from_env()) as container:
        school = new_school(container)
        cases = write_cases(container, school)
        checkpoint_school(container.pool, school)
    written = Log(database_url, school, cases, capsys)
    written.save()
    yield written
    written.restore()


def test_an_untouched_log_verifies(log: Log) -> None:
    code, out = log.verify()
    assert code == 0, out
    # 2 position-0 checkpoints of the school's creation, 1 of the head after the three cases.
    assert (
        f"{log.school.slug}: intact: 15 events and 0 case reads verified, 3 checkpoint(s) match "
        "(3 of them also outside the database)" in out
    )


def test_1_a_changed_byte_is_named(log: Log) -> None:
    nid, oid, version = log.rows()[6]
    log.sql(
        "UPDATE {events} SET state = set_byte(state, 20, (get_byte(state, 20) + 1) %% 256) "
        "WHERE notification_id = %s",
        nid,
    )
    out = log.broken()
    assert f"event #{nid} (case {oid}, version {version}) does not match the chain" in out
    assert "its encrypted state does not belong to it" in out
    assert "6 events before it verified" in out


def test_2_a_deleted_event_is_named(log: Log) -> None:
    nid = log.rows()[4][0]
    log.sql("DELETE FROM {events} WHERE notification_id = %s", nid)
    assert f"event #{nid} is missing from the log" in log.broken()


def test_2b_a_deleted_event_and_its_link_break_the_next_link(log: Log) -> None:
    rows = log.rows()
    nid = rows[4][0]
    log.sql("DELETE FROM {events} WHERE notification_id = %s", nid)
    log.sql("DELETE FROM {chain} WHERE notification_id = %s", nid)
    after, oid, version = rows[5]
    assert f"event #{after} (case {oid}, version {version}) does not match the chain" in (
        log.broken()
    )


def test_3_an_inserted_event_is_named(log: Log) -> None:
    # A forged event: a copy of a real one under a new version of the same case.
    nid, oid, version = log.rows()[-1]
    log.sql(
        "INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version + 1, topic, state FROM {events} "
        "WHERE notification_id = %s",
        nid,
    )
    new_nid = log.rows()[-1][0]
    assert f"event #{new_nid} (case {oid}, version {version + 1}) is not in the chain" in (
        log.broken()
    )


def test_4_a_moved_event_is_named(log: Log) -> None:
    # Renumbered to the end of the log, with its link moved along.
    rows = log.rows()
    nid = rows[5][0]
    for table in ("events", "chain"):
        log.sql(
            f"UPDATE {{{table}}} SET notification_id = notification_id + 1000 "
            "WHERE notification_id = %s",
            nid,
        )
    # The event after the gap no longer follows the link before it.
    after, oid, version = rows[6]
    assert f"event #{after} (case {oid}, version {version}) does not match the chain" in (
        log.broken()
    )


def test_4b_an_event_moved_to_another_case_is_named(log: Log) -> None:
    nid = log.rows()[3][0]  # a note of the first case ...
    other = log.cases[1]  # ... moved to the second case, after its last version
    log.sql(
        "UPDATE {events} SET originator_id = %s, originator_version = 99 "
        "WHERE notification_id = %s",
        other,
        nid,
    )
    out = log.broken()
    assert f"event #{nid} (case {other}, version 99) does not match the chain" in out
    assert "its encrypted state does not belong to it" in out


def test_5_two_swapped_rows_are_named(log: Log) -> None:
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
    _, oid, version = rows[2]
    out = log.broken()
    assert f"event #{first} (case {oid}, version {version}) does not match the chain" in out
    assert "its encrypted state does not belong to it" in out


def test_6_an_event_rewritten_after_the_last_checkpoint_is_named(log: Log) -> None:
    # An event after the last checkpoint (no checkpoint covers it) ...
    case_id = log.cases[0]
    nid = log.add_note(case_id)
    version = int(log.rows()[-1][2])
    # ... rewritten with another note's valid ciphertext, and its link recomputed.
    log.sql("UPDATE {events} SET state = %s WHERE notification_id = %s", log.state(case_id, 3), nid)
    log.forge_links(nid, UNKEYED)
    out = log.broken()
    assert f"event #{nid} (case {case_id}, version {version}) does not match the chain" in out
    assert "15 events before it verified" in out


def test_7_a_rewrite_with_the_checkpoints_hash_rewritten_too_is_named(log: Log) -> None:
    head = int(log.rows()[-1][0])
    nid, oid, version = log.rows()[7]
    log.sql("UPDATE {events} SET state = state || '\\x00'::bytea WHERE notification_id = %s", nid)
    log.forge_links(nid, guessed_key)
    (new_head,) = log.sql("SELECT hash FROM {chain} WHERE notification_id = %s", head)[0]
    log.sql(
        "UPDATE {checkpoints} SET hash = %s WHERE log = %s AND position = %s",
        new_head,
        log.schema,
        head,
    )
    out = log.broken()
    assert f"event #{nid} (case {oid}, version {version}) does not match the chain" in out
    assert f"casework_events checkpoint #{head} of " in out
    assert (
        "in the database: its signature does not verify: it was forged, or changed after it "
        "was signed" in out
    )


def test_8_the_newest_event_cut_with_its_checkpoint_is_named(log: Log) -> None:
    head = int(log.rows()[-1][0])
    log.sql("DELETE FROM {events} WHERE notification_id = %s", head)
    log.sql("DELETE FROM {chain} WHERE notification_id = %s", head)
    log.sql("DELETE FROM {checkpoints} WHERE log = %s AND position = %s", log.schema, head)
    out = log.broken()
    # The chain alone is consistent (a shorter log); the outside copy still knows the head.
    assert "does not match the chain" not in out
    assert f"casework_events checkpoint #{head} of " in out
    assert "is in the outside copy" in out
    assert "but missing from the database: it was deleted there" in out
    assert f"casework_events ends at #{head - 1}, but the checkpoint of " in out
    assert f"recorded its head at #{head}: entries at the end were removed" in out


@pytest.mark.parametrize("linker", [UNKEYED, guessed_key], ids=["unkeyed", "guessed-key"])
def test_9_an_event_appended_at_the_head_with_a_link_is_named(log: Log, linker: Linker) -> None:
    nid, oid, version = log.rows()[-1]
    log.sql(
        "INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version + 1, topic, state FROM {events} "
        "WHERE notification_id = %s",
        nid,
    )
    new_nid = int(log.rows()[-1][0])
    log.forge_links(new_nid, linker)
    out = log.broken()
    assert f"event #{new_nid} (case {oid}, version {version + 1}) does not match the chain" in out
    assert "15 events before it verified" in out


def test_10_another_cases_ciphertext_copied_in_is_named(log: Log) -> None:
    # Case 0's intake replaced by case 1's (same event type), chain recomputed as before.
    target, source = log.cases[:2]
    nid = next(r[0] for r in log.rows() if r[1] == target and r[2] == 2)
    log.sql("UPDATE {events} SET state = %s WHERE notification_id = %s", log.state(source, 2), nid)
    log.forge_links(nid, UNKEYED)
    out = log.broken()
    assert f"event #{nid} (case {target}, version 2) does not match the chain" in out
    assert "its encrypted state does not belong to it" in out


def test_a_deleted_access_log_entry_is_named(log: Log) -> None:
    with Container.open(Settings.from_env()) as container, container.pool.connection() as conn:
        for _ in range(3):
            access_log.record_case_read(
                conn, log.schema, log.cases[0], "test-auditor", "auditor",
                access_log.ReadKind.EXPORT,
            )  # fmt: skip
    first = log.sql("SELECT min(id) FROM {reads}")[0][0]
    log.sql("DELETE FROM {reads} WHERE id = %s", first)
    out = log.broken()
    assert f"case read #{first + 1} (case {log.cases[0]}) does not match the chain" in out


# --- the checkpoints and their outside copy -----------------------------------------------


def test_an_altered_outside_copy_is_named(log: Log, cli_env: Path) -> None:
    path = cli_env / "checkpoints" / f"{log.schema}.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[-1])
    record["position"] += 1  # claims a longer log than there was
    lines[-1] = json.dumps(record)
    path.write_text("\n".join([*lines, "{not json"]) + "\n")
    out = log.broken()
    assert f"the outside copy {path}, line {len(lines)} (casework_events " in out
    assert "its signature does not verify" in out
    assert f"the outside copy {path}, line {len(lines) + 1}, is not a checkpoint record" in out


def test_the_checkpoint_sweep_records_moved_heads_only_inside_and_outside(
    container: Container, school: School
) -> None:
    write_cases(container, school, cases=1, notes=1)
    sink = DirectorySink(container.settings.checkpoint_path)
    before = len(sink.read(school.schema_name))
    checkpoint_sweep(container)
    with container.pool.connection() as conn:
        mine = [c for c in checkpoints_of(conn, school.schema_name) if c.kind == "checkpoint"]
    head = max(c.position for c in mine)
    assert [(c.chain, c.kind) for c in mine] == [(EVENTS, "checkpoint")]
    assert len(sink.read(school.schema_name)) == before + 1
    checkpoint_sweep(container)  # nothing moved: nothing recorded
    assert len(sink.read(school.schema_name)) == before + 1
    last = sink.read(school.schema_name)[-1].record
    assert last is not None
    assert (last["chain"], last["position"]) == (EVENTS, head)


def test_the_in_process_worker_takes_checkpoints(container: Container, school: School) -> None:
    # Embedded mode and the demo run no `vangnet worker`: their in-process worker checkpoints.
    write_cases(container, school, cases=1, notes=0)
    sink = DirectorySink(container.settings.checkpoint_path)
    worker = start_inprocess_worker(container, checkpoints=True)
    try:
        sweeper = worker.sweepers[0]
        for _ in range(600):
            if sweeper.runs:
                break
            threading.Event().wait(0.05)
        assert sweeper.runs >= 1
    finally:
        worker.stop()
    kinds = [(line.record or {}).get("kind") for line in sink.read(school.schema_name)]
    assert kinds == ["created", "created", "checkpoint"]


# --- a tampered event read through the API and the pages ----------------------------------


def test_a_tampered_event_is_an_integrity_error_with_an_alert(
    container: Container, database_url: str
) -> None:
    world = make_world(container, "chain-api")
    school = world.school_a
    cases = write_cases(container, school, cases=2, notes=1)
    catch_up_school(container, school.id)
    issuer = FakeIssuer(f"https://idp.test/{school.slug}", "vangnet-api")
    configure_fake_login(container, school, issuer)
    tables = Tables(database_url, school)
    target, source = cases
    with web_client(container, http_transport=Issuers(issuer).transport) as client:
        before = _integrity_alerts(client.get("/metrics", headers=SCRAPE).text)
        # Another case's intake copied over this one's (the projections had seen it already).
        original = tables.state(target, 2)
        tables.sql(
            "UPDATE {events} SET state = %s WHERE originator_id = %s AND originator_version = 2",
            tables.state(source, 2),
            target,
        )
        try:
            # The auditor's history replays the log: a clear integrity error, not a generic 500.
            r = client.get(
                f"/api/cases/{target}/history", headers=bearer(issuer, school, Role.AUDITOR)
            )
            assert r.status_code == 500
            problem = r.json()
            assert problem["code"] == "integrity_error"
            assert problem["title"] == "integrity error"
            assert f"(case {target}, version 2) fails its integrity check" in problem["detail"]
            # A command loads the case from the log: the same answer, nothing stored.
            r = client.post(
                f"/api/cases/{target}/add-note",
                headers=bearer(issuer, school, Role.CONTACT_PERSON),
                json={"text": "Fictieve notitie"},
            )
            assert r.status_code == 500
            assert r.json()["code"] == "integrity_error"
            # The history page answers in Dutch.
            log_in(client, principal(school, Role.AUDITOR))
            page = client.get(f"/zaken/{target}/geschiedenis")
            assert page.status_code == 500
            assert "buiten Vangnet om gewijzigd of beschadigd" in page.text
            assert "integrity_error" in page.text
            # An alert metric counts them (no ids in it).
            assert _integrity_alerts(client.get("/metrics", headers=SCRAPE).text) == before + 3
            with pytest.raises(IntegrityViolation):
                container.schools.get(school.id).get_case(target, school.id)
        finally:
            tables.sql(
                "UPDATE {events} SET state = %s WHERE originator_id = %s "
                "AND originator_version = 2",
                original,
                target,
            )
        assert (
            client.get(
                f"/api/cases/{target}/history", headers=bearer(issuer, school, Role.AUDITOR)
            ).status_code
            == 200
        )


def test_a_deleted_event_is_an_integrity_error_too(container: Container, database_url: str) -> None:
    world = make_world(container, "chain-gap")
    school = world.school_a
    (case_id,) = write_cases(container, school, cases=1, notes=2)
    catch_up_school(container, school.id)
    issuer = FakeIssuer(f"https://idp.test/{school.slug}", "vangnet-api")
    configure_fake_login(container, school, issuer)
    tables = Tables(database_url, school)
    tables.save()
    # The intake deleted, with its link: the case's history has a hole.
    tables.sql("DELETE FROM {events} WHERE originator_id = %s AND originator_version = 2", case_id)
    try:
        with web_client(container, http_transport=Issuers(issuer).transport) as client:
            r = client.get(
                f"/api/cases/{case_id}/history", headers=bearer(issuer, school, Role.AUDITOR)
            )
            assert r.status_code == 500
            assert r.json()["code"] == "integrity_error"
            assert "version 2 is missing" in r.json()["detail"]
            r = client.post(
                f"/api/cases/{case_id}/add-note",
                headers=bearer(issuer, school, Role.CONTACT_PERSON),
                json={"text": "Fictieve notitie"},
            )
            assert r.status_code == 500
            assert r.json()["code"] == "integrity_error"
    finally:
        tables.restore()


SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def _integrity_alerts(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("vangnet_integrity_errors_total "):
            return float(line.split()[1])
    return 0.0


# --- the command ---------------------------------------------------------------------------


@pytest.mark.usefixtures("cli_env")
def test_vangnet_audit_checkpoint_and_verify(capsys: pytest.CaptureFixture[str]) -> None:
    with Container.open(Settings.from_env()) as container:
        school = new_school(container, "cli-chain")
        write_cases(container, school, cases=2, notes=1)
    assert main(["audit", "checkpoint", "--school", school.slug]) == 0
    out = capsys.readouterr().out
    assert f"{school.slug}: casework_events #" in out
    assert "1 checkpoint(s) recorded, signed, in the database and in " in out
    assert main(["audit", "verify", "--school", school.slug]) == 0
    out = capsys.readouterr().out
    assert (
        f"{school.slug}: intact: 6 events and 0 case reads verified, 3 checkpoint(s) match" in out
    )
    # (--all would also see the schools other tests tampered with in this shared database.)
    assert main(["audit", "checkpoint", "--platform"]) == 0
    assert main(["audit", "verify", "--platform"]) == 0
    assert "platform: intact" in capsys.readouterr().out
