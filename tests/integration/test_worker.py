"""The worker against real PostgreSQL and, where configured, real Redis and RabbitMQ.

Broker servers come from ``VANGNET_TEST_REDIS_URL`` / ``VANGNET_TEST_RABBITMQ_URL``. Unset
locally: those tests are skipped with the reason. With ``CI`` set, an unset or unreachable
server fails the test (a broken CI broker must never become a green run of skipped tests).
Each test uses its own queue namespace, so tests never see each other's messages.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import dramatiq
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from infra.adapters.jobs import SavedNotifier, job_queues, queue_name
from infra.bootstrap import views as school_views
from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from infra.entrypoints.worker.actors import sweep_schools
from infra.entrypoints.worker.broker import setup_broker
from infra.entrypoints.worker.deadletters import list_dead_letters
from infra.entrypoints.worker.inprocess import start_inprocess_worker
from services.access.roles import Role
from services.casework.commands import AddNote, ReportCase
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY, TEST_MASTER_KEY_B64

pytestmark = pytest.mark.integration

CONTACT = Actor("test-cp-worker", Role.CONTACT_PERSON)
ROOT = Path(__file__).resolve().parents[2]


# --- brokers -----------------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"broker unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"broker unavailable: {reason}")


def _redis_url() -> str:
    url = os.environ.get("VANGNET_TEST_REDIS_URL")
    if not url:
        _unavailable("VANGNET_TEST_REDIS_URL is not set")
    assert url is not None
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as e:
        _unavailable(f"Redis at VANGNET_TEST_REDIS_URL unreachable ({type(e).__name__})")
    return url


def _rabbitmq_url() -> str:
    url = os.environ.get("VANGNET_TEST_RABBITMQ_URL")
    if not url:
        _unavailable("VANGNET_TEST_RABBITMQ_URL is not set")
    assert url is not None
    import pika
    from pika.exceptions import AMQPError

    try:
        params = pika.URLParameters(url)
        params.socket_timeout = 3
        pika.BlockingConnection(params).close()
    except AMQPError as e:
        _unavailable(f"RabbitMQ at VANGNET_TEST_RABBITMQ_URL unreachable ({type(e).__name__})")
    return url


def _cleanup(url: str, namespace: str) -> None:
    """Remove this test's queues (RabbitMQ) or keys (Redis)."""
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    base = queue_name(namespace, "projections")
    for name in (base, f"{base}.DQ", f"{base}.XQ"):
        channel.queue_delete(queue=name)
    connection.close()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    return _redis_url() if request.param == "redis" else _rabbitmq_url()


@pytest.fixture
def namespace(broker_url: str) -> Iterator[str]:
    name = f"vt{uuid4().hex[:12]}"
    yield name
    _cleanup(broker_url, name)


# --- a database of its own -------------------------------------------------------------------


@pytest.fixture
def fresh_database_url(database_url: str) -> Iterator[str]:
    """An empty database beside the session one: sweeps and `--all` see only this test's
    schools (the session database may hold a thousand schools of the tenancy tests)."""
    name = f"vangnet_w_{uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    try:
        yield make_conninfo(database_url, dbname=name)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))


@pytest.fixture
def own_container(fresh_database_url: str, tmp_path: Path) -> Iterator[Container]:
    settings = Settings(
        database_url=fresh_database_url,
        data_dir=tmp_path,
        master_key=TEST_MASTER_KEY,
        pool_size=4,
        app_cache_size=16,
    )
    with Container.open(settings) as c:
        yield c


# --- helpers -----------------------------------------------------------------------------------


def _school(container: Container, label: str) -> School:
    slug = f"{label}-{uuid4().hex[:8]}"
    container.create_board(f"Testbestuur {slug}", slug=f"b-{slug}")
    return container.create_school(f"b-{slug}", f"Testschool {slug}", slug=slug)


def _view_count(container: Container, school: School, table: str = "cases") -> int:
    """Rows in a live view table (0 while the table does not exist yet)."""
    with container.pool.connection() as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f"{school.schema_name}.{table}",)).fetchone()
        if row is None or _first(row) is None:
            return 0
        counted = conn.execute(
            SQL("SELECT count(*) FROM {}").format(Identifier(school.schema_name, table))
        ).fetchone()
        return int(_first(counted))


def _first(row: object) -> object:
    if isinstance(row, dict):
        return next(iter(row.values()))
    assert isinstance(row, tuple)
    return row[0]


def _eventually(check: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what or check}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a command's message reaches a worker ------------------------------------------------------


def test_command_message_reaches_worker_which_catches_the_school_up(
    container: Container, broker_url: str, namespace: str
) -> None:
    broker = setup_broker(broker_url, namespace=namespace, min_backoff=10, max_backoff=100)
    worker = start_inprocess_worker(container, broker=broker)
    try:
        school = _school(container, "bericht")
        notifier = SavedNotifier()
        service = CaseService(container.schools.get(school.id), school.id, on_saved=notifier)
        case_id = service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))
        service.handle(CONTACT, AddNote(case_id=case_id, text="Fictieve notitie."))
        assert notifier.sent == 2
        # No sweep runs here: only the messages can bring the views up to date.
        _eventually(
            lambda: _view_count(container, school, "case_timeline") == 2, what="the case view"
        )
        assert _view_count(container, school) == 1
        assert school_views.lag(container, school.id) == 0
    finally:
        worker.stop()
        broker.close()


# --- dead letters ------------------------------------------------------------------------------


def test_failing_job_is_dead_lettered_after_retries_and_listed(
    container: Container,
    broker_url: str,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broker = setup_broker(
        broker_url, namespace=namespace, max_retries=2, min_backoff=10, max_backoff=50
    )
    attempts: list[str] = []

    def always_fails(school_id: str) -> None:
        attempts.append(school_id)
        raise RuntimeError("Leerling Test-01 must never be listed")

    dramatiq.Actor(
        always_fails,
        broker=broker,
        actor_name="test_always_fails",
        queue_name=queue_name(namespace, "projections"),
        priority=0,
        options={},
    )
    worker = start_inprocess_worker(container, broker=broker)
    school_id = str(uuid4())
    try:
        message = broker.get_actor("test_always_fails").send(school_id)
        _eventually(
            lambda: bool(list_dead_letters(broker_url, namespace, job_queues(namespace))),
            what="a dead letter",
        )
    finally:
        worker.stop()
        broker.close()
    assert len(attempts) == 3  # the first attempt and two retries

    [letter] = list_dead_letters(broker_url, namespace, job_queues(namespace))
    assert (letter.actor, letter.message_id, letter.school_id) == (
        "test_always_fails", message.message_id, school_id,
    )  # fmt: skip
    assert letter.error_class == "RuntimeError"
    assert letter.failed_at is not None

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("BROKER_URL", broker_url)
    monkeypatch.setenv("VANGNET_QUEUE_NAMESPACE", namespace)
    assert main(["jobs", "dead-letters"]) == 0
    out = capsys.readouterr().out
    assert "test_always_fails" in out
    assert message.message_id in out
    assert school_id in out
    assert "RuntimeError" in out
    assert "Leerling" not in out
    # For scripts: the same as one JSON document.
    assert main(["jobs", "dead-letters", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [
        (d["actor"], d["message_id"], d["school_id"], d["error_class"])
        for d in listed["dead_letters"]
    ] == [("test_always_fails", message.message_id, school_id, "RuntimeError")]
    # Listing does not consume: the message is still there.
    assert len(list_dead_letters(broker_url, namespace, job_queues(namespace))) == 1


def test_dead_letters_on_the_stub_broker_are_in_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("BROKER_URL", raising=False)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    assert main(["jobs", "dead-letters"]) == 0
    assert "in-process" in capsys.readouterr().out


# --- the broker is down while commands keep coming ---------------------------------------------


@pytest.mark.parametrize(
    "scheme", ["amqp://guest:guest@127.0.0.1:{port}/", "redis://127.0.0.1:{port}/0"]
)
def test_commands_succeed_with_the_broker_down_and_the_sweep_converges(
    own_container: Container, scheme: str
) -> None:
    container = own_container
    setup_broker(scheme.format(port=_free_port()), namespace=f"vt{uuid4().hex[:12]}")
    school = _school(container, "storing")
    notifier = SavedNotifier(cooldown=0.2)
    service = CaseService(container.schools.get(school.id), school.id, on_saved=notifier)
    started = time.monotonic()
    case_ids = []
    for i in range(10):
        case_id = service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))
        service.handle(CONTACT, AddNote(case_id=case_id, text=f"Fictieve notitie {i}."))
        case_ids.append(case_id)
        time.sleep(0.05)
    assert time.monotonic() - started < 10
    assert notifier.sent == 0
    assert notifier.skipped == 20
    assert school_views.lag(container, school.id) == 20

    result = sweep_schools(container)
    assert (result.schools, result.lagging, result.failed) == (1, 1, 0)
    assert school_views.lag(container, school.id) == 0
    assert _view_count(container, school) == 10
    assert school_views.verify_school(container, school.id) == []


# --- in-process worker on the stub broker (embedded mode) --------------------------------------


def test_inprocess_stub_worker_catches_up_from_messages(container: Container) -> None:
    worker = start_inprocess_worker(container)
    try:
        school = _school(container, "ingebed")
        notifier = SavedNotifier()
        service = CaseService(container.schools.get(school.id), school.id, on_saved=notifier)
        for _ in range(3):
            service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief."))
        worker.wait_until_idle()
        assert notifier.sent == 3
        assert _view_count(container, school) == 3
        assert school_views.lag(container, school.id) == 0
    finally:
        worker.stop()


# --- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, fresh_database_url: str, tmp_path: Path) -> Settings:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")
    monkeypatch.delenv("BROKER_URL", raising=False)
    return Settings.from_env()


def _seed(settings: Settings, label: str, cases: int = 3) -> School:
    with Container.open(settings) as container:
        school = _school(container, label)
        service = CaseService(container.schools.get(school.id), school.id)
        for _ in range(cases):
            case_id = service.report(CONTACT, ReportCase(reporter_kind="peer", summary="Fictief."))
            service.handle(CONTACT, AddNote(case_id=case_id, text="Fictieve notitie."))
        return school


def test_projections_cli_verify_detects_corruption_and_rebuild_fixes_it(
    cli_env: Settings, fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    school = _seed(cli_env, "cli")
    assert main(["projections", "catch-up", "--school", school.slug]) == 0
    assert "6 events applied" in capsys.readouterr().out
    assert main(["projections", "status"]) == 0
    assert f"{school.slug}" in capsys.readouterr().out
    assert main(["projections", "verify", "--all"]) == 0
    assert "verified 1 school(s)" in capsys.readouterr().out

    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(
            SQL(
                "UPDATE {} SET status = 'closed' WHERE case_id = (SELECT min(case_id::text)::uuid "
                "FROM {})"
            ).format(
                Identifier(school.schema_name, "cases"), Identifier(school.schema_name, "cases")
            )
        )
    assert main(["projections", "verify", "--all"]) == 1
    out = capsys.readouterr().out
    assert f"{school.slug}: " in out
    assert "case_view.cases" in out

    assert main(["projections", "rebuild", "--all"]) == 0
    captured = capsys.readouterr()
    assert "rebuilt" in captured.out
    assert "events/s" in captured.err
    assert main(["projections", "verify", "--school", school.slug]) == 0
    assert main(["projections", "rebuild", "--school", school.slug, "--view", "nope"]) == 2
    assert main(["projections", "verify", "--school", "bestaat-niet"]) == 2


def test_demo_ends_with_views_populated(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--no-serve"]) == 0
    out = capsys.readouterr().out
    # Every school's case view caught up (today's cases and the seeded history).
    assert len(re.findall(r"case view: \d+ cases, lag 0", out)) == 3


# --- `vangnet worker` as a process -------------------------------------------------------------


def _worker_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL",)}
    env.update(
        DATABASE_URL=database_url,
        VANGNET_MASTER_KEY=TEST_MASTER_KEY_B64,
        VANGNET_DATA_DIR=str(tmp_path),
        VANGNET_POOL_SIZE="3",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def _start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infra.entrypoints.cli", "worker", "--threads", "2", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"worker did not stop on SIGTERM:\n{err[-3000:]}")
    return process.returncode, err


def test_worker_process_sweeps_lagging_schools_and_stops_on_sigterm(
    own_container: Container, fresh_database_url: str, tmp_path: Path
) -> None:
    container = own_container
    school = _school(container, "veger")
    service = CaseService(container.schools.get(school.id), school.id)  # no hints at all
    service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))
    process = _start_worker(
        _worker_env(fresh_database_url, tmp_path, VANGNET_SWEEP_SECONDS="1"),
        "--sweep-seconds",
        "1",
    )
    try:
        _eventually(lambda: _view_count(container, school) == 1, what="the sweep")
        service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))
        _eventually(lambda: _view_count(container, school) == 2, what="the next sweep")
    finally:
        code, err = _stop(process)
    assert code == 0, err[-3000:]
    assert "worker stopped" in err
    assert "Fictief" not in err


def test_worker_process_takes_hints_from_a_real_broker(
    container: Container, broker_url: str, namespace: str, tmp_path: Path
) -> None:
    env = _worker_env(
        database_url=container.settings.database_url or "",
        tmp_path=tmp_path,
        BROKER_URL=broker_url,
        VANGNET_QUEUE_NAMESPACE=namespace,
    )
    process = _start_worker(env, "--no-sweep")
    broker = setup_broker(broker_url, namespace=namespace)
    try:
        school = _school(container, "proces")
        notifier = SavedNotifier()
        service = CaseService(container.schools.get(school.id), school.id, on_saved=notifier)
        service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))
        assert notifier.sent == 1
        _eventually(lambda: _view_count(container, school) == 1, what="the worker process")
    finally:
        broker.close()
        code, err = _stop(process)
    assert code == 0, err[-3000:]
