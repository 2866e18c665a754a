"""Offboarding: a school leaves the platform, after its full export was made and verified.

The counterpart of :mod:`tenants.provisioning`. Order, and why:

1. **Verify the export** (:func:`infra.exports.school.verify_school_export`): the file's SHA-256,
   the school it names, and that it holds exactly the events and reads the database holds — read
   again from the database now. Anything else is refused and nothing changes.
2. In one transaction on the school's log: **lock** the events table and the access log against
   writers and check that nothing was added since the verification; record a final signed
   **checkpoint** of the log's hash chain in ``platform.chain_checkpoints`` (hashes only: the
   platform can later show which log the handed-over export came from), and, after the commit,
   in the outside copy of the checkpoints (:mod:`infra.audit.sink`).
3. Record **School.Offboarded** in the registry: from here on every lookup treats the school as
   unknown, its current state holds no data key and no login, and its slug stays taken. This
   comes before the drop so nothing ever points at a schema that is gone.
4. Same transaction as 2: **drop the school's schema** (log, chain, access log, views), delete
   the school's rows from ``platform.stats_cases`` and the web sessions of its users; commit.

If the process dies between 3 and 4, running the same command again finishes 4 (the registry's
record names the export's checksum, which the file must still match).

Board statistics: the school's anonymous rows are deleted, not kept. They are one row per case
(microdata, not totals) that can no longer be rebuilt or verified from a log once the schema is
gone, and board views only count the schools the registry lists, so kept rows would show up in
platform-wide totals only, which then no longer add up to the listed schools. The export holds
the events, from which they can be recomputed if ever needed.

Known limit: the registry's own log keeps the school's creation event, which holds the data key
wrapped with the master key (events are immutable, and the registry's log is hash-chained).
Dropping the schema removes the data the key protected, but a database backup taken before the
offboarding still holds both. Crypto-shredding backups needs the wrapped keys out of the event
log (a deletable key table); not done here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.audit.access_log import TABLE as ACCESS_LOG_TABLE
from infra.audit.checkpoints import checkpoint_log, publish
from infra.audit.trail import current_trail
from infra.exports.school import (
    EVENTS_TABLE,
    ExportMismatch,
    VerifiedExport,
    read_export,
    verify_school_export,
)
from infra.postgres.chain import table_exists
from infra.postgres.pool import shared_pool
from infra.schools import SchoolApplications
from services.access.roles import Permission, has_permission
from services.shared.actor import SYSTEM, Actor, acting_as, current_actor
from services.shared.errors import InvalidInput, PermissionDenied
from tenants.registry import Registry, School

log = logging.getLogger(__name__)

PLATFORM_SCHEMA = "platform"
#: How long the drop waits for readers of the school's tables before giving up.
LOCK_TIMEOUT = "30s"


class ExportStale(ExportMismatch):
    """Something was recorded after the export was made: export again."""

    code = "export_stale"


@dataclass(frozen=True)
class Offboarded:
    school_id: UUID
    slug: str
    schema: str
    export_sha256: str
    events: int
    stats_rows_deleted: int
    sessions_deleted: int
    finished_earlier_attempt: bool


@contextmanager
def _as_operator(actor: Actor | None) -> Iterator[Actor]:
    chosen = actor or current_actor.get() or SYSTEM
    if not has_permission(chosen.role, Permission.TENANTS_MANAGE):
        msg = f"role '{chosen.role}' may not offboard a school"
        raise PermissionDenied(msg)
    with acting_as(chosen) as acting:
        yield acting


def _first(row: Any) -> Any:
    return None if row is None else row[0]


def _heads(conn: Connection[Any], schema: str) -> tuple[int | None, int | None]:
    """The last event position and the last read id of the school's log, now."""
    with conn.cursor(row_factory=tuple_row) as curs:
        position = _first(
            curs.execute(
                SQL("SELECT max(notification_id) FROM {}").format(Identifier(schema, EVENTS_TABLE))
            ).fetchone()
        )
        read_id = None
        if table_exists(conn, schema, ACCESS_LOG_TABLE):
            read_id = _first(
                curs.execute(
                    SQL("SELECT max(id) FROM {}").format(Identifier(schema, ACCESS_LOG_TABLE))
                ).fetchone()
            )
    return (
        None if position is None else int(position),
        None if read_id is None else int(read_id),
    )


def _lock_log(conn: Connection[Any], schema: str) -> None:
    """Block the school's writers (events and reads) until the transaction ends."""
    conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    conn.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(Identifier(schema, EVENTS_TABLE)))
    if table_exists(conn, schema, ACCESS_LOG_TABLE):
        conn.execute(
            SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(Identifier(schema, ACCESS_LOG_TABLE))
        )


def _session_keys_of(conn: Connection[Any], school_id: UUID) -> list[str]:
    """Keys of the web sessions whose logged-in principal belongs to the school.

    Sessions are Litestar's JSON documents (``{"principal": {"school_id": ...}}``); a value that
    does not parse is not ours to judge and is left alone.
    """
    if not table_exists(conn, PLATFORM_SCHEMA, "web_sessions"):
        return []
    keys = []
    with conn.cursor(row_factory=tuple_row) as curs:
        for key, value in curs.execute("SELECT key, value FROM platform.web_sessions"):
            try:
                data = json.loads(bytes(value))
            except (ValueError, UnicodeDecodeError):
                continue
            principal = data.get("principal") if isinstance(data, dict) else None
            if isinstance(principal, dict) and principal.get("school_id") == str(school_id):
                keys.append(str(key))
    return keys


def _remove_school_data(conn: Connection[Any], school: School) -> tuple[int, int]:
    """Drop the schema, the statistics and read-side health rows and the sessions (in the
    caller's transaction); returns (statistics rows, sessions) deleted."""
    conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(school.schema_name)))
    stats = 0
    if table_exists(conn, PLATFORM_SCHEMA, "stats_cases"):
        stats = conn.execute(
            "DELETE FROM platform.stats_cases WHERE school_id = %s", (school.id,)
        ).rowcount
    if table_exists(conn, PLATFORM_SCHEMA, "projection_health"):  # its views' health rows
        conn.execute("DELETE FROM platform.projection_health WHERE school_id = %s", (school.id,))
    keys = _session_keys_of(conn, school.id)
    if keys:
        conn.execute("DELETE FROM platform.web_sessions WHERE key = ANY(%s)", (keys,))
    return max(stats, 0), len(keys)


def _schema_exists(conn: Connection[Any], schema: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


def offboard_school(
    registry: Registry,
    schools: SchoolApplications,
    slug: str,
    export_path: Path,
    *,
    confirm: str,
    sha256: str | None = None,
    actor: Actor | None = None,
) -> Offboarded:
    """Offboard the school ``slug`` after verifying ``export_path`` (see the module's steps).

    ``confirm`` must repeat the slug. Refusals (``InvalidInput``/``ExportMismatch``/
    ``ExportStale``/``SchoolNotFound``) change nothing.
    """
    with _as_operator(actor):
        if confirm != slug:
            raise InvalidInput("the confirmation must repeat the school's slug exactly")
        school = registry.school_by_slug(slug, include_offboarded=True)
        if school.offboarded:
            return _finish(school, export_path, sha256)
        verified = verify_school_export(schools.get(school.id), school, export_path, sha256)
        trail = current_trail()
        with shared_pool().connection() as conn, conn.transaction():
            _lock_log(conn, school.schema_name)
            _check_unchanged(conn, school, verified)
            final = checkpoint_log(conn, trail.signer, school.schema_name, EVENTS_TABLE)
            registry.offboard_school(
                school.id, export_sha256=verified.sha256, events_exported=verified.events
            )
            schools.evict(school.id)
            stats, sessions = _remove_school_data(conn, school)
        # Outside the database only once the drop committed (a rolled-back offboarding must
        # not leave a checkpoint the database never had).
        publish(trail.sink, final)
        log.info("offboarded school %s (schema %s dropped)", school.id, school.schema_name)
        return Offboarded(
            school_id=school.id,
            slug=school.slug,
            schema=school.schema_name,
            export_sha256=verified.sha256,
            events=verified.events,
            stats_rows_deleted=stats,
            sessions_deleted=sessions,
            finished_earlier_attempt=False,
        )


def _check_unchanged(conn: Connection[Any], school: School, verified: VerifiedExport) -> None:
    position, read_id = _heads(conn, school.schema_name)
    if (position, read_id) != (verified.last_position, verified.last_read_id):
        msg = (
            f"school {school.slug} recorded events or reads after the export was verified: "
            "export again"
        )
        raise ExportStale(msg)


def _finish(school: School, export_path: Path, sha256: str | None) -> Offboarded:
    """Finish an offboarding whose registry event was recorded but whose drop did not happen."""
    document, digest = read_export(export_path, sha256)
    if digest != school.offboard_export_sha256:
        msg = f"school {school.slug} was offboarded with another export than {export_path}"
        raise ExportMismatch(msg)
    with shared_pool().connection() as conn, conn.transaction():
        existed = _schema_exists(conn, school.schema_name)
        stats, sessions = _remove_school_data(conn, school)
    return Offboarded(
        school_id=school.id,
        slug=school.slug,
        schema=school.schema_name,
        export_sha256=digest,
        events=int((document.get("counts") or {}).get("events") or 0),
        stats_rows_deleted=stats,
        sessions_deleted=sessions,
        finished_earlier_attempt=existed,
    )
