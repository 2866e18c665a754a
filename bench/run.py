"""``vangnet bench [--quick] [--json FILE] [--keep] [--broker URL]``: every measurement, one run.

Order (each phase on the same fresh database): pgbench; the bare library; the command path over
HTTP with projection lag (web, worker and load generator in their own processes); audit replay
and tenant scale (same web and worker); rebuild; board statistics. Then the table, the targets, and
optionally the JSON. Exit 0 when every figure was produced (whether or not targets are met), 1
otherwise.

Topology: with a broker (``--broker``, else ``VANGNET_BENCH_BROKER_URL``)
the web process sends catch-up hints to it and a separate ``vangnet worker`` process runs them,
as in production; without one the web process runs the in-process worker (embedded mode), and
the worker's figures are the web process's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import audit, board_stats, commands, library, pgbench, rebuild, report, scale
from bench.config import FULL, QUICK, Scale
from bench.database import BenchDatabase, bench_database, server_description
from bench.issuer import Issuer
from bench.processes import free_port, process_env
from bench.provision import provision
from bench.stats import LoadLevel, machine_description
from infra.bootstrap.container import Container
from infra.bootstrap.views import ensure_school_views
from infra.config.settings import Settings

APP = {
    "harness": "vangnet-bench-harness",
    "web": "vangnet-bench-web",
    "worker": "vangnet-bench-worker",
    "lag": "vangnet-bench-lag",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vangnet bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(quick=args.quick, json_path=args.json, keep=args.keep, broker_url=args.broker)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small and short (under 2 minutes): every figure, values not "
        "comparable with the targets",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="broker for web -> worker hints (default VANGNET_BENCH_BROKER_URL; none: the web "
        "process runs the worker in-process)",
    )


def run(
    *,
    quick: bool = False,
    json_path: Path | None = None,
    keep: bool = False,
    broker_url: str | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    scale_ = QUICK if quick else FULL
    say = say or _say
    broker_url = broker_url or os.environ.get("VANGNET_BENCH_BROKER_URL") or None
    began = time.perf_counter()
    results: dict[str, Any] = {
        "mode": scale_.name,
        "machine": machine_description(),
        "scale": scale_.as_json(),
    }
    say(f"vangnet bench ({scale_.name})")
    try:
        with bench_database(keep=keep) as db:
            results["database"] = {
                **server_description(db.conninfo),
                "embedded": db.embedded,
                "name": db.name,
            }
            say(
                f"database {db.name} ({'embedded' if db.embedded else 'server'}); "
                f"broker: {broker_url or 'none (in-process worker)'}"
            )
            _run_phases(db, scale_, broker_url, results, say)
            if keep:
                say(f"kept database {db.name}")
    finally:
        results["duration_s"] = time.perf_counter() - began
        results["targets"] = report.targets(results)
        results["missing_figures"] = report.missing_figures(results)
        print(report.render(results), flush=True)
        if json_path is not None:
            json_path.write_text(json.dumps(results, indent=2, default=_json_default) + "\n")
            say(f"results written to {json_path}")
    return 1 if results["missing_figures"] else 0


_STARTED = time.perf_counter()


def _say(line: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f}s] {line}", file=sys.stderr, flush=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _run_phases(
    db: BenchDatabase,
    s: Scale,
    broker_url: str | None,
    results: dict[str, Any],
    say: Callable[[str], None],
) -> None:
    results["topology"] = {
        "broker": broker_url.split(":", 1)[0] if broker_url else None,
        "description": (
            "web + `vangnet worker` via the broker"
            if broker_url
            else "web with its in-process worker (no broker)"
        ),
        "pool_size": s.pool_size,
        "worker_threads": s.worker_threads if broker_url else 2,
    }
    with tempfile.TemporaryDirectory(prefix="vangnet-bench-") as tmp:
        settings = Settings(
            database_url=db.with_application(APP["harness"]),
            data_dir=Path(tmp),
            master_key=secrets.token_bytes(32),
            pool_size=s.pool_size,
            loopback_issuers=True,  # the benchmark's identity provider is on 127.0.0.1
        )
        with Container.open(settings) as container, Issuer() as issuer:
            phases = Phases(container, db, issuer, s, broker_url, Path(tmp), results, say)
            try:
                lib_levels, pg_levels = phases.baselines()
                phases.online(lib_levels, pg_levels)
                phases.offline()
            finally:
                if broker_url:
                    _forget_queues(broker_url, phases.namespace)


@dataclass
class Phases:
    container: Container
    db: BenchDatabase
    issuer: Issuer
    s: Scale
    broker_url: str | None
    tmp: Path
    results: dict[str, Any]
    say: Callable[[str], None]
    namespace: str = field(default_factory=lambda: f"vangnetbench{os.getpid()}")

    def baselines(self) -> tuple[list[LoadLevel], list[LoadLevel]]:
        """pgbench and the bare library (no web process yet)."""
        s, say = self.s, self.say
        say("pgbench: one 400-byte row per transaction")
        pg_levels = pgbench.run_pgbench(self.db, s.levels, s.seconds)
        for level in pg_levels:
            say(
                f"  pgbench c={level.concurrency}: {level.throughput:.0f} tps, "
                f"p99 {level.latency.p99:.2f} ms"
            )
        say(f"bare library: load-act-save in-process, {s.command_schools} schools")
        lib_levels = library.run_library(
            self.container,
            schools=s.command_schools,
            cases=s.cases_per_school,
            levels=s.levels,
            seconds=s.seconds,
            warmup=s.warmup,
        )
        for level in lib_levels:
            say(
                f"  library c={level.concurrency}: {level.throughput:.0f}/s, "
                f"p50 {level.latency.p50:.1f} ms, p99 {level.latency.p99:.1f} ms"
            )
        return lib_levels, pg_levels

    def online(self, lib_levels: list[LoadLevel], pg_levels: list[LoadLevel]) -> None:
        """Command path, projection lag, audit replay and tenant scale, with the web running."""
        s, say, db, container = self.s, self.say, self.db, self.container
        say(f"command path over HTTP: {s.command_schools} schools")
        http_schools = provision(container, "http", s.command_schools).schools
        commands.configure_login(container, self.issuer, http_schools)
        port = free_port()
        env = process_env(
            database_url=db.with_application(APP["web"]),
            master_key=container.settings.master_key,
            secret_key=secrets.token_bytes(32),
            port=port,
            pool_size=s.pool_size,
            broker_url=self.broker_url,
            namespace=self.namespace,
            data_dir=self.tmp,
            extra={"VANGNET_WORKER_THREADS": str(s.worker_threads)},
        )
        bound = {"web": 2 * s.pool_size, "worker": s.pool_size}  # web: psycopg + asyncpg pools
        with commands.running_web(
            env,
            port=port,
            broker=self.broker_url is not None,
            worker_threads=s.worker_threads,
            lag_dsn=db.with_application(APP["lag"]),
            worker_env={"DATABASE_URL": db.with_application(APP["worker"])},
        ) as web:
            sampler = scale.Sampler(db.conninfo, web.processes()).start()
            try:
                memory_idle = {p.name: p.memory() for p in web.processes()}
                cmd = commands.run_commands(
                    container,
                    web,
                    commands.loadgen_schools(container, self.issuer, http_schools),
                    http_schools,
                    cases_per_school=s.cases_per_school,
                    levels=s.levels,
                    seconds=s.seconds,
                    warmup=s.warmup,
                    half_peak_seconds=s.half_peak_seconds,
                    probes=s.lag_probes,
                    say=say,
                )
                memory_after_commands = {p.name: p.memory() for p in web.processes()}
                self.results["command_path"] = _command_results(s, cmd, lib_levels, pg_levels)
                self.results["projection_lag"] = _lag_results(cmd)

                say("audit replay")
                au = audit.run_audit(
                    container, self.issuer, web.base_url, s.audit_events, s.query_repeats
                )
                self.results["audit_replay"] = au.as_json()
                say(
                    f"  p99: over HTTP {au.http.p99:.1f} ms, CaseReplay {au.service.p99:.1f} ms, "
                    f"one pass over the log {au.from_log.p99:.1f} ms"
                )

                say(f"tenant scale: {s.scale_schools} schools")
                worker_app = APP["worker"] if self.broker_url else APP["web"]
                sc = scale.run_scale(
                    container,
                    web,
                    self.issuer,
                    sampler,
                    total=s.scale_schools,
                    app_names={"web": APP["web"], "worker": worker_app},
                    pool_bound=bound,
                    say=say,
                )
            finally:
                sampler.stop()
        found = sc.as_json()
        if not self.broker_url:  # the worker runs inside the web process
            found["processes"]["worker"] = {**found["processes"]["web"], "in_process": True}
            bound["worker"] = bound["web"]
        found["memory_idle"] = memory_idle
        found["memory_after_commands"] = memory_after_commands
        found["connections_over_bound"] = {
            role: found["connections_max"].get(role, 0) / bound[role] for role in bound
        }
        found["pool_bound"] = bound
        self.results["tenant_scale"] = found
        say(
            f"  web peak {found['processes']['web']['peak_rss_mb']:.0f} MB; connections max "
            f"{found['connections_max']}"
        )

    def offline(self) -> None:
        """Rebuild and board statistics (the harness alone)."""
        s, say, container = self.s, self.say, self.container
        say("rebuild of every view")
        rich = [
            sch
            for sch in container.registry.list_schools()
            if sch.slug.startswith(("bare-", "http-", "audit-"))
        ]
        sample = 20_000 if s.name == "full" else 2_000
        rb = rebuild.run_rebuild(container, rich, sample_events=sample)
        self.results["rebuild"] = rb.as_json()
        say(f"  {rb.events} events: rebuild {rb.rebuild_per_s:.0f}/s, raw {rb.raw_per_s:.0f}/s")

        say(f"board statistics: {s.stats_schools} schools x {s.stats_cases} cases")
        everyone = sorted(container.registry.list_schools(), key=lambda sch: sch.slug)
        chosen = [sch.id for sch in everyone[: s.stats_schools]]
        ensure_school_views(container, everyone[0].id)  # platform.stats_cases exists
        boards = [chosen[i : i + s.board_size] for i in range(0, len(chosen), s.board_size)]
        bs = board_stats.run_board_stats(
            container,
            self.db.with_application(APP["harness"]),
            boards,
            s.stats_cases,
            s.query_repeats,
        )
        self.results["board_statistics"] = {
            **bs.as_json(),
            "cases_per_school": s.stats_cases,
            "board_size": s.board_size,
        }
        say(
            f"  board totals p99 {bs.board_totals.p99:.1f} ms, all schools "
            f"p99 {bs.all_schools.p99:.1f} ms"
        )


def _command_results(
    s: Scale, cmd: commands.CommandResults, lib: list[LoadLevel], pg: list[LoadLevel]
) -> dict[str, Any]:
    levels = []
    for h, b, p in zip(cmd.levels, lib, pg, strict=True):
        levels.append(
            {
                "concurrency": h.concurrency,
                "http": h.as_json(),
                "library": b.as_json(),
                "pgbench": p.as_json(),
                "http_over_library": h.throughput / b.throughput if b.throughput else None,
                "http_over_pgbench": h.throughput / p.throughput if p.throughput else None,
            }
        )
    http_peak = max(cmd.levels, key=lambda x: x.throughput)
    lib_peak = max(lib, key=lambda x: x.throughput)
    pg_peak = max(pg, key=lambda x: x.throughput)
    return {
        "schools": s.command_schools,
        "cases": s.command_schools * s.cases_per_school,
        "operation": "add-note (load the case, add a note, save)",
        "seed": cmd.seed,
        "levels": levels,
        "peak": {
            "http": {
                "concurrency": http_peak.concurrency,
                "throughput_per_s": http_peak.throughput,
            },
            "library": {
                "concurrency": lib_peak.concurrency,
                "throughput_per_s": lib_peak.throughput,
            },
            "pgbench": {"concurrency": pg_peak.concurrency, "throughput_per_s": pg_peak.throughput},
            "http_over_library": (
                http_peak.throughput / lib_peak.throughput if lib_peak.throughput else None
            ),
        },
        "half_peak": cmd.half_peak.as_json(),
        "views_caught_up_before_load_s": cmd.catch_up_wait_s,
    }


def _lag_results(cmd: commands.CommandResults) -> dict[str, Any]:
    peak = max(cmd.levels, key=lambda x: x.throughput)
    return {
        "measured_from": "the command's answer (commit precedes it); from_send: the request's "
        "start (an upper bound)",
        "per_level": [
            {
                "concurrency": x.concurrency,
                "lag": x.extra["lag"],
                "lag_from_send": x.extra["lag_from_send"],
                "timeouts": x.extra["lag_timeouts"],
                "busy_after_load_s": x.extra["drain_s"],
            }
            for x in cmd.levels
        ],
        "peak": {**peak.extra["lag"], "concurrency": peak.concurrency},
        "half_peak": cmd.half_peak.extra["lag"],
        "half_peak_from_send": cmd.half_peak.extra["lag_from_send"],
        "half_peak_busy_after_load_s": cmd.half_peak.extra["drain_s"],
    }


def _forget_queues(broker_url: str, namespace: str) -> None:
    """Delete this run's queues from a Redis broker (a unique namespace; nothing else)."""
    if not broker_url.startswith(("redis://", "rediss://")):
        return
    try:
        import redis

        client = redis.Redis.from_url(broker_url)
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    except Exception as e:  # best effort: the namespace is unique to this run
        _say(f"could not remove the Redis keys of {namespace}: {type(e).__name__}")


if __name__ == "__main__":
    sys.exit(main())
