"""Events a view cannot apply: retried a bounded number of times, then quarantined (issue #10).

One stored event must never stop a school's read side. When a view raises on an event, the engine
isolates it (the batch is retried event by event, each in a savepoint, so the rest of the batch
still applies) and records a **failure** in ``<school schema>.projection_quarantine``: view,
target, event (notification id), error class, attempts, first and last seen. Never the exception's
message, which may quote case text.

- **failing**: a live view stops just before the event (its position does not pass it) and every
  later catch-up run tries it once more (the worker's sweep runs one for a lagging school).
- **quarantined**: after :data:`ATTEMPTS` attempts the live view skips the event, for that view
  only, and moves on. A rebuild or a verification replays the log once, so there an event is
  quarantined at its first failure.
- **degraded**: a school with failing or quarantined events. ``platform.projection_health`` holds,
  per school, view and error class, how many (counts only: no event ids, no text), for the
  readiness check, the metrics and the operator page.

What clears it: a failing event that applies on a later attempt loses its row. A quarantined event
stays quarantined until a **rebuild** of its view (``vangnet projections rebuild --school SLUG
[--view NAME]``) replays the log: after the cause is fixed the event applies and its row is gone;
one that still fails is quarantined again by the rebuild (and reported). Verification rebuilds
into scratch tables the same way, so replay equals live also with quarantined events; it reports
each quarantined event, and an event quarantined on one side only as a difference.

Transient errors say nothing about the event (connection lost, deadlock, serialization failure,
statement or lock timeout, server out of resources): they are raised as before (the job is retried
with backoff) and never counted.

Logging: one line when a failure is first seen (or its error class changes) and one when the event
is quarantined, with school, view, event id and error class; never one per retry, never a
traceback, never the message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import psycopg
import psycopg.rows
from psycopg import Connection, Cursor
from psycopg.sql import SQL, Identifier

from projections.db import first

log = logging.getLogger(__name__)

#: Attempts (catch-up runs) before a live view skips an event it cannot apply.
ATTEMPTS = 3
TABLE = "projection_quarantine"
#: Per school, view and error class: how many events fail or are quarantined (platform schema).
HEALTH_TABLE = "projection_health"

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    view text NOT NULL,
    target text NOT NULL,
    notification_id bigint NOT NULL,
    error_class text NOT NULL,
    attempts integer NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    quarantined_at timestamptz,
    PRIMARY KEY (view, target, notification_id)
)"""

HEALTH_DDL = """
CREATE TABLE IF NOT EXISTS platform.projection_health (
    school_id uuid NOT NULL,
    view text NOT NULL,
    error_class text NOT NULL,
    failing integer NOT NULL,
    quarantined integer NOT NULL,
    since timestamptz NOT NULL,
    PRIMARY KEY (school_id, view, error_class)
)"""

#: SQLSTATE classes that say nothing about the event: connection, transaction rollback
#: (deadlock, serialization), insufficient resources, operator intervention (statement timeout,
#: shutdown), system and internal errors, and an aborted transaction (our own bookkeeping).
_TRANSIENT_CLASSES = frozenset({"08", "25", "40", "53", "57", "58", "XX"})
#: Single SQLSTATEs of that kind: lock not available (lock timeout), object in use.
_TRANSIENT_STATES = frozenset({"55P03", "55006"})


@dataclass(frozen=True)
class Undecodable:
    """Stands in for a stored event the mapper could not turn into a domain event (a decryption
    or upcasting failure): every view counts it as a failure of that event."""

    error_class: str


@dataclass(frozen=True)
class Failure:
    """One event a view could not apply (as kept in the school's quarantine table)."""

    view: str
    notification_id: int
    error_class: str
    attempts: int
    first_seen: datetime
    last_seen: datetime
    quarantined_at: datetime | None

    @property
    def quarantined(self) -> bool:
        return self.quarantined_at is not None


@dataclass(frozen=True)
class Health:
    """Counts for one view and error class (of one school, or summed over schools)."""

    view: str
    error_class: str
    failing: int
    quarantined: int
    schools: int = 1


def is_transient(error: BaseException, conn: Connection[Any]) -> bool:
    """Whether ``error`` is about the database or connection rather than about the event."""
    if conn.broken or conn.closed:
        return True
    if isinstance(error, psycopg.InterfaceError | MemoryError):
        return True
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:
            return isinstance(error, psycopg.OperationalError)
        return state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES
    return False


def table(schema: str) -> Identifier:
    return Identifier(schema, TABLE)


def ensure_tables(curs: Cursor[Any], schema: str) -> None:
    """The school's quarantine table, and the platform's health table (created once)."""
    curs.execute(SQL(QUARANTINE_DDL).format(table=table(schema)))
    curs.execute("SELECT to_regclass('platform.projection_health') IS NOT NULL")
    if first(curs.fetchone()):
        return
    # Many schools may be set up at once: serialise the one-time creation of the shared table.
    curs.execute("SELECT pg_advisory_xact_lock(hashtext('platform.projection_health'))")
    curs.execute(HEALTH_DDL)


def _failure(row: Any) -> Failure:
    r = row if isinstance(row, dict) else dict(zip(_COLUMNS, row, strict=True))
    return Failure(
        view=r["view"],
        notification_id=int(r["notification_id"]),
        error_class=r["error_class"],
        attempts=int(r["attempts"]),
        first_seen=r["first_seen"],
        last_seen=r["last_seen"],
        quarantined_at=r["quarantined_at"],
    )


_COLUMNS = ("view", "notification_id", "error_class", "attempts", "first_seen", "last_seen",
            "quarantined_at")  # fmt: skip
_SELECT = SQL(
    "SELECT view, notification_id, error_class, attempts, first_seen, last_seen, quarantined_at"
    " FROM {} WHERE target = %s"
)


#: How the log lines name a target.
_TARGETS = {"": "live", "_next": "rebuild", "_verify": "verification"}


class Ledger:
    """The failures of one batch's views in one target, loaded when a batch needs care."""

    def __init__(
        self,
        curs: Cursor[Any],
        school_id: UUID,
        schema: str,
        suffix: str,
        views: Iterable[str],
        first: int,
        last: int,
    ) -> None:
        self.curs = curs
        self.school_id = school_id
        self.schema = schema
        self.suffix = suffix
        self.changed = False
        curs.execute(
            _SELECT.format(table(schema))
            + SQL(" AND view = ANY(%s) AND notification_id BETWEEN %s AND %s"),
            (suffix, list(views), first, last),
        )
        self.known = {(f.view, f.notification_id): f for f in map(_failure, curs.fetchall())}

    @property
    def limit(self) -> int:
        """Attempts before skipping: a live view waits for later runs; a replay does not."""
        return ATTEMPTS if self.suffix == "" else 1

    def record(self, view: str, notification_id: int, error_class: str) -> bool:
        """Count one failed attempt; ``True`` when the event is now quarantined (skip it)."""
        known = self.known.get((view, notification_id))
        attempts = (known.attempts if known is not None else 0) + 1
        quarantine = attempts >= self.limit
        self.curs.execute(
            SQL(
                "INSERT INTO {} (view, target, notification_id, error_class, attempts,"
                " first_seen, last_seen, quarantined_at)"
                " VALUES (%s, %s, %s, %s, %s, now(), now(), CASE WHEN %s THEN now() END)"
                " ON CONFLICT (view, target, notification_id) DO UPDATE SET"
                " error_class = excluded.error_class, attempts = excluded.attempts,"
                " last_seen = excluded.last_seen, quarantined_at = excluded.quarantined_at"
            ).format(table(self.schema)),
            (view, self.suffix, notification_id, error_class, attempts, quarantine),
        )
        self.changed = True
        where = _TARGETS.get(self.suffix, self.suffix)
        if self.suffix == "_verify":
            # A verification replays what is already known; it reports it in its own output.
            log.debug("verification: view %s, event %d: %s", view, notification_id, error_class)
        elif quarantine:
            log.error(
                "projection quarantine: school %s, view %s (%s), event %d: %s after %d "
                "attempt(s); the view skips it until a rebuild applies it",
                self.school_id, view, where, notification_id, error_class, attempts,
            )  # fmt: skip
        elif known is None or known.error_class != error_class:
            log.warning(
                "projection failure: school %s, view %s (%s), event %d: %s (attempt %d of %d; "
                "the view waits before this event until it applies or is quarantined)",
                self.school_id, view, where, notification_id, error_class, attempts, self.limit,
            )  # fmt: skip
        return quarantine


def advance(
    curs: Cursor[Any], schema: str, positions: Identifier, suffix: str, reached: dict[str, int]
) -> int:
    """Move views' positions forward (``reached``: view name -> last event passed) and forget
    their failing (not quarantined) events up to there: those have now applied. One statement;
    returns how many failures were forgotten (usually none: the table is usually empty)."""
    curs.execute(
        SQL(
            "WITH u AS (SELECT * FROM unnest(%s::text[], %s::bigint[]) AS u(view, position)),"
            " moved AS (UPDATE {positions} p SET position = GREATEST(p.position, u.position)"
            "  FROM u WHERE p.view = u.view || %s)"
            " DELETE FROM {quarantine} q USING u WHERE q.target = %s AND q.view = u.view"
            " AND q.notification_id <= u.position AND q.quarantined_at IS NULL"
        ).format(positions=positions, quarantine=table(schema)),
        (list(reached), list(reached.values()), suffix, suffix),
    )
    return curs.rowcount


def refresh_health(curs: Cursor[Any], school_id: UUID, schema: str) -> None:
    """Bring the school's rows in ``platform.projection_health`` in line with its live views'
    failures (inside the caller's transaction, so they change together)."""
    curs.execute(
        SQL(
            "WITH fresh AS ("
            " SELECT view, error_class,"
            "  count(*) FILTER (WHERE quarantined_at IS NULL) AS failing,"
            "  count(*) FILTER (WHERE quarantined_at IS NOT NULL) AS quarantined,"
            "  min(first_seen) AS since"
            " FROM {quarantine} WHERE target = '' GROUP BY view, error_class),"
            " gone AS (DELETE FROM platform.projection_health h WHERE h.school_id = %s"
            "  AND NOT EXISTS (SELECT 1 FROM fresh f"
            "   WHERE f.view = h.view AND f.error_class = h.error_class))"
            " INSERT INTO platform.projection_health"
            " (school_id, view, error_class, failing, quarantined, since)"
            " SELECT %s, view, error_class, failing, quarantined, since FROM fresh"
            " ON CONFLICT (school_id, view, error_class) DO UPDATE SET"
            " failing = excluded.failing, quarantined = excluded.quarantined,"
            " since = excluded.since"
        ).format(quarantine=table(schema)),
        (school_id, school_id),
    )


def switch(curs: Cursor[Any], schema: str, views: Sequence[str], rebuilt_suffix: str) -> None:
    """The rebuilt views' failures replace the live ones (inside the switching transaction)."""
    curs.execute(
        SQL("DELETE FROM {} WHERE target = '' AND view = ANY(%s)").format(table(schema)),
        (list(views),),
    )
    curs.execute(
        SQL("UPDATE {} SET target = '' WHERE target = %s AND view = ANY(%s)").format(table(schema)),
        (rebuilt_suffix, list(views)),
    )


def drop(curs: Cursor[Any], schema: str, views: Sequence[str], suffix: str) -> None:
    """Forget a (rebuild or scratch) target's failures."""
    curs.execute(
        SQL("DELETE FROM {} WHERE target = %s AND view = ANY(%s)").format(table(schema)),
        (suffix, list(views)),
    )


def failures(conn: Connection[Any] | Cursor[Any], schema: str, suffix: str = "") -> list[Failure]:
    """Every failure recorded for a target of a school (live by default), oldest event first.

    Empty when the school's quarantine table does not exist yet."""
    exists = conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{TABLE}"',)).fetchone()
    if first(exists) is None:
        return []
    rows = conn.execute(
        _SELECT.format(table(schema)) + SQL(" ORDER BY notification_id, view"), (suffix,)
    ).fetchall()
    return [_failure(r) for r in rows]


def school_health(found: Iterable[Failure]) -> list[Health]:
    """Counts per view and error class of one school's failures."""
    counts: dict[tuple[str, str], list[int]] = {}
    for f in found:
        pair = counts.setdefault((f.view, f.error_class), [0, 0])
        pair[1 if f.quarantined else 0] += 1
    return [Health(v, e, failing, quarantined) for (v, e), (failing, quarantined) in
            sorted(counts.items())]  # fmt: skip


PLATFORM_HEALTH_QUERY = (
    "SELECT view, error_class, count(DISTINCT school_id)::int AS schools,"
    " sum(failing)::int AS failing, sum(quarantined)::int AS quarantined"
    " FROM platform.projection_health GROUP BY view, error_class ORDER BY view, error_class"
)
DEGRADED_SCHOOLS_QUERY = (
    "SELECT school_id, view, error_class, failing, quarantined, since"
    " FROM platform.projection_health ORDER BY school_id, view, error_class"
)
_HEALTH_EXISTS = "SELECT to_regclass('platform.projection_health') IS NOT NULL"


@dataclass(frozen=True)
class Degraded:
    """One degraded view of one school (``platform.projection_health``)."""

    school_id: UUID
    view: str
    error_class: str
    failing: int
    quarantined: int
    since: datetime


@dataclass(frozen=True)
class PlatformHealth:
    """The read side's health over every school: how many schools are degraded, and counts per
    view and error class (no school or event ids: for metrics and the readiness check)."""

    degraded_schools: int = 0
    views: tuple[Health, ...] = ()

    @property
    def failing(self) -> int:
        return sum(h.failing for h in self.views)

    @property
    def quarantined(self) -> int:
        return sum(h.quarantined for h in self.views)


_DEGRADED_COUNT = "SELECT count(DISTINCT school_id)::int FROM platform.projection_health"


def _health(r: Any) -> Health:
    return Health(r["view"], r["error_class"], r["failing"], r["quarantined"], r["schools"])


def platform_health(conn: Connection[Any]) -> PlatformHealth:
    """:class:`PlatformHealth` now (empty before any school's views exist)."""
    if not first(conn.execute(_HEALTH_EXISTS).fetchone()):
        return PlatformHealth()
    with conn.cursor(row_factory=psycopg.rows.dict_row) as curs:
        views = tuple(_health(r) for r in curs.execute(PLATFORM_HEALTH_QUERY).fetchall())
        schools = first(curs.execute(_DEGRADED_COUNT).fetchone())
    return PlatformHealth(int(schools), views)


async def platform_health_async(conn: asyncpg.Connection) -> PlatformHealth:
    """:func:`platform_health` on the web's asyncpg pool."""
    if not await conn.fetchval(_HEALTH_EXISTS):
        return PlatformHealth()
    views = tuple(_health(r) for r in await conn.fetch(PLATFORM_HEALTH_QUERY))
    return PlatformHealth(int(await conn.fetchval(_DEGRADED_COUNT)), views)


async def degraded_schools_async(conn: asyncpg.Connection) -> list[Degraded]:
    """Every degraded view of every school (for the operator: ids, kinds and counts only)."""
    if not await conn.fetchval(_HEALTH_EXISTS):
        return []
    return [Degraded(**dict(r)) for r in await conn.fetch(DEGRADED_SCHOOLS_QUERY)]
