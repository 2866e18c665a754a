"""The command path over HTTP: real tokens, a separate web process, a separate load generator.

Set-up: ``command_schools`` schools (two boards of 50 in the full run), each with a login
configuration naming its board's tenant of the benchmark's issuer (:mod:`bench.issuer`) and the
rule ``group:bench-contact-persons=contact_person``. The web process (``vangnet serve``) and,
with a broker, the worker process (``vangnet worker``) run as an operator would run them.

Then, measured from the load generator's process (:mod:`bench.loadgen`): reports creating the
cases, closed-loop ``add-note`` at every concurrency level, and an open-loop run at half the
peak throughput; projection lag is probed throughout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg.sql import SQL, Identifier

from bench.issuer import AUDIENCE, CLIENT_ID, GROUP, Issuer
from bench.processes import Started, start_web, start_worker, wait_ready
from bench.stats import Latency, LoadLevel, MachineCpu
from infra.bootstrap.container import Container
from projections.engine import EVENTS_TABLE, POSITIONS
from services.shared.actor import SYSTEM
from tenants.login import parse_rule, validate_login
from tenants.registry import School

RULE = f"group:{GROUP}=contact_person"


def configure_login(
    container: Container,
    issuer: Issuer,
    schools: list[School],
    extra_rules: tuple[str, ...] = (),
) -> None:
    """Every school trusts its board's tenant of ``issuer`` (one tenant per board).

    The issuer runs on 127.0.0.1: the harness's settings allow loopback issuers, and so do the
    web processes' (``VANGNET_LOOPBACK_ISSUERS=1``, :mod:`bench.processes`).
    """
    boards = {b.id: b.slug for b in container.registry.list_boards()}
    policy = container.settings.login_policy
    for school in schools:
        config = validate_login(
            issuer=issuer.url(boards[school.board_id]),
            client_id=CLIENT_ID,
            # Never read: the benchmark only sends access tokens, it does not log in.
            secret_ref="env:VANGNET_IDP_SECRET_BENCH",
            policy=policy,
            api_audience=AUDIENCE,
            rules=[parse_rule(rule) for rule in (RULE, *extra_rules)],
        )
        container.registry.configure_login(school.id, config, policy=policy, actor=SYSTEM)


def loadgen_schools(
    container: Container, issuer: Issuer, schools: list[School]
) -> list[dict[str, Any]]:
    """What the load generator needs per school: slug, schema and a signed access token."""
    boards = {b.id: b.slug for b in container.registry.list_boards()}
    return [
        {
            "slug": s.slug,
            "schema": s.schema_name,
            "token": issuer.token(boards[s.board_id], f"bench-contact-{s.slug}"),
        }
        for s in schools
    ]


@dataclass
class Web:
    """The processes under test and what the load generator needs to reach them."""

    base_url: str
    web: Started
    worker: Started | None
    lag_dsn: str
    tmp: Path
    loadgen_pids: list[int] = field(default_factory=list)

    def processes(self) -> list[Started]:
        return [self.web] + ([self.worker] if self.worker else [])

    def check_alive(self) -> None:
        for p in self.processes():
            if not p.alive():
                msg = f"the {p.name} process exited ({p.process.returncode}):\n{p.log_tail()}"
                raise RuntimeError(msg)

    def settle(self, timeout: float = 300.0, interval: float = 0.5) -> float:
        """Wait until the web (and worker) process use under 10% of a CPU for two intervals in
        a row (a worker backlog has drained); returns the seconds waited (``timeout`` at most).
        """
        began = time.perf_counter()
        last = {p.name: p.cpu_seconds() for p in self.processes()}
        quiet = 0
        while time.perf_counter() - began < timeout and quiet < 2:
            time.sleep(interval)
            now = {p.name: p.cpu_seconds() for p in self.processes()}
            busy = any(now[name] - last[name] > 0.1 * interval for name in now)
            quiet = 0 if busy else quiet + 1
            last = now
        return time.perf_counter() - began

    def loadgen(self, task: dict[str, Any]) -> dict[str, Any]:
        """Run one task in a fresh load-generator process; returns its result."""
        self.check_alive()
        n = len(self.loadgen_pids)
        task_path, result_path = self.tmp / f"task{n}.json", self.tmp / f"result{n}.json"
        task_path.write_text(
            json.dumps({"base_url": self.base_url, "lag_dsn": self.lag_dsn, **task})
        )
        log_path = self.tmp / f"loadgen{n}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.loadgen", str(task_path), str(result_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
            self.loadgen_pids.append(process.pid)
            code = process.wait()
        if code != 0:
            tail = log_path.read_text(errors="replace")[-2000:]
            msg = f"the load generator failed ({code}):\n{tail}"
            raise RuntimeError(msg)
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result


@contextmanager
def running_web(
    env: dict[str, str],
    *,
    port: int,
    broker: bool,
    worker_threads: int,
    lag_dsn: str,
    worker_env: dict[str, str] | None = None,
) -> Iterator[Web]:
    """The web process (and, with a broker, the worker process) until the block ends."""
    with tempfile.TemporaryDirectory(prefix="vangnet-bench-web-") as tmp:
        logs = Path(tmp)
        web = start_web(env, logs)
        worker = None
        try:
            if broker:
                worker = start_worker({**env, **(worker_env or {})}, logs, worker_threads)
            base_url = f"http://127.0.0.1:{port}"
            wait_ready(base_url, web)
            yield Web(base_url=base_url, web=web, worker=worker, lag_dsn=lag_dsn, tmp=logs)
        finally:
            web.stop()
            if worker is not None:
                worker.stop()


def lagging_schools(container: Container, schools: list[School]) -> int:
    """How many of ``schools`` have a view behind the school's log (or no views yet)."""
    lagging = 0
    with container.pool.connection() as conn:
        for school in schools:
            head = conn.execute(
                SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
                    Identifier(school.schema_name, EVENTS_TABLE)
                )
            ).fetchone()
            last = int(next(iter(head.values()))) if head else 0
            if last == 0:
                continue
            exists = conn.execute(
                "SELECT to_regclass(%s) AS t", (f'"{school.schema_name}"."{POSITIONS}"',)
            ).fetchone()
            if exists is None or exists["t"] is None:
                lagging += 1
                continue
            low = conn.execute(
                SQL("SELECT coalesce(min(position), 0) AS p FROM {}").format(
                    Identifier(school.schema_name, POSITIONS)
                )
            ).fetchone()
            if low is None or int(low["p"]) < last:
                lagging += 1
    return lagging


def wait_caught_up(
    container: Container, schools: list[School], timeout: float
) -> tuple[bool, float]:
    """Wait until every school's views have caught up; returns (caught up, seconds waited)."""
    began = time.perf_counter()
    while True:
        if lagging_schools(container, schools) == 0:
            return True, time.perf_counter() - began
        if time.perf_counter() - began > timeout:
            return False, time.perf_counter() - began
        time.sleep(0.25)


@dataclass
class CommandResults:
    seed: dict[str, Any]
    levels: list[LoadLevel]
    half_peak: LoadLevel
    catch_up_wait_s: float


def _level(
    result: dict[str, Any],
    concurrency: int,
    seconds: float,
    busy: float,
    cpu: dict[str, float],
    extra: dict[str, Any] | None = None,
) -> LoadLevel:
    statuses: dict[str, int] = result["statuses"]
    errors = sum(n for code, n in statuses.items() if code not in ("200", "scheduled_in_window"))
    lat = result["latency"]
    return LoadLevel(
        concurrency=concurrency,
        throughput=result["completed"] / seconds,
        latency=Latency(lat["n"], lat["p50_ms"], lat["p99_ms"], lat["mean_ms"], lat["max_ms"]),
        errors=errors,
        machine_busy=busy,
        extra={
            "statuses": statuses,
            "lag": result["lag"],
            "lag_from_send": result["lag_from_send"],
            "lag_timeouts": result["lag_timeouts"],
            "cpu_s": {**cpu, "loadgen": result["loadgen_cpu_s"]},
            "drain_s": result.get("drain_s"),
            **(extra or {}),
        },
    )


def _measure(web: Web, task: dict[str, Any]) -> tuple[dict[str, Any], float, dict[str, float]]:
    """Run ``task``; then wait until web and worker are idle again (their backlog drained), so
    the next run starts from rest. ``drain_s`` in the result says how long that took."""
    before = {p.name: p.cpu_seconds() for p in web.processes()}
    meter = MachineCpu()
    result = web.loadgen(task)
    busy = meter.busy()
    cpu = {p.name: p.cpu_seconds() - before[p.name] for p in web.processes()}
    result["drain_s"] = web.settle()
    return result, busy, cpu


def run_commands(
    container: Container,
    web: Web,
    schools: list[dict[str, Any]],
    school_records: list[School],
    *,
    cases_per_school: int,
    levels: tuple[int, ...],
    seconds: float,
    warmup: float,
    half_peak_seconds: float,
    probes: int,
    say: Callable[[str], None],
) -> CommandResults:
    seed = web.loadgen(
        {
            "kind": "report",
            "schools": schools,
            "per_school": cases_per_school,
            "concurrency": max(levels),
        }
    )
    created: dict[str, list[str]] = seed["created"]
    missing = [s["slug"] for s in schools if not created.get(s["slug"])]
    if missing:
        msg = f"reports failed at {len(missing)} schools (statuses {seed['statuses']})"
        raise RuntimeError(msg)
    for s in schools:
        s["case_ids"] = created[s["slug"]]
    say(
        f"  seeded {sum(len(v) for v in created.values())} cases over HTTP "
        f"({seed['completed'] / seed['elapsed_s']:.0f}/s); waiting for the views"
    )
    caught_up, waited = wait_caught_up(container, school_records, timeout=120)
    if not caught_up:
        say(f"  views still behind after {waited:.0f} s; measuring anyway")

    web.settle()
    results = []
    for concurrency in levels:
        result, busy, cpu = _measure(
            web,
            {
                "kind": "closed",
                "schools": schools,
                "concurrency": concurrency,
                "seconds": seconds,
                "warmup": warmup,
                "probes": probes,
            },
        )
        level = _level(result, concurrency, seconds, busy, cpu)
        say(
            f"  HTTP c={concurrency}: {level.throughput:.0f}/s, p50 {level.latency.p50:.1f} ms, "
            f"p99 {level.latency.p99:.1f} ms, lag p99 {result['lag']['p99_ms']:.0f} ms; "
            f"busy {result['drain_s']:.1f} s after the load stopped"
        )
        results.append(level)

    peak = max(results, key=lambda r: r.throughput)
    rate = max(1.0, peak.throughput / 2)
    outstanding = max(64, 4 * max(levels))
    result, busy, cpu = _measure(
        web,
        {
            "kind": "open",
            "schools": schools,
            "rate": rate,
            "seconds": half_peak_seconds,
            "warmup": warmup,
            "max_outstanding": outstanding,
            "probes": probes,
        },
    )
    half = _level(
        result,
        outstanding,
        half_peak_seconds,
        busy,
        cpu,
        {"target_rate_per_s": rate, "peak_concurrency": peak.concurrency},
    )
    say(
        f"  HTTP open loop at {rate:.0f}/s: p50 {half.latency.p50:.1f} ms, "
        f"p99 {half.latency.p99:.1f} ms, lag p99 {result['lag']['p99_ms']:.0f} ms"
    )
    return CommandResults(
        seed={
            "cases": sum(len(v) for v in created.values()),
            "throughput_per_s": seed["completed"] / seed["elapsed_s"],
            "latency": seed["latency"],
            "statuses": seed["statuses"],
        },
        levels=results,
        half_peak=half,
        catch_up_wait_s=waited,
    )
