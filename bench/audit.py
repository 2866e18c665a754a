"""Audit replay: the state of a 500-event case as of an arbitrary moment.

The case is written through the library (a report and 499 notes, saved at once) with event
times spread over 300 days (the benchmark sets the events' clock; nothing else differs from a
case built over months), then caught up into the views. For ``query_repeats`` random moments
between its first and last event, measured one after another:

``http``
    the product end to end: ``GET /api/cases/{id}/state?as_of=...`` with an auditor's bearer
    token, answered by the web process (which also records the read in the access log);
``service``
    the same in-process: ``CaseReplay.state_as_of`` (reads every event of the case, finds the
    version, then loads that version with ``repository.get(case_id, version=v)`` and turns it
    into the audit document);
``from_log``
    a reference: one pass over the case's events, applying them until the moment (the least
    any replay from the log must do);
``via_timeline``
    a reference: the version from the case view's timeline (one indexed query), then
    ``repository.get(case_id, version=v)``.

The case has no snapshots (see ``CaseworkApplication``), so every way replays from the first
event.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from psycopg.sql import SQL, Identifier

from bench.commands import configure_login
from bench.issuer import Issuer
from bench.provision import CONTACT, provision
from bench.stats import Latency
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from services.access.roles import Role
from services.audit.replay import CaseReplay
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.shared.actor import Actor, acting_as

SPAN = timedelta(days=300)
AUDITORS = "bench-auditors"
AUDITOR = Actor(user_id="bench-auditor", role=Role.AUDITOR)


@contextmanager
def event_clock(start: datetime, step: timedelta) -> Iterator[None]:
    """Case events created inside get timestamps ``start``, ``start + step``, ..."""
    ticks = iter(range(10**9))
    original = Case.Event.__dict__.get("create_timestamp")

    def create_timestamp() -> datetime:
        return start + step * next(ticks)

    Case.Event.create_timestamp = staticmethod(create_timestamp)
    try:
        yield
    finally:
        if original is None:
            del Case.Event.create_timestamp
        else:
            Case.Event.create_timestamp = original


@dataclass(frozen=True)
class AuditResult:
    events: int
    http: Latency
    service: Latency
    from_log: Latency
    via_timeline: Latency

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "http": self.http.as_json(),
            "service": self.service.as_json(),
            "from_log": self.from_log.as_json(),
            "via_timeline": self.via_timeline.as_json(),
        }


def as_of_from_log(app: CaseworkApplication, case_id: UUID, moment: datetime) -> Case | None:
    case: Any = None
    event: Any
    for event in app.events.get(case_id):
        if event.timestamp > moment:
            break
        case = event.mutate(case)
    return case if isinstance(case, Case) else None


def run_audit(
    container: Container, issuer: Issuer, base_url: str, events: int, repeats: int
) -> AuditResult:
    school = provision(container, "audit", 1).schools[0]
    configure_login(container, issuer, [school], extra_rules=(f"group:{AUDITORS}=auditor",))
    board = container.registry.board(school.board_id)
    token = issuer.token(board.slug, "bench-auditor", groups=[AUDITORS])
    app = container.schools.get(school.id)
    start = datetime.now(UTC) - SPAN
    step = SPAN / events
    with event_clock(start, step), acting_as(CONTACT):
        case = Case.report(
            school_id=school.id,
            reporter_kind="staff",
            summary="Benchmark: een lange zaak voor de audit.",
        )
        for n in range(events - 1):
            case.add_note(text=f"Benchmark: notitie {n + 1} in een lange zaak.")
    app.save(case)
    catch_up_school(container, school.id)
    timeline = SQL("SELECT max(version) AS v FROM {} WHERE case_id = %s AND at <= %s").format(
        Identifier(school.schema_name, "case_timeline")
    )
    replay = CaseReplay(app, school.id)
    rng = random.Random(3)
    timings: dict[str, list[float]] = {"http": [], "service": [], "log": [], "timeline": []}
    headers = {"Authorization": f"Bearer {token}", "X-Vangnet-School": school.slug}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        for i in range(repeats + 2):  # the first two are warm-up
            moment = start + (SPAN - step) * rng.random()
            t0 = time.perf_counter()
            response = client.get(
                f"/api/cases/{case.id}/state", params={"as_of": moment.isoformat()}
            )
            t1 = time.perf_counter()
            state = replay.state_as_of(AUDITOR, case.id, moment)
            t2 = time.perf_counter()
            a = as_of_from_log(app, case.id, moment)
            t3 = time.perf_counter()
            with container.pool.connection() as conn:
                row = conn.execute(timeline, (case.id, moment)).fetchone()
            version = int(row["v"]) if row and row["v"] is not None else None
            b = app.repository.get(case.id, version=version) if version else None
            t4 = time.perf_counter()
            if response.status_code != 200:
                msg = f"audit replay over HTTP answered {response.status_code}: {response.text}"
                raise RuntimeError(msg)
            versions = {response.json()["version"], state.version, getattr(a, "version", None),
                        getattr(b, "version", None)}  # fmt: skip
            if len(versions) != 1:
                msg = f"audit replay: the ways disagree about the version ({versions})"
                raise RuntimeError(msg)
            if i >= 2:
                timings["http"].append(t1 - t0)
                timings["service"].append(t2 - t1)
                timings["log"].append(t3 - t2)
                timings["timeline"].append(t4 - t3)
    return AuditResult(
        events=events,
        http=Latency.of(timings["http"]),
        service=Latency.of(timings["service"]),
        from_log=Latency.of(timings["log"]),
        via_timeline=Latency.of(timings["timeline"]),
    )
