"""Tenant scale: thousands of schools; resident memory and connections of web and worker.

Schools are provisioned the product's way until ``scale_schools`` exist, each with its board's
login; then every school receives one authenticated report over HTTP (so the web process has
resolved, and the worker caught up, every school at least once), and we wait for the views to
catch up. Memory is ``VmRSS`` (now) and ``VmHWM`` (peak) from ``/proc/<pid>/status``;
connections are counted in ``pg_stat_activity`` by ``application_name`` (each process is given
its own), sampled every half second for the whole web run (:class:`Sampler`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench.commands import Web, configure_login, loadgen_schools, wait_caught_up
from bench.database import count_connections
from bench.issuer import Issuer
from bench.processes import Started
from bench.provision import provision
from infra.bootstrap.container import Container
from tenants.registry import School


class Sampler:
    """Samples memory of the processes and connections per application, every ``interval``."""

    def __init__(self, conninfo: str, processes: list[Started], interval: float = 0.5) -> None:
        self.conninfo = conninfo
        self.processes = processes
        self.interval = interval
        self.max_connections: dict[str, int] = {}
        self.max_rss: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        try:
            for name, n in count_connections(self.conninfo).items():
                self.max_connections[name] = max(n, self.max_connections.get(name, 0))
        except psycopg.Error:
            pass
        for p in self.processes:
            rss = p.memory()["rss_mb"]
            if not math.isnan(rss):
                self.max_rss[p.name] = max(rss, self.max_rss.get(p.name, 0.0))

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


@dataclass
class ScaleResult:
    schools: int
    provisioned: int
    provision_per_s: float
    touch: dict[str, Any]
    caught_up: bool
    catch_up_s: float
    database_mb: float
    relations: int
    processes: dict[str, dict[str, float]] = field(default_factory=dict)
    connections_now: dict[str, int] = field(default_factory=dict)
    connections_max: dict[str, int] = field(default_factory=dict)
    pool_bound: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "schools": self.schools,
            "provisioned_here": self.provisioned,
            "provision_per_s": self.provision_per_s,
            "touch": self.touch,
            "caught_up": self.caught_up,
            "catch_up_s": self.catch_up_s,
            "database_mb": self.database_mb,
            "relations": self.relations,
            "processes": self.processes,
            "connections_now": self.connections_now,
            "connections_max": self.connections_max,
            "pool_bound": self.pool_bound,
        }


def run_scale(
    container: Container,
    web: Web,
    issuer: Issuer,
    sampler: Sampler,
    *,
    total: int,
    app_names: dict[str, str],
    pool_bound: dict[str, int],
    say: Callable[[str], None],
) -> ScaleResult:
    existing = len(container.registry.list_schools())
    missing = max(0, total - existing)
    began = time.perf_counter()

    def progress(n: int) -> None:
        if n % 500 == 0:
            say(f"  provisioned {n}/{missing}")

    new = provision(container, "scale", missing, progress=progress).schools
    # Every school gets its board's login (the bare library's and the audit school had none).
    configure_login(
        container, issuer, [s for s in container.registry.list_schools() if s.login is None]
    )
    provision_s = time.perf_counter() - began
    say(f"  {len(new)} schools provisioned with their login ({len(new) / provision_s:.0f}/s)")
    schools: list[School] = container.registry.list_schools()
    touch = web.loadgen(
        {"kind": "touch", "schools": loadgen_schools(container, issuer, schools), "concurrency": 8}
    )
    say(
        f"  one report at each of {len(schools)} schools "
        f"({touch['completed'] / touch['elapsed_s']:.0f}/s); waiting for the views"
    )
    caught_up, waited = wait_caught_up(container, schools, timeout=300)
    sampler.sample()
    with container.pool.connection() as conn:
        size = conn.execute("SELECT pg_database_size(current_database()) AS b").fetchone()
        rels = conn.execute("SELECT count(*) AS n FROM pg_class").fetchone()
    now = count_connections(container.settings.database_url or "")
    return ScaleResult(
        schools=len(schools),
        provisioned=len(new),
        provision_per_s=len(new) / provision_s if provision_s else 0.0,
        touch={
            "completed": touch["completed"],
            "statuses": touch["statuses"],
            "latency": touch["latency"],
        },
        caught_up=caught_up,
        catch_up_s=waited,
        database_mb=int(size["b"]) / 1024 / 1024 if size else 0.0,
        relations=int(rels["n"]) if rels else 0,
        processes={
            p.name: {**p.memory(), "max_sampled_rss_mb": sampler.max_rss.get(p.name, 0.0)}
            for p in web.processes()
        },
        connections_now={role: now.get(app, 0) for role, app in app_names.items()},
        connections_max={
            role: sampler.max_connections.get(app, 0) for role, app in app_names.items()
        },
        pool_bound=pool_bound,
    )
