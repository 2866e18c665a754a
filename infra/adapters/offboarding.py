"""Offboarding on PostgreSQL: :class:`tenants.offboarding.SchoolArchive` for the school's
schema, its statistics rows and its users' web sessions (the order of the steps and the
refusals are :mod:`tenants.offboarding`'s)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.adapters.audit.access_log import TABLE as ACCESS_LOG_TABLE
from infra.adapters.audit.checkpoints import checkpoint_log, publish
from infra.adapters.audit.trail import AuditTrail
from infra.adapters.exports.school import EVENTS_TABLE, read_export, verify_school_export
from infra.adapters.postgres.chain import table_exists
from infra.adapters.postgres.pool import SharedPool
from infra.adapters.schools import SchoolApplications
from projections.db import PLATFORM_SCHEMA, first
from services.audit.checkpoints import Checkpoint
from tenants.offboarding import VerifiedExport
from tenants.registry import School

log = logging.getLogger(__name__)

#: How long the drop waits for readers of the school's tables before giving up.
LOCK_TIMEOUT = "30s"


def _heads(conn: Connection[Any], schema: str) -> tuple[int | None, int | None]:
    """The last event position and the last read id of the school's log, now."""
    with conn.cursor(row_factory=tuple_row) as curs:
        position = first(
            curs.execute(
                SQL("SELECT max(notification_id) FROM {}").format(Identifier(schema, EVENTS_TABLE))
            ).fetchone()
        )
        read_id = None
        if table_exists(conn, schema, ACCESS_LOG_TABLE):
            read_id = first(
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
    if table_exists(conn, PLATFORM_SCHEMA, "monitor_averages"):  # its monitor averages
        conn.execute("DELETE FROM platform.monitor_averages WHERE school_id = %s", (school.id,))
    if table_exists(conn, PLATFORM_SCHEMA, "monitor_average_imports"):  # and its imports
        conn.execute(
            "DELETE FROM platform.monitor_average_imports WHERE school_id = %s", (school.id,)
        )
    if table_exists(conn, PLATFORM_SCHEMA, "stats_incidents"):  # the incident statistics
        conn.execute("DELETE FROM platform.stats_incidents WHERE school_id = %s", (school.id,))
    if table_exists(conn, PLATFORM_SCHEMA, "stats_months"):  # derived from the rows above
        conn.execute("DELETE FROM platform.stats_months WHERE school_id = %s", (school.id,))
    if table_exists(conn, PLATFORM_SCHEMA, "projection_health"):  # its views' health rows
        conn.execute("DELETE FROM platform.projection_health WHERE school_id = %s", (school.id,))
    keys = _session_keys_of(conn, school.id)
    if keys:
        conn.execute("DELETE FROM platform.web_sessions WHERE key = ANY(%s)", (keys,))
    return max(stats, 0), len(keys)


def _schema_exists(conn: Connection[Any], schema: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


class _ClosingLog:
    """:class:`tenants.offboarding.ClosingLog` on one open transaction."""

    def __init__(self, conn: Connection[Any], trail: AuditTrail, school: School) -> None:
        self.conn = conn
        self.trail = trail
        self.school = school
        self.recorded: list[Checkpoint] = []

    def heads(self) -> tuple[int | None, int | None]:
        return _heads(self.conn, self.school.schema_name)

    def checkpoint(self) -> None:
        self.recorded += checkpoint_log(
            self.conn, self.trail.signer, self.school.schema_name, EVENTS_TABLE
        )

    def remove_school_data(self) -> tuple[int, int]:
        return _remove_school_data(self.conn, self.school)


class PostgresSchoolArchive:
    """:class:`tenants.offboarding.SchoolArchive` on the container's pool."""

    def __init__(self, pool: SharedPool, schools: SchoolApplications, trail: AuditTrail) -> None:
        self.pool = pool
        self.schools = schools
        self.trail = trail

    def verify_export(self, school: School, path: Path, sha256: str | None) -> VerifiedExport:
        return verify_school_export(self.pool, self.schools.get(school.id), school, path, sha256)

    def read_export(self, path: Path, sha256: str | None) -> tuple[dict[str, Any], str]:
        return read_export(path, sha256)

    @contextmanager
    def closing(self, school: School) -> Iterator[_ClosingLog]:
        with self.pool.connection() as conn, conn.transaction():
            _lock_log(conn, school.schema_name)
            closing = _ClosingLog(conn, self.trail, school)
            yield closing
        # Outside the database only once the drop committed (a rolled-back offboarding must
        # not leave a checkpoint the database never had).
        publish(self.trail.sink, closing.recorded)

    def remove_left_over(self, school: School) -> tuple[bool, int, int]:
        with self.pool.connection() as conn, conn.transaction():
            existed = _schema_exists(conn, school.schema_name)
            stats, sessions = _remove_school_data(conn, school)
        return existed, stats, sessions

    def forget(self, school_id: UUID) -> None:
        self.schools.evict(school_id)
