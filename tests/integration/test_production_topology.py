"""The production topology, without containers: every process as an operator runs it.

Real PostgreSQL (a fresh database), RabbitMQ (``VANGNET_TEST_RABBITMQ_URL``, a queue namespace
of this test's own), the npm ``oidc-provider`` (``tests/e2e/idp``) as every school's identity
provider, an SMTP sink (aiosmtpd), two web processes on two ports (``vangnet serve --workers
2`` and ``vangnet serve``) and two ``vangnet worker`` processes, all sharing one checkpoint
directory. The story:

1. a contact person gets an access token from the identity provider (code flow with PKCE);
2. the case journey, each request to the other web process in turn: reports, intakes,
   aftercare due tomorrow; every e-mail this calls for (a new report, an aftercare reminder)
   arrives;
3. a worker is SIGKILLed in the middle of a job: a catch-up of a school with thousands of events
   (seen in ``pg_stat_activity`` inside its transaction); the broker hands the job to the other
   worker;
4. a web process is SIGKILLed with commands in flight: a command that got no answer is sent
   again to the other process (it may then be stored twice: it was never acknowledged); a
   command that got an answer is never sent again;
5. the journey goes on to closing on the surviving web process.

Then: every acknowledged command's event is in the log; the views converge and equal a rebuild
(``vangnet projections verify --all`` exits 0) with one timeline row per event; the audit trail
verifies (``vangnet audit verify --all``, checkpoints written by both workers); every due e-mail
arrived exactly once; the surviving processes still answer their health checks, and ``/metrics``
of the two-worker web process counts the requests of both its workers.

Without RabbitMQ, Node.js or PostgreSQL the test is skipped with the reason, and fails in CI.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from eventsourcing.utils import get_topic
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from bench.processes import Started, free_port, start
from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.web.context import today
from infra.entrypoints.worker.broker import queue_name
from projections.engine import head, positions
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.people.domain import Person
from services.shared.actor import SYSTEM, Actor, acting_as
from tenants.login import ClaimRule, validate_login
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY, TEST_MASTER_KEY_B64
from tests.integration.test_notifications import Inbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
IDP_DIR = ROOT / "tests" / "e2e" / "idp"
API_AUDIENCE = "urn:vangnet:api"
CLIENT_ID = "vangnet-topology"
#: Test-only client secret of the test identity provider (opens nothing else).
CLIENT_SECRET = "vangnet-topology-client-secret-for-tests-only"
USER = {
    "sub": "topo-contact-person",
    "name": "Test Aanspreekpunt Topologie",
    "email": "aanspreekpunt@topologie.example",
    "email_verified": True,
    "groups": ["vangnet-contact_person"],
}
CONTACTS = ["aanspreekpunt@topologie.example"]
METRICS_TOKEN = "topology-metrics-token-" + "x" * 16
JOURNEY_CASES = 6
BIG_CASES, BIG_EVENTS_PER_CASE = 60, 100  # 6,000 events: a catch-up of several batches
BOOT_TIMEOUT = 90.0
CONVERGE_TIMEOUT = 180.0


# --- what this test needs, or the reason it cannot run ------------------------------------------


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"production-topology test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"production-topology test needs {reason}")


def rabbitmq_url() -> str:
    url = os.environ.get("VANGNET_TEST_RABBITMQ_URL")
    if not url:
        unavailable("VANGNET_TEST_RABBITMQ_URL (RabbitMQ)")
    assert url is not None
    import pika
    from pika.exceptions import AMQPError

    try:
        params = pika.URLParameters(url)
        params.socket_timeout = 3
        pika.BlockingConnection(params).close()
    except AMQPError as e:
        unavailable(f"RabbitMQ at VANGNET_TEST_RABBITMQ_URL (unreachable: {type(e).__name__})")
    return url


def node_and_idp() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm on PATH (the test identity provider)")
    assert node is not None
    assert npm is not None
    if not (IDP_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=IDP_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            unavailable(f"npm ci in tests/e2e/idp to succeed:\n{done.stderr[-2000:]}")
    return node


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:
    """A database of this test's own: ``verify --all`` must see only this test's schools."""
    name = f"vangnet_topology_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    try:
        yield make_conninfo(database_url, dbname=name)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))


@pytest.fixture
def sink() -> Iterator[Inbox]:
    handler = Inbox()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def idp_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The npm oidc-provider; yields its issuer and the redirect URIs it accepts (set below)."""
    import json

    node = node_and_idp()
    redirect_uris = [f"http://127.0.0.1:{free_port()}/auth/callback"]
    config = {
        "api_audience": API_AUDIENCE,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
            }
        ],
        "users": [USER],
    }
    (tmp_path / "idp.json").write_text(json.dumps(config))
    log = (tmp_path / "idp.log").open("w")
    process = subprocess.Popen(
        [node, "server.mjs", str(tmp_path / "idp.json"), "--port", "0"],
        cwd=IDP_DIR,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("READY "):
        process.kill()
        pytest.fail(f"test IdP did not start: {(tmp_path / 'idp.log').read_text()}")
    try:
        yield first.removeprefix("READY "), redirect_uris
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
        log.close()


# --- the identity provider's code flow, without a browser ---------------------------------------


def access_token(issuer: str, redirect_uri: str) -> str:
    """The contact person's access token: authorization code flow with PKCE (``login_hint``
    logs the test user in), the redirect to the app intercepted, the code exchanged."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": "openid profile email groups",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": USER["sub"],
    }
    url = f"{issuer}/auth?{urlencode(params)}"
    with httpx.Client(timeout=10) as client:
        for _ in range(10):
            response = client.get(url)
            assert response.is_redirect, (response.status_code, response.text[:300])
            url = urljoin(url, response.headers["location"])
            if url.startswith(redirect_uri):
                code = parse_qs(urlsplit(url).query)["code"][0]
                break
        else:
            pytest.fail("the identity provider never redirected back to the app")
        tokens = client.post(
            f"{issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["access_token"]
    return token


# --- the processes ------------------------------------------------------------------------------


@dataclass
class Topology:
    database_url: str
    env: dict[str, str]
    tmp: Path
    processes: dict[str, Started] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start_web(self, name: str, workers: int) -> None:
        port = free_port()
        self.ports[name] = port
        env = {
            **self.env,
            "VANGNET_PORT": str(port),
            "DATABASE_URL": self._dsn(name),
            "VANGNET_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        self.processes[name] = start(
            name, ["-m", "infra.entrypoints.cli", "serve", "--workers", str(workers)], env, self.tmp
        )

    def start_worker(self, name: str) -> None:
        port = free_port()
        self.ports[name] = port
        env = {**self.env, "VANGNET_WORKER_HEALTH_PORT": str(port), "DATABASE_URL": self._dsn(name)}
        self.processes[name] = start(
            name, ["-m", "infra.entrypoints.cli", "worker", "--threads", "2"], env, self.tmp
        )

    def _dsn(self, name: str) -> str:
        # pg_stat_activity tells the processes apart by their application name.
        return make_conninfo(self.database_url, application_name=f"topo-{name}")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def wait_ready(self, name: str) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            process = self.processes[name]
            assert process.alive(), f"{name} exited:\n{process.log_tail(60)}"
            try:
                if httpx.get(self.url(name) + "/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{name} not ready:\n{self.processes[name].log_tail(60)}")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "DATABASE_URL": self.database_url}
        return subprocess.run(
            [sys.executable, "-m", "infra.entrypoints.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{p.log_tail(40)}" for n, p in self.processes.items())

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def process_env(
    tmp: Path, *, broker: str, namespace: str, smtp_port: int, issuer_secret: str
) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV")
    return {
        **{k: v for k, v in os.environ.items() if k in keep},
        "VANGNET_MASTER_KEY": TEST_MASTER_KEY_B64,
        "VANGNET_SECRET_KEY": base64.b64encode(bytes(range(64, 96))).decode(),
        "VANGNET_DATA_DIR": str(tmp / "data"),
        "VANGNET_CHECKPOINT_DIR": str(tmp / "checkpoints"),
        "VANGNET_CHECKPOINT_SECONDS": "3",  # both workers append checkpoints during the run
        "VANGNET_HOST": "127.0.0.1",
        "BROKER_URL": broker,
        "VANGNET_QUEUE_NAMESPACE": namespace,
        "VANGNET_SWEEP_SECONDS": "600",  # convergence here comes from the jobs, not the sweep
        "VANGNET_MAIL_SWEEP_SECONDS": "2",
        "VANGNET_JOB_MIN_BACKOFF_MS": "200",
        "VANGNET_JOB_MAX_BACKOFF_MS": "2000",
        "VANGNET_SMTP_HOST": "127.0.0.1",
        "VANGNET_SMTP_PORT": str(smtp_port),
        "VANGNET_SMTP_TLS": "none",
        "VANGNET_MAIL_FROM": "vangnet@topologie.example",
        "VANGNET_LOOPBACK_ISSUERS": "1",  # the test identity provider is on 127.0.0.1
        "VANGNET_IDP_SECRET_TOPO": issuer_secret,
        "VANGNET_TRUSTED_PROXIES": "127.0.0.1",
        "VANGNET_METRICS_TOKEN": METRICS_TOKEN,
        "VANGNET_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


def provision(settings: Settings, issuer: str) -> tuple[School, School]:
    """The journey's school (mail contacts) and a big one; both log in at the test IdP."""
    with Container.open(settings) as container:
        board = container.create_board("Topologie Stichting Proef")
        schools = []
        for name in ("Topologie Basisschool De Reis", "Topologie Grote School"):
            school = container.create_school(board.slug, name)
            login = validate_login(
                issuer=issuer,
                client_id=CLIENT_ID,
                secret_ref="env:VANGNET_IDP_SECRET_TOPO",
                policy=settings.login_policy,
                api_audience=API_AUDIENCE,
                scopes=("openid", "profile", "email", "groups"),
                rules=[ClaimRule("group", "vangnet-contact_person", Role.CONTACT_PERSON)],
            )
            container.registry.configure_login(
                school.id, login, policy=settings.login_policy, actor=SYSTEM
            )
            schools.append(container.registry.school(school.id))
        container.registry.configure_contacts(
            schools[0].id,
            contact_person_emails=CONTACTS,
            coordinator_emails=CONTACTS,
            management_emails=CONTACTS,
            board_emails=CONTACTS,
        )
        return schools[0], schools[1]


def seed_big_school(settings: Settings, school: School) -> int:
    """Thousands of events written straight through the library: no hint reaches a worker."""
    with Container.open(settings, provision_platform=False) as container:
        app: CaseworkApplication = container.schools.get(school.id)
        with acting_as(Actor("topo-seed", Role.CONTACT_PERSON)):
            for n in range(BIG_CASES):
                case = Case.report(school_id=school.id, reporter_kind="staff", summary="Fictief.")
                for i in range(BIG_EVENTS_PER_CASE - 1):
                    case.add_note(text=f"Fictieve notitie {n}-{i}.")
                app.save_case(case)
    return BIG_CASES * BIG_EVENTS_PER_CASE


# --- the client: alternating web processes, retrying only what was never answered ---------------


@dataclass
class Acknowledged:
    case_id: str
    kind: str
    marker: str = ""


@dataclass
class Client:
    topology: Topology
    token: str
    webs: list[str]
    acknowledged: list[Acknowledged] = field(default_factory=list)
    unanswered: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    #: Per web process, the commands (and reports) it answered.
    answered: Counter[str] = field(default_factory=Counter)
    cases: list[str] = field(default_factory=list)
    turn: int = 0

    def headers(self, school: School) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Vangnet-School": school.slug}

    async def send(
        self, http: httpx.AsyncClient, school: School, path: str, body: dict[str, Any]
    ) -> httpx.Response:
        """POST to the next web process; on no answer at all, to the next one (the command
        was not acknowledged, so sending it again is the client's right)."""
        for _ in range(len(self.webs) * 3):
            web = self.webs[self.turn % len(self.webs)]
            self.turn += 1
            try:
                response = await http.post(
                    self.topology.url(web) + path, json=body, headers=self.headers(school)
                )
                self.answered[web] += 1
                return response
            except httpx.ConnectError:
                self.refused[web] += 1  # nothing reached the process: not even sent
            except httpx.TransportError:
                self.unanswered[web] += 1  # sent, but no answer: maybe stored, never acked
            if not self.topology.processes[web].alive() and web in self.webs:
                self.webs.remove(web)
        pytest.fail(f"no web process answered {path}:\n{self.topology.logs()}")

    async def command(
        self,
        http: httpx.AsyncClient,
        school: School,
        case_id: str,
        action: str,
        body: dict[str, Any],
        *,
        marker: str = "",
    ) -> None:
        response = await self.send(http, school, f"/api/cases/{case_id}/{action}", body)
        assert response.status_code == 200, (action, response.status_code, response.text)
        self.acknowledged.append(Acknowledged(case_id, action, marker))

    async def report(self, http: httpx.AsyncClient, school: School) -> str:
        body = {"reporter_kind": "parent", "summary": "Fictieve melding over de reis."}
        response = await self.send(http, school, "/api/cases", body)
        assert response.status_code == 201, response.text
        case_id: str = response.json()["case_id"]
        self.acknowledged.append(Acknowledged(case_id, "report"))
        return case_id


# --- checks ---------------------------------------------------------------------------------------


def wait_for(what: str, check: Callable[[], bool], topology: Topology, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}:\n{topology.logs()}")


def views_at_head(database_url: str, school: School) -> bool:
    with psycopg.connect(database_url) as conn:
        log_head = head(conn, school.schema_name)  # type: ignore[arg-type]
        now = positions(conn, school.schema_name)  # type: ignore[arg-type]
    return bool(now) and all(p >= log_head for p in now.values())


def busy_workers(conn: psycopg.Connection[Any], school: School) -> list[str]:
    """Workers inside a catch-up transaction of ``school``: reading its events or writing its
    case view (the mail sweep, which also touches the school, does neither)."""
    rows = conn.execute(
        "SELECT DISTINCT application_name FROM pg_stat_activity "
        "WHERE application_name LIKE 'topo-worker-%%' AND xact_start IS NOT NULL "
        "AND position(%s in query) > 0 "
        "AND (position('casework_events' in query) > 0 OR position('case_timeline' in query) > 0)",
        (f'"{school.schema_name}"',),
    ).fetchall()
    return sorted(str(r[0]).removeprefix("topo-") for r in rows)


def mails(sink: Inbox, kind: str) -> Counter[str]:
    """Per case id, how many e-mails of a kind (``Nieuwe melding``, ``Herinnering: nazorg``)."""
    found: Counter[str] = Counter()
    for message in sink.messages:
        if kind in message.subject:
            found.update(re.findall(r"/cases/([0-9a-f-]{36})", message.body))
    return found


def events_by_case(settings: Settings, school: School) -> dict[str, list[Any]]:
    """Every case event of the school's log, decrypted, per case id (the staff directory's
    person events share the log and are left out)."""
    out: dict[str, list[Any]] = {}
    with Container.open(settings, provision_platform=False) as container:
        app = container.schools.get(school.id)
        start_id = 1
        while batch := app.recorder.select_notifications(start=start_id, limit=1000):
            for stored in batch:
                event = app.mapper.to_domain_event(stored)
                if isinstance(event, Case.Event):
                    out.setdefault(str(event.originator_id), []).append(event)
            start_id = batch[-1].id + 1
    return out


def timeline_counts(database_url: str, school: School) -> dict[str, tuple[int, int]]:
    """Per case: (timeline rows, the case view's version)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            SQL(
                "SELECT c.case_id::text, (SELECT count(*) FROM {t} t WHERE t.case_id = c.case_id),"
                " c.version FROM {c} c"
            ).format(
                t=Identifier(school.schema_name, "case_timeline"),
                c=Identifier(school.schema_name, "cases"),
            )
        ).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def cleanup_queues(url: str, namespace: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    for queue in ("projections", "mail"):
        base = queue_name(namespace, queue)
        for name in (base, f"{base}.DQ", f"{base}.XQ"):
            channel.queue_delete(queue=name)
    connection.close()


# --- the test -----------------------------------------------------------------------------------


def test_production_topology_survives_killed_processes(
    fresh_database: str, sink: Inbox, idp_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    broker = rabbitmq_url()
    issuer, redirect_uris = idp_server
    namespace = f"topo{uuid.uuid4().hex[:10]}"
    settings = Settings(
        database_url=fresh_database,
        data_dir=tmp_path / "harness",
        master_key=TEST_MASTER_KEY,
        loopback_issuers=True,
        checkpoint_dir=tmp_path / "checkpoints",
        pool_size=4,
    )
    journey_school, big_school = provision(settings, issuer)
    topology = Topology(
        database_url=fresh_database,
        env=process_env(
            tmp_path,
            broker=broker,
            namespace=namespace,
            smtp_port=sink.port,
            issuer_secret=CLIENT_SECRET,
        ),
        tmp=tmp_path,
    )
    try:
        # The deployment's migration job, then the processes.
        migrated = topology.cli("migrate", "--wait", "10")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert "2 school(s)" in migrated.stdout
        topology.start_web("web-a", workers=2)
        topology.start_web("web-b", workers=1)
        topology.start_worker("worker-1")
        topology.start_worker("worker-2")
        for name in ("web-a", "web-b", "worker-1", "worker-2"):
            topology.wait_ready(name)
        client = asyncio.run(
            journey(topology, settings, journey_school, big_school, sink, issuer, redirect_uris)
        )
        after_the_crashes(client, settings, journey_school, big_school, sink)
    finally:
        topology.stop()
        cleanup_queues(broker, namespace)


async def journey(
    topology: Topology,
    settings: Settings,
    school: School,
    big: School,
    sink: Inbox,
    issuer: str,
    redirect_uris: list[str],
) -> Client:
    # 1. The contact person logs in at the identity provider (code flow, PKCE).
    token = await asyncio.to_thread(access_token, issuer, redirect_uris[0])
    client = Client(topology, token, webs=["web-a", "web-b"])
    day = today()
    async with httpx.AsyncClient(timeout=30) as http:
        # 2. Reports, intakes and aftercare due tomorrow; each request to the other process.
        cases = client.cases = [await client.report(http, school) for _ in range(JOURNEY_CASES)]
        follow_ups = {case_id: str(uuid.uuid4()) for case_id in cases}
        for case_id in cases:
            await client.command(
                http,
                school,
                case_id,
                "hold-intake",
                {"held_on": day.isoformat(), "summary": "Fictief gesprek."},
            )
            await client.command(
                http,
                school,
                case_id,
                "schedule-follow-up",
                {
                    "due_on": (day + timedelta(days=1)).isoformat(),
                    "follow_up_id": follow_ups[case_id],
                },
            )
        # Every e-mail this calls for arrives: a new report and a reminder per case.
        await asyncio.to_thread(
            wait_for,
            "the reports' and reminders' e-mails",
            lambda: (
                set(mails(sink, "Nieuwe melding")) >= set(cases)
                and set(mails(sink, "Herinnering: nazorg")) >= set(cases)
            ),
            topology,
            60.0,
        )

        # 3. A worker dies in the middle of a job: a big school's catch-up. Its events were
        # written without a hint; one command sends the hint, and a worker takes the job.
        seeded = await asyncio.to_thread(seed_big_school, settings, big)
        big_case = await client.report(http, big)
        victim = await asyncio.to_thread(kill_a_busy_worker, topology, big)
        with psycopg.connect(topology.database_url) as conn:
            behind = head(conn, big.schema_name) - min(  # type: ignore[arg-type]
                positions(conn, big.schema_name).values() or [0]  # type: ignore[arg-type]
            )
        assert 0 < behind < seeded + 1, f"{victim} was not killed in the middle of its job"
        print(f"\n{victim} SIGKILLed inside the catch-up, {behind} of {seeded + 1} events to go")
        # The seeded events, the report, and the directory's record of the reporting person
        # (registered just in time at their first request).
        assert seeded + 1 + directory_events(topology, big) == head_of(topology, big)

        # 4. A web process dies with commands in flight; unanswered ones go to the other.
        await notes_while_killing(client, http, school, cases, topology, victim="web-b")
        await client.command(http, big, big_case, "add-note", {"text": "Na de storing."})

        # 5. The journey goes on to closing, on the surviving process.
        for case_id in cases:
            await client.command(
                http,
                school,
                case_id,
                "complete-follow-up",
                {
                    "follow_up_id": follow_ups[case_id],
                    "agreements_kept": True,
                    "bullying_stopped": True,
                    "pupil_feels_safe": True,
                },
            )
            await client.command(
                http,
                school,
                case_id,
                "evaluate",
                {"went_well": "Fictief.", "to_improve": "Fictief."},
            )
            await client.command(http, school, case_id, "close", {"reason": "resolved"})
    return client


def directory_events(topology: Topology, school: School) -> int:
    """How many events of the school's log are the staff directory's (persons, not cases)."""
    with psycopg.connect(topology.database_url) as conn:
        row = conn.execute(
            SQL("SELECT count(*) FROM {} WHERE topic LIKE %s").format(
                Identifier(school.schema_name, "casework_events")
            ),
            (get_topic(Person).split(":")[0] + ":%",),
        ).fetchone()
    assert row is not None
    return int(row[0])


def head_of(topology: Topology, school: School) -> int:
    with psycopg.connect(topology.database_url) as conn:
        return head(conn, school.schema_name)  # type: ignore[arg-type]


def kill_a_busy_worker(topology: Topology, school: School) -> str:
    """SIGKILL the first worker seen inside a catch-up transaction of ``school`` after its
    first batch committed: part of the job is done, a batch is open, the rest is to come."""
    deadline = time.monotonic() + 60.0
    with psycopg.connect(topology.database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            done = min(positions(conn, school.schema_name).values() or [0])  # type: ignore[arg-type]
            busy = busy_workers(conn, school) if done > 0 else []
            if busy:
                victim = busy[0]
                os.kill(topology.processes[victim].pid, signal.SIGKILL)
                topology.processes[victim].process.wait(10)
                return victim
            time.sleep(0.005)
    pytest.fail(f"no worker started the big school's catch-up:\n{topology.logs()}")


async def notes_while_killing(
    client: Client,
    http: httpx.AsyncClient,
    school: School,
    cases: list[str],
    topology: Topology,
    *,
    victim: str,
) -> None:
    """Four clients add notes (each with a marker of its own) to the other process in turn;
    once the victim has requests in flight, it is SIGKILLed."""
    in_flight: Counter[str] = Counter()
    stop = asyncio.Event()
    original_send = client.send

    async def counting_send(
        h: httpx.AsyncClient, s: School, path: str, body: dict[str, Any]
    ) -> httpx.Response:
        web = client.webs[client.turn % len(client.webs)]
        in_flight[web] += 1
        try:
            return await original_send(h, s, path, body)
        finally:
            in_flight[web] -= 1

    client.send = counting_send  # type: ignore[method-assign]

    async def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            marker = f"notitie-{n}-{i}-{uuid.uuid4().hex[:8]}"
            await client.command(
                http,
                school,
                cases[(n + i) % len(cases)],
                "add-note",
                {"text": f"Fictieve notitie {marker}."},
                marker=marker,
            )
            i += 1

    async def killer() -> None:
        await asyncio.sleep(1.5)
        # Best with two requests in flight (one may just be writing its answer).
        patience = time.monotonic() + 2.0
        while in_flight[victim] < 2 and (in_flight[victim] == 0 or time.monotonic() < patience):
            await asyncio.sleep(0.001)
        os.kill(topology.processes[victim].pid, signal.SIGKILL)
        await asyncio.sleep(1.5)  # the writers go on against the survivor
        stop.set()

    await asyncio.gather(killer(), *(writer(n) for n in range(4)))
    client.send = original_send  # type: ignore[method-assign]
    assert not topology.processes[victim].alive()
    assert client.unanswered[victim] >= 1, "no request was in flight when the web process died"
    print(
        f"{victim} SIGKILLed: {client.unanswered[victim]} command(s) unanswered, "
        f"{client.refused[victim]} refused, all sent again to the other process"
    )


def after_the_crashes(
    client: Client, settings: Settings, school: School, big: School, sink: Inbox
) -> None:
    topology, acknowledged, cases = client.topology, client.acknowledged, client.cases

    # Every view catches up on the surviving worker (the killed job was redelivered).
    for s in (school, big):
        wait_for(
            f"{s.slug}'s views to reach its log",
            lambda s=s: views_at_head(topology.database_url, s),
            topology,
            CONVERGE_TIMEOUT,
        )

    # No acknowledged command lost: each one's event is in the log.
    events = events_by_case(settings, school)
    for ack in acknowledged:
        if ack.marker:
            texts = [getattr(e, "text", "") for e in events.get(ack.case_id, [])]
            assert any(ack.marker in t for t in texts), f"acknowledged note lost: {ack}"
    kinds = Counter((case_id, type(e).__name__) for case_id, evs in events.items() for e in evs)
    for case_id in cases:
        for kind in (
            "CaseReported",
            "IntakeHeld",
            "FollowUpScheduled",
            "FollowUpCompleted",
            "CaseEvaluated",
            "CaseClosed",
        ):
            assert kinds[(case_id, kind)] == 1, (case_id, kind)

    # No duplicate view effects: one timeline row per event, the view at the log's version.
    for s in (school, big):
        per_case = events_by_case(settings, s)
        counts = timeline_counts(topology.database_url, s)
        assert set(counts) == set(per_case)
        for case_id, evs in per_case.items():
            assert counts[case_id] == (len(evs), len(evs)), case_id

    # The views equal a rebuild from the events; the audit trail holds (both workers wrote
    # checkpoints to the one directory, at the same time).
    verify = topology.cli("projections", "verify", "--all")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    audit = topology.cli("audit", "verify", "--all")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert list((topology.tmp / "checkpoints").glob("school_*.jsonl"))

    # Every due e-mail exactly once, also after a few more mail sweeps.
    time.sleep(5)
    assert mails(sink, "Nieuwe melding") == Counter(dict.fromkeys(cases, 1))
    assert mails(sink, "Herinnering: nazorg") == Counter(dict.fromkeys(cases, 1))

    # The survivors still answer their probes; the two-worker process's /metrics counts the
    # requests of both its workers (prometheus multi-process mode): exactly those it answered.
    survivors = [n for n, p in topology.processes.items() if p.alive()]
    assert sorted(survivors) in (["web-a", "worker-1"], ["web-a", "worker-2"])
    for name in survivors:
        assert httpx.get(topology.url(name) + "/health/ready", timeout=5).status_code == 200
    metrics = httpx.get(
        topology.url("web-a") + "/metrics",
        timeout=5,
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
    )
    assert metrics.status_code == 200, metrics.text
    served = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.text.splitlines()
        if line.startswith("vangnet_requests_total{")
        and 'method="POST"' in line
        and 'path="/api/cases' in line
    )
    assert served == client.answered["web-a"] > 0, metrics.text
