"""The catch-up and rebuild machinery shared by every view (DESIGN.md §4).

Words used here:

- A **view** is one read model (case view, escalation, board statistics, lessons): its tables and
  how a batch of events changes their rows (:class:`View`).
- A **target** names where a view writes: the school's schema and a table suffix. The live tables
  have no suffix; a rebuild writes ``<table>_next`` beside them, a verification ``<table>_verify``.
- A **position** is the notification id of the last event a view (in a target) has applied, kept
  in ``<school schema>.projection_positions``. It is updated in the same transaction as the
  view's rows, so every event is applied exactly once in effect: a crash rolls back both.

Catching up reads the school's events after the lowest position, in batches (one transaction, one
commit per batch, never one per event), and gives each view the events after its own position.
Events are read from the event table on the same connection, so a catch-up uses one connection.

Views never write anything derived from the clock: replaying the same events gives the same rows,
which is what :func:`verify` checks.

No stored event can stop a school's read side (issue #10): every event is made storable as it is
read (:mod:`projections.storable`: characters PostgreSQL cannot hold are escaped), and an event a
view still cannot apply is isolated and, after bounded retries, quarantined for that view only
(:mod:`projections.quarantine`); the other views, and the view's later events, keep flowing.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import Connection, Cursor
from psycopg.sql import SQL, Identifier

from projections import quarantine
from projections.db import first
from projections.quarantine import Ledger, Undecodable, is_transient
from projections.storable import storable_event
from services.casework.domain import Case

BATCH_SIZE = 1000
POSITIONS = "projection_positions"
EVENTS_TABLE = "casework_events"

Event = DomainEventProtocol[UUID]
Batch = Sequence[tuple[int, Any]]  # (notification id, domain event)


@dataclass(frozen=True)
class Target:
    """Where a view writes for one school: its schema, and '' (live) or a rebuild suffix."""

    school_id: UUID
    schema: str
    suffix: str = ""

    def table(self, name: str) -> Identifier:
        """A school-schema table of this target (``<schema>.<name><suffix>``)."""
        return Identifier(self.schema, name + self.suffix)

    @property
    def is_live(self) -> bool:
        return self.suffix == ""

    def position_key(self, view: View) -> str:
        return view.name + self.suffix

    def with_suffix(self, suffix: str) -> Target:
        return replace(self, suffix=suffix)


Row = dict[str, Any]
RowHandler = Callable[[Row, Any], None]


class Handlers(dict[type, RowHandler]):
    """One handler per event type: how that event changes a view's row.

    ``HANDLERS = Handlers()`` then ``@HANDLERS.on(Case.IntakeHeld)`` above a function
    ``(row, event) -> None``; event types without a handler leave the row unchanged.
    """

    def on(self, event_type: type) -> Callable[[RowHandler], RowHandler]:
        def register(handler: RowHandler) -> RowHandler:
            self[event_type] = handler
            return handler

        return register


class View(ABC):
    """One read model. Subclasses declare their tables and apply batches of events.

    ``school_tables`` live in the school's schema (and are rebuilt beside the live ones under a
    suffix). Views that also keep rows in the shared ``platform`` schema (board statistics)
    stage them in the school schema and override :meth:`switch` and :meth:`compare_rows`.
    """

    name: ClassVar[str]
    #: Table name -> column definitions (SQL, with {table} for the table's identifier).
    school_tables: ClassVar[dict[str, str]]
    #: Whether the rows hold pupil-identifying data, which an erasure purges (:meth:`erase`).
    holds_pupil_data: ClassVar[bool] = False

    def create(self, curs: Cursor[Any], target: Target) -> None:
        for name, ddl in self.school_tables.items():
            curs.execute(SQL(ddl).format(table=target.table(name)))

    def drop(self, curs: Cursor[Any], target: Target) -> None:
        for name in self.school_tables:
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(target.table(name)))

    @abstractmethod
    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        """Apply a batch of events (ascending notification ids) to the target's rows."""

    def erase(self, curs: Cursor[Any], target: Target, case_id: UUID) -> None:  # noqa: B027
        """Erase a case's pupil-identifying data from the target's rows now (views that hold
        such data override this; applying the case's ``ErasureRequested`` event must erase the
        same, so replay equals live)."""

    def erase_pupil(self, curs: Cursor[Any], target: Target, pupil_id: UUID) -> None:  # noqa: B027
        """Erase a register pupil's identifying data (number, name, group) from the target's
        rows in every case now, before their key is destroyed (views that hold such data
        override this; a replay after the key is gone reads the same fields as erased)."""

    def switch(self, curs: Cursor[Any], live: Target, rebuilt: Target) -> None:
        """Replace the live tables by the rebuilt ones (inside the caller's transaction)."""
        self.drop(curs, live)
        for name in self.school_tables:
            curs.execute(
                SQL("ALTER TABLE {} RENAME TO {}").format(
                    rebuilt.table(name), Identifier(name + live.suffix)
                )
            )

    def compare_rows(self, curs: Cursor[Any], live: Target, other: Target) -> list[str]:
        """Differences between two targets' rows, as human-readable lines (empty: equal)."""
        differences = []
        for name in self.school_tables:
            for a, b, label in ((live, other, "only live"), (other, live, "only rebuilt")):
                curs.execute(
                    SQL(
                        "SELECT count(*) FROM (SELECT * FROM {} EXCEPT ALL SELECT * FROM {}) d"
                    ).format(a.table(name), b.table(name))
                )
                row = curs.fetchone()
                count = first(row)
                if count:
                    differences.append(f"{self.name}.{name}: {count} rows {label}")
        return differences


def ensure_positions(curs: Cursor[Any], schema: str) -> None:
    curs.execute(
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (view text PRIMARY KEY, position bigint NOT NULL)"
        ).format(Identifier(schema, POSITIONS))
    )
    quarantine.ensure_tables(curs, schema)


def create_views(conn: Connection[Any], target: Target, views: Sequence[View]) -> None:
    """Create the views' tables and position rows for a target (idempotent)."""
    with conn.transaction(), conn.cursor() as curs:
        create_views_in(curs, target, views)


def _lock_positions(curs: Cursor[Any], target: Target, views: Sequence[View]) -> dict[str, int]:
    curs.execute(
        SQL("SELECT view, position FROM {} WHERE view = ANY(%s) ORDER BY view FOR UPDATE").format(
            Identifier(target.schema, POSITIONS)
        ),
        ([target.position_key(v) for v in views],),
    )
    found = {(r["view"] if isinstance(r, dict) else r[0]): _position(r) for r in curs.fetchall()}
    missing = [v.name for v in views if target.position_key(v) not in found]
    if missing:
        msg = f"views not created in schema {target.schema}: {', '.join(missing)}"
        raise LookupError(msg)
    return {v.name: found[target.position_key(v)] for v in views}


def _position(row: Any) -> int:
    return int(row["position"] if isinstance(row, dict) else row[1])


def for_views(event: Any) -> bool:
    """Whether the case views take this event: a case's (or one that could not be decoded, so
    each view fails on it alone). Other aggregates of the school's log — the staff directory's
    persons — are passed over (their state is kept beside them, :mod:`infra.adapters.people`)."""
    return isinstance(event, Case.Event | Undecodable)


def _read_events(
    curs: Cursor[Any], schema: str, mapper: Mapper[UUID], after: int, limit: int, upto: int | None
) -> list[tuple[int, Any]]:
    """The next events, decoded and made storable. An event the mapper cannot decode (damaged
    bytes, a failed upcast) becomes an :class:`Undecodable` for the views to fail on, alone."""
    query = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s"
    ).format(Identifier(schema, EVENTS_TABLE))
    params: list[Any] = [after]
    if upto is not None:
        query += SQL(" AND notification_id <= %s")
        params.append(upto)
    query += SQL(" ORDER BY notification_id LIMIT %s")
    params.append(limit)
    curs.execute(query, params)
    batch: list[tuple[int, Any]] = []
    for row in curs.fetchall():
        r = row if isinstance(row, dict) else dict(zip(
            ("notification_id", "originator_id", "originator_version", "topic", "state"), row,
            strict=True,
        ))  # fmt: skip
        stored = StoredEvent(
            originator_id=r["originator_id"],
            originator_version=r["originator_version"],
            topic=r["topic"],
            state=bytes(r["state"]),
        )
        try:
            event: Any = storable_event(mapper.to_domain_event(stored))
        except psycopg.Error:
            raise  # a key lookup on this connection failed: about the database, not the event
        except Exception as e:
            event = Undecodable(type(e).__name__)
        batch.append((int(r["notification_id"]), event))
    return batch


def catch_up_batch(
    conn: Connection[Any],
    target: Target,
    mapper: Mapper[UUID],
    views: Sequence[View],
    *,
    batch_size: int = BATCH_SIZE,
    upto: int | None = None,
    after_process: Callable[[], None] | None = None,
) -> int:
    """Apply the next batch of events to the views in one transaction; returns how many events.

    Positions are locked (``FOR UPDATE``) for the transaction, so two workers catching up the
    same school serialise instead of applying an event twice.
    """
    with conn.transaction(), conn.cursor() as curs:
        return _apply_next_batch(curs, target, mapper, views, batch_size, upto, after_process).read


@dataclass(frozen=True)
class _Applied:
    """What one batch did: events read, and the views that stopped before a failing event."""

    read: int
    stalled: frozenset[str] = frozenset()
    #: The batch's events (decoded), for an observer of the catch-up.
    events: Batch = ()


def _attempt(curs: Cursor[Any], work: Callable[[], None]) -> Exception | None:
    """Run ``work`` in a savepoint: ``None`` when it applied, else the (rolled back) error.
    Errors about the database rather than the events are raised (see :mod:`.quarantine`)."""
    try:
        with curs.connection.transaction():
            work()
    except Exception as e:
        if is_transient(e, curs.connection):
            raise
        return e
    return None


def _apply_next_batch(
    curs: Cursor[Any],
    target: Target,
    mapper: Mapper[UUID],
    views: Sequence[View],
    batch_size: int,
    upto: int | None = None,
    after_process: Callable[[], None] | None = None,
) -> _Applied:
    positions_now = _lock_positions(curs, target, views)
    start = min(positions_now.values())
    batch = _read_events(curs, target.schema, mapper, start, batch_size, upto)
    if not batch:
        return _Applied(0)
    last = batch[-1][0]
    work = [
        (v, [(i, e) for i, e in batch if i > positions_now[v.name] and for_views(e)]) for v in views
    ]
    work = [(v, mine) for v, mine in work if mine]
    # Every view passes the whole batch, the events no view applies included (a staff
    # directory change): a log whose newest events are such is caught up, not lagging.
    reached = {v.name: last for v in views if positions_now[v.name] < last}
    stalled: set[str] = set()

    def all_views() -> None:
        for view, mine in work:
            view.process(curs, target, mine)

    undecodable = any(isinstance(e, Undecodable) for _, e in batch)
    if undecodable or _attempt(curs, all_views) is not None:
        # Someone's event cannot be applied: find it, view by view and event by event.
        ledger = Ledger(curs, target.school_id, target.schema, target.suffix,
                        [v.name for v, _ in work], batch[0][0], batch[-1][0])  # fmt: skip
        for view, mine in work:
            passed, stopped = _apply_carefully(curs, target, view, mine, ledger)
            if stopped:
                # Up to the last event it passed (the skipped ones after it are re-read).
                if passed is None:
                    del reached[view.name]
                else:
                    reached[view.name] = passed
                stalled.add(view.name)
    else:
        ledger = None
    if after_process is not None:
        after_process()  # test hook: a crash here must roll back rows and positions together
    # GREATEST: a view that was caught up on its own may already be past this batch.
    forgotten = quarantine.advance(
        curs, target.schema, Identifier(target.schema, POSITIONS), target.suffix, reached
    )
    if target.is_live and (forgotten or (ledger is not None and ledger.changed)):
        quarantine.refresh_health(curs, target.school_id, target.schema)
    return _Applied(len(batch), frozenset(stalled), batch)


def _apply_carefully(
    curs: Cursor[Any], target: Target, view: View, mine: Batch, ledger: Ledger
) -> tuple[int | None, bool]:
    """Apply one view's events, isolating the ones it cannot apply.

    Returns the last event the view passed (applied or quarantined; ``None``: none) and whether
    it stopped before a failing event that is not yet quarantined.
    """
    decodable = not any(isinstance(e, Undecodable) for _, e in mine)
    if decodable and _attempt(curs, partial(view.process, curs, target, mine)) is None:
        return mine[-1][0], False
    passed: int | None = None
    for notification_id, event in mine:
        if isinstance(event, Undecodable):
            error_class = event.error_class
        else:
            error = _attempt(curs, partial(view.process, curs, target, [(notification_id, event)]))
            if error is None:
                passed = notification_id
                continue
            error_class = type(error).__name__
        if ledger.record(view.name, notification_id, error_class):
            passed = notification_id  # quarantined: this view skips it from now on
            continue
        return passed, True
    return passed, False


def catch_up(
    conn: Connection[Any],
    target: Target,
    mapper: Mapper[UUID],
    views: Sequence[View],
    *,
    batch_size: int = BATCH_SIZE,
    upto: int | None = None,
    progress: Callable[[int], None] | None = None,
    observe: Callable[[Batch], None] | None = None,
) -> int:
    """Apply every event not yet applied (up to ``upto``); returns how many events were read.
    ``observe`` is called with each batch's events after its transaction committed.

    A view that stops before a failing event sits out the rest of this run (one attempt per run:
    the next run, e.g. the worker's sweep, tries again), while the other views go on.
    """
    total = 0
    active = list(views)
    while active:
        with conn.transaction(), conn.cursor() as curs:
            applied = _apply_next_batch(curs, target, mapper, active, batch_size, upto)
        total += applied.read
        if progress is not None and applied.read:
            progress(applied.read)
        if observe is not None and applied.events:
            observe(applied.events)
        if applied.read < batch_size:
            break
        active = [v for v in active if v.name not in applied.stalled]
    return total


def head(conn: Connection[Any], schema: str) -> int:
    """The school's last notification id (0 for an empty log)."""
    row = conn.execute(
        SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
            Identifier(schema, EVENTS_TABLE)
        )
    ).fetchone()
    return int(first(row))


def positions(conn: Connection[Any], schema: str) -> dict[str, int]:
    rows = conn.execute(
        SQL("SELECT view, position FROM {}").format(Identifier(schema, POSITIONS))
    ).fetchall()
    return {(r["view"] if isinstance(r, dict) else r[0]): _position(r) for r in rows}


def rebuild(
    conn: Connection[Any],
    live: Target,
    mapper: Mapper[UUID],
    views: Sequence[View],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild views beside the live ones, then switch; readers never see an empty view.

    1. build ``<table>_next`` from the first event, while the live views keep serving and
       catching up (an event a view cannot apply is quarantined for the rebuilt view at once);
    2. in one short transaction: lock the live positions, apply what arrived meanwhile to the
       rebuilt tables, replace the live tables by them and take over their position and their
       failures (so a rebuild clears a quarantine whose event now applies).
    """
    rebuilt = live.with_suffix("_next")
    _drop_target(conn, rebuilt, views)
    create_views(conn, rebuilt, views)
    total = catch_up(conn, rebuilt, mapper, views, batch_size=batch_size, progress=progress)
    with conn.transaction(), conn.cursor() as curs:
        create_views_in(curs, live, views)
        _lock_positions(curs, live, views)
        rest = _catch_up_in(curs, rebuilt, mapper, views, batch_size)
        total += rest
        if progress is not None and rest:
            progress(rest)
        final = _lock_positions(curs, rebuilt, views)
        for view in views:
            view.switch(curs, live, rebuilt)
        table = Identifier(live.schema, POSITIONS)
        for view in views:
            curs.execute(
                SQL("UPDATE {} SET position = %s WHERE view = %s").format(table),
                (final[view.name], live.position_key(view)),
            )
        curs.execute(
            SQL("DELETE FROM {} WHERE view = ANY(%s)").format(table),
            ([rebuilt.position_key(v) for v in views],),
        )
        quarantine.switch(curs, live.schema, [v.name for v in views], rebuilt.suffix)
        quarantine.refresh_health(curs, live.school_id, live.schema)
    return total


def create_views_in(curs: Cursor[Any], target: Target, views: Sequence[View]) -> None:
    # Two processes running CREATE TABLE IF NOT EXISTS for one table at once can collide in
    # PostgreSQL's catalog (unique violation): serialise creation per school schema.
    curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (target.schema,))
    ensure_positions(curs, target.schema)
    for view in views:
        view.create(curs, target)
        curs.execute(
            SQL("INSERT INTO {} (view, position) VALUES (%s, 0) ON CONFLICT DO NOTHING").format(
                Identifier(target.schema, POSITIONS)
            ),
            (target.position_key(view),),
        )


def _catch_up_in(
    curs: Cursor[Any], target: Target, mapper: Mapper[UUID], views: Sequence[View], batch_size: int
) -> int:
    """Catch up inside the caller's transaction (used while the live positions are locked).
    Only rebuilt and scratch targets come here: they quarantine at once, so never stall."""
    total = 0
    while True:
        n = _apply_next_batch(curs, target, mapper, views, batch_size).read
        total += n
        if n < batch_size:
            return total


def _drop_target(conn: Connection[Any], target: Target, views: Sequence[View]) -> None:
    """Remove a (rebuild or scratch) target's tables, positions and failures."""
    with conn.transaction(), conn.cursor() as curs:
        ensure_positions(curs, target.schema)
        for view in views:
            view.drop(curs, target)
        curs.execute(
            SQL("DELETE FROM {} WHERE view = ANY(%s)").format(Identifier(target.schema, POSITIONS)),
            ([target.position_key(v) for v in views],),
        )
        quarantine.drop(curs, target.schema, [v.name for v in views], target.suffix)


def verify(
    conn: Connection[Any], live: Target, mapper: Mapper[UUID], views: Sequence[View]
) -> list[str]:
    """Rebuild into scratch tables and list every difference from the live views, and every
    event a live view has quarantined (the view lacks it: fix the cause, then rebuild).

    The comparison happens with the live positions locked, after bringing the scratch tables to
    exactly the live positions, so a busy school never shows a false difference. The scratch
    replay quarantines what it cannot apply, so a view that skipped the same events compares
    equal; an event quarantined on one side only is a difference.
    """
    scratch = live.with_suffix("_verify")
    _drop_target(conn, scratch, views)
    create_views(conn, scratch, views)
    differences: list[str] = []
    try:
        catch_up(conn, scratch, mapper, views)
        with conn.transaction(), conn.cursor() as curs:
            live_positions = _lock_positions(curs, live, views)
            for view in views:
                _catch_up_in(curs, scratch, mapper, [view], BATCH_SIZE)
                scratch_position = _lock_positions(curs, scratch, [view])[view.name]
                if scratch_position != live_positions[view.name]:
                    differences.append(
                        f"{view.name}: live view is at event {live_positions[view.name]}, "
                        f"the log at {scratch_position} (run a catch-up)"
                    )
                    continue
                differences.extend(view.compare_rows(curs, live, scratch))
            differences.extend(_compare_failures(curs, live, scratch, views))
    finally:
        _drop_target(conn, scratch, views)
    return differences


def _compare_failures(
    curs: Cursor[Any], live: Target, scratch: Target, views: Sequence[View]
) -> list[str]:
    names = {v.name for v in views}
    mine = [f for f in quarantine.failures(curs, live.schema) if f.view in names]
    replayed = {
        (f.view, f.notification_id): f
        for f in quarantine.failures(curs, live.schema, scratch.suffix)
        if f.view in names
    }
    lines = []
    for f in mine:
        if not f.quarantined:
            lines.append(
                f"{f.view}: event {f.notification_id} fails ({f.error_class}), attempt "
                f"{f.attempts} of {quarantine.ATTEMPTS}: the view waits before it"
            )
        elif (f.view, f.notification_id) in replayed:
            lines.append(
                f"{f.view}: event {f.notification_id} quarantined ({f.error_class}) since "
                f"{f.quarantined_at:%Y-%m-%d %H:%M}: the view lacks it; fix the cause, then "
                "rebuild"
            )
        else:
            lines.append(
                f"{f.view}: event {f.notification_id} quarantined ({f.error_class}) but applies "
                "now: rebuild the view"
            )
    seen = {(f.view, f.notification_id) for f in mine}
    for key, f in sorted(replayed.items()):
        if key not in seen:
            lines.append(
                f"{f.view}: event {f.notification_id} fails on replay ({f.error_class}) but was "
                "applied live: rebuild the view"
            )
    return lines


class Rate:
    """Events-per-second bookkeeping for progress output."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.events = 0

    def add(self, n: int) -> None:
        self.events += n

    @property
    def per_second(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.events / elapsed if elapsed > 0 else 0.0
