"""The bare ``eventsourcing`` library doing the command path's load-act-save, in-process.

What "bare" means here: the library's ``Application`` (``CaseworkApplication`` is a thin
subclass: its name and a date transcoding), its repository and its ``save``, the same ``Case``
aggregate and AES cipher, one application per school in that school's schema — and nothing of
ours around it: no HTTP, no token, no registry lookup, no authorisation, no catch-up hint.

Persistence is the shared-pool module (``infra.adapters.postgres.store``): the library's stock
``eventsourcing.postgres`` gives every application its own pool (at least one connection each),
so 100 schools would need 100+ connections, more than this server's ``max_connections`` allows.
The store keeps the library's recorder semantics (table lock, NOTIFY, notification ids).

The bare run uses its own schools (same count, same cases per school, same operation), so the
web run's projections never see its events.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from bench.provision import CONTACT, provision
from bench.stats import Latency, LoadLevel, MachineCpu
from infra.adapters.schools import build_casework_app
from infra.bootstrap.container import Container
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.shared.actor import acting_as

NOTE = "Benchmark: gesprek gevoerd met de mentor, afspraken gemaakt voor volgende week."
SUMMARY = "Benchmark: melding over buitensluiten in de klas (fictief)."


@dataclass
class SchoolCases:
    school_id: UUID
    app: CaseworkApplication
    case_ids: list[UUID]


def seed(container: Container, prefix: str, schools: int, cases: int) -> list[SchoolCases]:
    """Provision ``schools`` schools with ``cases`` reported cases each (one save per school)."""
    provisioned = provision(container, prefix, schools)
    seeded = []
    for school in provisioned.schools:
        app = build_casework_app(school, container.settings.master_key, container.pool)
        with acting_as(CONTACT):
            new = [
                Case.report(
                    school_id=school.id,
                    reporter_kind="parent",
                    summary=SUMMARY,
                    owner_id=CONTACT.user_id,
                )
                for _ in range(cases)
            ]
        app.save(*new)
        seeded.append(SchoolCases(school.id, app, [c.id for c in new]))
    return seeded


def add_note(target: SchoolCases, case_id: UUID) -> None:
    """Load, act, save: the library's own path (``repository.get`` / method / ``save``)."""
    case: Case = target.app.repository.get(case_id)
    with acting_as(CONTACT):
        case.add_note(text=NOTE)
    target.app.save(case)


def closed_loop(
    operation: Callable[[random.Random], None],
    concurrency: int,
    seconds: float,
    warmup: float,
    *,
    conflicts: tuple[type[BaseException], ...] = (),
) -> LoadLevel:
    """``concurrency`` threads repeating ``operation``; counts what ends in the measured window."""
    began = time.perf_counter()
    measure_from = began + warmup
    measure_to = measure_from + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    failures: list[BaseException] = []
    cpu: list[MachineCpu] = []

    def work(i: int) -> None:
        rng = random.Random(i)
        mine = latencies[i]
        while True:
            start = time.perf_counter()
            if start >= measure_to:
                return
            try:
                operation(rng)
            except conflicts:
                errors[i] += 1
                continue
            except BaseException as e:
                failures.append(e)
                return
            end = time.perf_counter()
            if start >= measure_from and end <= measure_to:
                mine.append(end - start)

    def start_cpu() -> None:
        time.sleep(warmup)
        cpu.append(MachineCpu())

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
    meter = threading.Thread(target=start_cpu, daemon=True)
    meter.start()
    for thread in threads:
        thread.start()
    meter.join()
    time.sleep(max(0.0, measure_to - time.perf_counter()))
    busy = cpu[0].busy()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    done = [x for per_thread in latencies for x in per_thread]
    return LoadLevel(
        concurrency=concurrency,
        throughput=len(done) / seconds,
        latency=Latency.of(done),
        errors=sum(errors),
        machine_busy=busy,
        extra={},
    )


def run_library(
    container: Container,
    *,
    schools: int,
    cases: int,
    levels: tuple[int, ...],
    seconds: float,
    warmup: float,
) -> list[LoadLevel]:
    targets = seed(container, "bare", schools, cases)

    def operation(rng: random.Random) -> None:
        target = rng.choice(targets)
        add_note(target, rng.choice(target.case_ids))

    return [closed_loop(operation, c, seconds, warmup, conflicts=(IntegrityError,)) for c in levels]
