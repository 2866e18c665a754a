"""Which ASGI server runs ``vangnet serve --workers N`` faster here: uvicorn or granian.

``python -m bench.servers [--workers N] [--rounds R] [--seconds S] [--concurrency C]``

One fresh database (:mod:`bench.database`), ``SCHOOLS`` schools with a few cases each, logins
against the benchmark's own issuer (:mod:`bench.issuer`), RabbitMQ (``VANGNET_BENCH_BROKER_URL``
or ``VANGNET_TEST_RABBITMQ_URL``) and one ``vangnet worker``, as in production. Each server
runs the same factory (``infra.entrypoints.web.asgi:app_from_env``) with ``N`` worker processes; the
rounds
alternate the servers (the host is shared and busy, so alternation spreads its noise over both).
Per round, closed loops of ``C`` clients, each for ``S`` seconds after a warm-up:

- ``read``: ``GET /api/cases?limit=20`` (bearer token checked, school resolved, the case view
  read with asyncpg);
- ``command``: ``POST /api/cases/{id}/add-note`` (the write side in a thread, the hint to the
  broker).

granian is not one of Vangnet's dependencies (uvicorn won, README "Operating Vangnet"): to
repeat the comparison, install it into the environment by hand first
(``.tools/bin/uv pip install --python .venv/bin/python granian==2.8.7``), and Debian's ``wrk``
for the load (else an httpx loop in this process, which limits the read figures itself).

It prints, per server and load, the median over rounds of the throughput and of the median and
p99 latency, and the ratio granian / uvicorn. Only 2xx answers count; any other answer is
reported (and the run fails).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.commands import configure_login
from bench.database import bench_database
from bench.issuer import Issuer
from bench.processes import Started, free_port, process_env, start, start_worker, wait_ready
from bench.provision import CONTACT, provision
from bench.stats import percentile
from infra.bootstrap.container import Container
from infra.config.settings import Settings
from services.casework.commands import ReportCase
from services.casework.handlers import CaseService

SCHOOLS = 10
CASES_PER_SCHOOL = 5
FACTORY = "infra.entrypoints.web.asgi:app_from_env"
NOTE = {"text": "Benchmark: gesprek gevoerd (fictief)."}


def server_args(server: str, port: int, workers: int) -> list[str]:
    """The server's own command line for the factory (what ``vangnet serve`` would run)."""
    if server == "uvicorn":
        return ["-m", "uvicorn", "--factory", FACTORY, "--host", "127.0.0.1",
                "--port", str(port), "--workers", str(workers), "--no-access-log",
                "--log-level", "warning"]  # fmt: skip
    return ["-m", "granian", "--interface", "asgi", "--factory", FACTORY, "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-ws",
            "--log-level", "warning"]  # fmt: skip


@dataclass
class Run:
    server: str
    load: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    bad: dict[int, int] = field(default_factory=dict)
    #: Set by wrk runs (its own counts and percentiles).
    rate: float | None = None
    p50: float | None = None
    p99: float | None = None

    @property
    def throughput(self) -> float:
        if self.rate is not None:
            return self.rate
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if q == 0.5 and self.p50 is not None:
            return self.p50
        if q == 0.99 and self.p99 is not None:
            return self.p99
        return percentile(self.latencies, q)


async def closed_loop(
    base_url: str,
    load: str,
    schools: list[dict[str, Any]],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    server: str,
) -> Run:
    run = Run(server=server, load=load, seconds=seconds)
    began = time.perf_counter()
    measure_from, measure_to = began + warmup, began + warmup + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:

        async def one(rng: random.Random) -> int:
            school = rng.choice(schools)
            headers = {
                "Authorization": f"Bearer {school['token']}",
                "X-Vangnet-School": school["slug"],
            }
            if load == "read":
                response = await client.get("/api/cases?limit=20", headers=headers)
            else:
                case_id = rng.choice(school["cases"])
                response = await client.post(
                    f"/api/cases/{case_id}/add-note", json=NOTE, headers=headers
                )
            return response.status_code

        async def client_loop(i: int) -> None:
            rng = random.Random(i)
            while (sent := time.perf_counter()) < measure_to:
                status = await one(rng)
                answered = time.perf_counter()
                if sent < measure_from or answered > measure_to:
                    continue
                if 200 <= status < 300:
                    run.latencies.append(answered - sent)
                else:
                    run.bad[status] = run.bad.get(status, 0) + 1

        await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
    return run


def _show_refusal(base_url: str, school: dict[str, Any]) -> None:
    """One request before the loop: a refusal is printed (the loop only counts statuses)."""
    response = httpx.get(
        base_url + "/api/cases?limit=1",
        headers={"Authorization": f"Bearer {school['token']}", "X-Vangnet-School": school["slug"]},
    )
    if response.status_code >= 300:
        print(f"refused: {response.status_code} {response.text[:300]}")


def wrk_script(load: str, schools: list[dict[str, Any]], path: Path) -> Path:
    """A wrk Lua script cycling through every school (and, for commands, every case)."""
    entries = []
    for school in schools:
        headers = (
            f'{{["Authorization"] = "Bearer {school["token"]}", '
            f'["X-Vangnet-School"] = "{school["slug"]}", '
            '["Content-Type"] = "application/json"}'
        )
        if load == "read":
            entries.append(f'{{"GET", "/api/cases?limit=20", {headers}, nil}}')
        else:
            body = json.dumps(NOTE)
            entries.extend(
                f'{{"POST", "/api/cases/{case}/add-note", {headers}, [[{body}]]}}'
                for case in school["cases"]
            )
    path.write_text(
        "local reqs = {\n  " + ",\n  ".join(entries) + "\n}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #reqs + 1\n"
        "  local r = reqs[i]\n"
        "  return wrk.format(r[1], r[2], r[3], r[4])\n"
        "end\n"
    )
    return path


def _wrk_ms(value: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def wrk_loop(
    base_url: str, load: str, script: Path, *, concurrency: int, seconds: float,
    warmup: float, server: str,
) -> Run:  # fmt: skip
    """Warm up, then one measured wrk run; the latencies are wrk's p50 and p99 (its own
    histogram), so :class:`Run` gets them as a two-point sample."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    base = [wrk, "-t1", f"-c{concurrency}", "-s", str(script), "--latency"]
    for duration in (max(1, int(warmup)), int(seconds)):
        done = subprocess.run(
            [*base, f"-d{duration}s", base_url], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            msg = f"wrk failed ({done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}"
            raise RuntimeError(msg)
    out = done.stdout
    run = Run(server=server, load=load, seconds=seconds)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)\s*$", out, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+([\d.]+[um]?s)\s*$", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+[um]?s)\s*$", out, re.MULTILINE)
    if rate is None or p50 is None or p99 is None:
        msg = f"unexpected wrk output:\n{out}"
        raise RuntimeError(msg)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        run.bad[0] = int(bad.group(1))
    run.rate = float(rate.group(1))
    run.p50, run.p99 = _wrk_ms(p50.group(1)) / 1000, _wrk_ms(p99.group(1)) / 1000
    return run


def seed(container: Container, issuer: Issuer) -> list[dict[str, Any]]:
    schools = provision(container, "srv", SCHOOLS, board_size=SCHOOLS).schools
    configure_login(container, issuer, schools)
    boards = {b.id: b.slug for b in container.registry.list_boards()}
    out = []
    for school in schools:
        service = CaseService(container.schools.get(school.id), school.id)
        cases = [
            str(service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief.")))
            for _ in range(CASES_PER_SCHOOL)
        ]
        token = issuer.token(boards[school.board_id], f"bench-contact-{school.slug}")
        out.append({"slug": school.slug, "token": token, "cases": cases})
    return out


def summarize(runs: Sequence[Run]) -> list[str]:
    lines = [
        f"{'server':8} {'load':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  (median of rounds)"
    ]
    medians: dict[tuple[str, str], tuple[float, float, float]] = {}
    for server in ("uvicorn", "granian"):
        for load in ("read", "command"):
            mine = [r for r in runs if r.server == server and r.load == load]
            if not mine:
                continue
            tput = statistics.median(r.throughput for r in mine)
            p50 = statistics.median(r.percentile(0.5) * 1000 for r in mine)
            p99 = statistics.median(r.percentile(0.99) * 1000 for r in mine)
            medians[(server, load)] = (tput, p50, p99)
            lines.append(f"{server:8} {load:8} {tput:8.1f} {p50:8.1f} {p99:8.1f}")
    for load in ("read", "command"):
        u, g = medians.get(("uvicorn", load)), medians.get(("granian", load))
        if u and g and all(u):
            lines.append(
                f"granian/uvicorn {load}: throughput {g[0] / u[0]:.2f}x, p50 {g[1] / u[1]:.2f}x, "
                f"p99 {g[2] / u[2]:.2f}x"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--client",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load client: wrk (Debian's, if installed; cheap, so the servers get the CPU) "
        "or an httpx loop in this process",
    )
    args = parser.parse_args(argv)
    broker_url = os.environ.get("VANGNET_BENCH_BROKER_URL") or os.environ.get(
        "VANGNET_TEST_RABBITMQ_URL"
    )
    if not broker_url:
        print("set VANGNET_BENCH_BROKER_URL (amqp://...) for the production topology")
        return 2
    runs: list[Run] = []
    with bench_database() as db, tempfile.TemporaryDirectory(prefix="vangnet-servers-") as tmp:
        master, secret = secrets.token_bytes(32), secrets.token_bytes(32)
        settings = Settings(
            database_url=db.conninfo, data_dir=Path(tmp), master_key=master,
            pool_size=4, loopback_issuers=True,
        )  # fmt: skip
        with Container.open(settings) as container, Issuer() as issuer:
            schools = seed(container, issuer)
            namespace = f"srv{secrets.token_hex(4)}"
            port = free_port()

            def env() -> dict[str, str]:
                return process_env(
                    database_url=db.conninfo, master_key=master, secret_key=secret, port=port,
                    pool_size=10, broker_url=broker_url, namespace=namespace,
                    data_dir=Path(tmp) / "data",
                )  # fmt: skip

            worker = start_worker(env(), Path(tmp), threads=4)
            try:
                for n in range(args.rounds):
                    for server in ("uvicorn", "granian") if n % 2 == 0 else ("granian", "uvicorn"):
                        web: Started = start(
                            f"{server}{n}", server_args(server, port, args.workers), env(),
                            Path(tmp),
                        )  # fmt: skip
                        try:
                            wait_ready(f"http://127.0.0.1:{port}", web)
                            for load in ("read", "command"):
                                if load == "read" and n == 0:
                                    _show_refusal(f"http://127.0.0.1:{port}", schools[0])
                                base_url = f"http://127.0.0.1:{port}"
                                if args.client == "wrk":
                                    script = wrk_script(load, schools, Path(tmp) / f"{load}.lua")
                                    run = wrk_loop(
                                        base_url, load, script, concurrency=args.concurrency,
                                        seconds=args.seconds, warmup=args.warmup, server=server,
                                    )  # fmt: skip
                                else:
                                    run = asyncio.run(
                                        closed_loop(
                                            base_url, load, schools,
                                            concurrency=args.concurrency, seconds=args.seconds,
                                            warmup=args.warmup, server=server,
                                        )
                                    )  # fmt: skip
                                runs.append(run)
                                print(
                                    f"round {n} {server:8} {load:8} {run.throughput:7.1f} req/s"
                                    f" p50 {run.percentile(0.5) * 1000:6.1f} ms"
                                    + (f" bad {run.bad}" if run.bad else ""),
                                    flush=True,
                                )
                        finally:
                            web.stop()
            finally:
                worker.stop()
    print("\n".join(summarize(runs)))
    return 1 if any(r.bad for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
