"""Rebuild: events per second rebuilding every projection from the logs, beside a raw read.

Over the same schools and the same rows, each pass on one connection of the shared pool, in
batches of the engine's ``BATCH_SIZE`` ordered by notification id:

``raw``
    ``SELECT notification_id, originator_id, originator_version, topic, state`` and nothing else
    (the rows arrive in Python; no decryption) — the floor any rebuild stands on;
``decode``
    the raw read plus turning every row into a domain event (AES-GCM decryption, JSON, the
    event object): what a rebuild must do before any view sees an event;
``rebuild``
    ``infra.bootstrap.views.rebuild_school`` with every view (beside the live tables, then switch).

A warm-up raw read goes first, so every pass reads from the same (warm) cache. A per-view
rebuild of a sample of the schools shows where a rebuild's time goes.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from infra.bootstrap.container import Container
from infra.bootstrap.views import ensure_school_views, rebuild_school
from projections.engine import BATCH_SIZE, EVENTS_TABLE
from projections.views import ALL_VIEWS
from tenants.registry import School

READ = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
    "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
)


@dataclass(frozen=True)
class RebuildResult:
    schools: int
    events: int
    raw_per_s: float
    decode_per_s: float
    rebuild_per_s: float
    per_view_per_s: dict[str, float]
    per_view_sample_events: int
    event_types: dict[str, int]
    #: The largest school alone (events, raw rows/s, rebuild events/s): the per-event rate
    #: without the fixed per-school cost (creating, switching and dropping its view tables).
    largest: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.rebuild_per_s / self.raw_per_s if self.raw_per_s else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "schools": self.schools,
            "events": self.events,
            "raw_rows_per_s": self.raw_per_s,
            "decode_events_per_s": self.decode_per_s,
            "rebuild_events_per_s": self.rebuild_per_s,
            "rebuild_over_raw": self.ratio,
            "per_view_events_per_s": self.per_view_per_s,
            "per_view_sample_events": self.per_view_sample_events,
            "event_types": self.event_types,
            "largest_school": self.largest,
        }


def _read_all(container: Container, school: School, *, decode: bool) -> tuple[int, Counter[str]]:
    query = SQL(READ).format(Identifier(school.schema_name, EVENTS_TABLE))
    app = container.schools.get(school.id) if decode else None
    kinds: Counter[str] = Counter()
    n = 0
    after = 0
    with container.pool.connection() as conn:
        while True:
            rows = conn.execute(query, (after, BATCH_SIZE)).fetchall()
            n += len(rows)
            if app is not None:
                for r in rows:
                    event = app.mapper.to_domain_event(
                        StoredEvent(
                            originator_id=r["originator_id"],
                            originator_version=r["originator_version"],
                            topic=r["topic"],
                            state=bytes(r["state"]),
                        )
                    )
                    kinds[type(event).__name__] += 1
            if len(rows) < BATCH_SIZE:
                return n, kinds
            after = int(rows[-1]["notification_id"])


def _timed(fn: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - began


def run_rebuild(container: Container, schools: list[School], sample_events: int) -> RebuildResult:
    for school in schools:
        ensure_school_views(container, school.id)  # DDL is not part of a rebuild's rate
    for school in schools:
        _read_all(container, school, decode=False)  # warm the cache for every pass alike

    raw, raw_s = _timed(lambda: sum(_read_all(container, s, decode=False)[0] for s in schools))
    kinds: Counter[str] = Counter()

    def decode_all() -> int:
        total = 0
        for s in schools:
            n, k = _read_all(container, s, decode=True)
            total += n
            kinds.update(k)
        return total

    decoded, decode_s = _timed(decode_all)
    rebuilt, rebuild_s = _timed(lambda: sum(rebuild_school(container, s.id) for s in schools))

    counts = [(s, _read_all(container, s, decode=False)[0]) for s in schools]
    biggest, biggest_n = max(counts, key=lambda sc: sc[1])
    _, big_raw_s = _timed(lambda: _read_all(container, biggest, decode=False))
    _, big_rebuild_s = _timed(lambda: rebuild_school(container, biggest.id))
    largest = {
        "events": float(biggest_n),
        "raw_rows_per_s": biggest_n / big_raw_s if big_raw_s else 0.0,
        "rebuild_events_per_s": biggest_n / big_rebuild_s if big_rebuild_s else 0.0,
    }
    sample: list[School] = []
    sample_n = 0
    for school, count in counts:
        if sample_n >= sample_events:
            break
        sample.append(school)
        sample_n += count
    per_view: dict[str, float] = {}
    for view in ALL_VIEWS:
        n, seconds = _timed(
            lambda v=view: sum(rebuild_school(container, s.id, [v]) for s in sample)
        )
        per_view[view.name] = n / seconds if seconds else 0.0
    return RebuildResult(
        schools=len(schools),
        events=rebuilt,
        raw_per_s=raw / raw_s if raw_s else 0.0,
        decode_per_s=decoded / decode_s if decode_s else 0.0,
        rebuild_per_s=rebuilt / rebuild_s if rebuild_s else 0.0,
        per_view_per_s=per_view,
        per_view_sample_events=sample_n,
        event_types=dict(kinds),
        largest=largest,
    )
