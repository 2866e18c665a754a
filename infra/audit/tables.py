"""The audit tables: created for new logs, and introduced once to logs that predate them.

New schools get their chain table with their events table (the recorder's create statements,
:mod:`infra.postgres.store`) and their access log at provisioning. Schools (and the platform
registry) created before tamper evidence existed get both when a process starts
(:func:`ensure_audit_tables`, called by :func:`tenants.provisioning.ensure_platform`): one catalog
query finds them, and each existing log is chained (sealed) once, under its table lock, with a
``sealed`` checkpoint saying when. A chain table that exists is never recomputed.
"""

from __future__ import annotations

import logging
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row

from infra.audit import access_log, checkpoints
from infra.postgres.chain import Sealed, chain_table, introduce_chain

log = logging.getLogger(__name__)

#: The events tables of the two kinds of log (``<application name>_events``).
SCHOOL_EVENTS = "casework_events"
PLATFORM_SCHEMA = "platform"
PLATFORM_EVENTS = "platform_events"
SCHOOL_SCHEMA_PATTERN = r"school\_%"


def seal(conn: Connection[Any], schema: str, events_table: str) -> Sealed | None:
    """Introduce the chain to an existing log (see :func:`infra.postgres.chain.introduce_chain`)
    and record the seal as a checkpoint."""
    sealed = introduce_chain(conn, schema, events_table)
    if sealed is not None and sealed.events:
        checkpoints.record(
            conn,
            schema,
            events_table,
            sealed.head_id,
            sealed.head_hash,
            kind=checkpoints.KIND_SEALED,
        )
        log.warning(
            "%s.%s: %d events written before tamper evidence existed were chained (sealed) now",
            schema, events_table, sealed.events,
        )  # fmt: skip
    return sealed


def ensure_platform_audit(conn: Connection[Any]) -> None:
    """The checkpoint table, and the registry's chain if the registry predates it.

    Runs before the registry's own ``CREATE TABLE IF NOT EXISTS`` statements, which would
    otherwise create an empty chain table beside an already filled log.
    """
    checkpoints.create_checkpoint_table(conn)
    seal(conn, PLATFORM_SCHEMA, PLATFORM_EVENTS)


def schools_without_audit_tables(conn: Connection[Any]) -> list[str]:
    """School schemas whose log has no chain table or no access log (created before them)."""
    with conn.cursor(row_factory=tuple_row) as curs:
        rows = curs.execute(
            "SELECT n.nspname FROM pg_namespace n "
            "JOIN pg_class e ON e.relnamespace = n.oid AND e.relname = %s "
            "WHERE n.nspname LIKE %s AND ("
            " NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid"
            "  AND c.relname = %s)"
            " OR NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.relnamespace = n.oid"
            "  AND r.relname = %s)) "
            "ORDER BY n.nspname",
            (SCHOOL_EVENTS, SCHOOL_SCHEMA_PATTERN, chain_table(SCHOOL_EVENTS), access_log.TABLE),
        ).fetchall()
    return [r[0] for r in rows]


def ensure_school_audit(conn: Connection[Any]) -> int:
    """Introduce the chain and the access log to every school that predates them; returns how
    many schools needed it (normally none: one catalog query)."""
    schemas = schools_without_audit_tables(conn)
    for schema in schemas:
        seal(conn, schema, SCHOOL_EVENTS)
        access_log.create_access_log(conn, schema)
    return len(schemas)


def ensure_audit_tables(conn: Connection[Any]) -> None:
    ensure_platform_audit(conn)
    ensure_school_audit(conn)
