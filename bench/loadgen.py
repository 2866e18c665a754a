"""The load generator: its own process, async HTTP (httpx), one latency per request.

Run by the benchmark as ``python -m bench.loadgen TASK.json RESULT.json``. A task is one of:

``report``
    ``per_school`` new reports (``POST /api/cases``) at every school, ``concurrency`` at once;
    returns the new case ids per school.
``closed``
    closed loop: ``concurrency`` clients each send ``add-note`` to a random case of a random
    school, back to back, for ``warmup`` + ``seconds``; only requests that start and end in the
    measured window count.
``open``
    open loop: requests start at a fixed ``rate`` (at most ``max_outstanding`` in flight);
    latency counts from the moment a request was *due*, so a server that falls behind is not
    flattered by the client waiting for it (no coordinated omission).
``touch``
    one report at every school (tenant scale: every school active once).

Projection lag (``closed`` and ``open``): up to ``probes`` answered commands at a time are
followed on the read side: the probe polls the case view (``<schema>.cases.version``, what the
case page reads) every ``poll_ms`` (backing off to a tenth of the lag so far, at most 100 ms)
until it shows the version the command answered with. Lag is
measured from the moment the answer arrived (the commit happened before it; so this is a lower
bound, and ``lag_from_send`` — from the moment the request was sent — an upper bound).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from bench.stats import Latency
from projections.db import connect_kwargs

NOTE = {"text": "Benchmark: gesprek gevoerd met de mentor, afspraken voor volgende week."}
REPORT = {"reporter_kind": "parent", "summary": "Benchmark: melding (fictief) over buitensluiten."}
PROBE_TIMEOUT = 60.0


@dataclass
class School:
    slug: str
    schema: str
    token: str
    case_ids: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Vangnet-School": self.slug}


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    lag: list[float] = field(default_factory=list)
    lag_from_send: list[float] = field(default_factory=list)
    lag_timeouts: int = 0
    created: dict[str, list[str]] = field(default_factory=dict)

    def status(self, code: int | str) -> None:
        self.statuses[str(code)] = self.statuses.get(str(code), 0) + 1


class Probes:
    """Follows answered commands on the read side, at most ``size`` at a time."""

    def __init__(self, pool: asyncpg.Pool | None, size: int, poll: float) -> None:
        self.pool = pool
        self.free = size if pool is not None else 0
        self.poll = poll
        self.tasks: set[asyncio.Task[None]] = set()

    def offer(
        self,
        outcome: Outcome,
        school: School,
        case_id: str,
        version: int,
        sent: float,
        answered: float,
    ) -> None:
        if self.free <= 0:
            return
        self.free -= 1
        task = asyncio.create_task(self._follow(outcome, school, case_id, version, sent, answered))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _follow(
        self,
        outcome: Outcome,
        school: School,
        case_id: str,
        version: int,
        sent: float,
        answered: float,
    ) -> None:
        assert self.pool is not None
        query = f'SELECT version FROM "{school.schema}".cases WHERE case_id = $1'
        try:
            async with self.pool.acquire() as conn:
                while True:
                    seen = await conn.fetchval(query, UUID(case_id))
                    now = time.perf_counter()
                    if seen is not None and seen >= version:
                        outcome.lag.append(now - answered)
                        outcome.lag_from_send.append(now - sent)
                        return
                    waited = now - answered
                    if waited > PROBE_TIMEOUT:
                        outcome.lag_timeouts += 1
                        return
                    # Poll often while the lag is short, then back off: the resolution stays
                    # within ~10% of the lag and the probes do not load the database.
                    await asyncio.sleep(min(max(self.poll, waited / 10), 0.1))
        finally:
            self.free += 1

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


async def _send(
    client: httpx.AsyncClient, school: School, path: str, body: dict[str, Any]
) -> httpx.Response:
    """POST once; once more on a fresh connection when the server closed a kept-alive one just
    as it was reused (a race of uvicorn's keep-alive timer that a loaded host makes likely: it
    ended a full run in its set-up). Any other failure, or a second one, is raised."""
    try:
        return await client.post(path, json=body, headers=school.headers)
    except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
        return await client.post(path, json=body, headers=school.headers)


async def task_report(
    client: httpx.AsyncClient, schools: list[School], per_school: int, concurrency: int
) -> Outcome:
    outcome = Outcome()
    jobs = [school for school in schools for _ in range(per_school)]
    queue: asyncio.Queue[School] = asyncio.Queue()
    for school in jobs:
        queue.put_nowait(school)

    async def worker() -> None:
        while not queue.empty():
            school = queue.get_nowait()
            started = time.perf_counter()
            response = await _send(client, school, "/api/cases", REPORT)
            outcome.latencies.append(time.perf_counter() - started)
            outcome.status(response.status_code)
            if response.status_code == 201:
                outcome.created.setdefault(school.slug, []).append(response.json()["case_id"])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcome


async def _add_note(
    client: httpx.AsyncClient, rng: random.Random, schools: list[School]
) -> tuple[School, str, httpx.Response]:
    school = rng.choice(schools)
    case_id = rng.choice(school.case_ids)
    response = await _send(client, school, f"/api/cases/{case_id}/add-note", NOTE)
    return school, case_id, response


async def task_closed(
    client: httpx.AsyncClient,
    schools: list[School],
    probes: Probes,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Outcome:
    outcome = Outcome()
    began = time.perf_counter()
    measure_from, measure_to = began + warmup, began + warmup + seconds

    async def worker(i: int) -> None:
        rng = random.Random(1000 + i)
        while True:
            sent = time.perf_counter()
            if sent >= measure_to:
                return
            school, case_id, response = await _add_note(client, rng, schools)
            answered = time.perf_counter()
            if not measure_from <= sent or answered > measure_to:
                continue
            outcome.status(response.status_code)
            if response.status_code != 200:
                continue
            outcome.latencies.append(answered - sent)
            probes.offer(outcome, school, case_id, int(response.json()["version"]), sent, answered)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    await probes.drain()
    return outcome


async def task_open(
    client: httpx.AsyncClient,
    schools: list[School],
    probes: Probes,
    *,
    rate: float,
    seconds: float,
    warmup: float,
    max_outstanding: int,
) -> Outcome:
    outcome = Outcome()
    rng = random.Random(7)
    slots = asyncio.Semaphore(max_outstanding)
    began = time.perf_counter()
    measure_from, measure_to = began + warmup, began + warmup + seconds
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        try:
            school, case_id, response = await _add_note(client, rng, schools)
            answered = time.perf_counter()
            if due < measure_from:
                return
            outcome.status(response.status_code)
            if response.status_code != 200:
                return
            outcome.latencies.append(answered - due)
            probes.offer(outcome, school, case_id, int(response.json()["version"]), due, answered)
        finally:
            slots.release()

    n = 0
    while True:
        due = began + n / rate
        if due >= measure_to:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        await asyncio.gather(*list(tasks))
    await probes.drain()
    outcome.statuses["scheduled_in_window"] = sum(
        1 for i in range(n) if began + i / rate >= measure_from
    )
    return outcome


async def run(task: dict[str, Any]) -> dict[str, Any]:
    schools = [School(**s) for s in task["schools"]]
    kind = task["kind"]
    concurrency = int(task.get("concurrency") or task.get("max_outstanding") or 1)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    pool = None
    if task.get("lag_dsn") and kind in ("closed", "open") and int(task.get("probes", 4)) > 0:
        probes_n = int(task.get("probes", 4))
        pool = await asyncpg.create_pool(
            min_size=probes_n, max_size=probes_n, **connect_kwargs(task["lag_dsn"])
        )
    probes = Probes(pool, int(task.get("probes", 4)), float(task.get("poll_ms", 5)) / 1000)
    cpu_before = os.times()
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(
            base_url=task["base_url"], limits=limits, timeout=httpx.Timeout(60.0)
        ) as client:
            if kind == "report":
                outcome = await task_report(client, schools, int(task["per_school"]), concurrency)
            elif kind == "touch":
                outcome = await task_report(client, schools, 1, concurrency)
            elif kind == "closed":
                outcome = await task_closed(
                    client,
                    schools,
                    probes,
                    concurrency=concurrency,
                    seconds=float(task["seconds"]),
                    warmup=float(task["warmup"]),
                )
            elif kind == "open":
                outcome = await task_open(
                    client,
                    schools,
                    probes,
                    rate=float(task["rate"]),
                    seconds=float(task["seconds"]),
                    warmup=float(task["warmup"]),
                    max_outstanding=concurrency,
                )
            else:
                msg = f"unknown task kind {kind!r}"
                raise ValueError(msg)
    finally:
        if pool is not None:
            await pool.close()
    elapsed = time.perf_counter() - started
    cpu_after = os.times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return {
        "kind": kind,
        "latency": Latency.of(outcome.latencies).as_json(),
        "completed": len(outcome.latencies),
        "statuses": outcome.statuses,
        "lag": Latency.of(outcome.lag).as_json(),
        "lag_from_send": Latency.of(outcome.lag_from_send).as_json(),
        "lag_timeouts": outcome.lag_timeouts,
        "created": outcome.created,
        "elapsed_s": elapsed,
        "loadgen_cpu_s": cpu,
    }


def main(argv: list[str]) -> int:
    task = json.loads(Path(argv[0]).read_text())
    result = asyncio.run(run(task))
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
