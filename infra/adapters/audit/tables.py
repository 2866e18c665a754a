"""The audit tables: created for new logs, and brought up to date once for logs that predate them.

New schools get their chain table with their events table (the recorder's create statements,
:mod:`infra.adapters.postgres.store`), their access log and their ``created`` checkpoints at
provisioning.
Logs written by an older version — the platform registry's and every school's, with an unkeyed
chain or none, and states encrypted without associated data — are re-sealed once when a process
starts (:func:`ensure_platform_audit` and :func:`ensure_school_audit`, called by
:func:`tenants.provisioning.ensure_platform`): one query finds them (normally none), and each is
re-sealed under its table lock by :mod:`infra.adapters.audit.migration`.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.adapters.audit import access_log, checkpoints
from infra.adapters.audit.migration import Sealed, is_keyed, seal_events, seal_reads
from infra.adapters.audit.trail import PLATFORM_EVENTS, SCHOOL_EVENTS, AuditTrail
from projections.db import PLATFORM_SCHEMA
from services.audit import checkpoints as signed
from services.audit.verify import ACCESS_LOG
from services.shared.errors import SchoolNotFound
from tenants.registry import Registry

log = logging.getLogger(__name__)

SCHOOL_SCHEMA_PATTERN = r"school\_%"
__all__ = ["PLATFORM_EVENTS", "PLATFORM_SCHEMA", "SCHOOL_EVENTS", "Sealed"]


def ensure_platform_audit(conn: Connection[Any], trail: AuditTrail) -> Sealed | None:
    """The checkpoint table, and the registry's log re-sealed if an older version wrote it.

    Runs before the registry's own ``CREATE TABLE IF NOT EXISTS`` statements. A log created
    after this (a new platform) is marked keyed by :func:`mark_platform_created`.
    """
    checkpoints.create_checkpoint_table(conn)
    return seal_events(conn, trail, trail.platform_log())


def mark_platform_created(conn: Connection[Any], trail: AuditTrail) -> None:
    """A registry log made just now gets its ``created`` checkpoint (an empty log is sealed
    trivially: position 0)."""
    if not is_keyed(conn, PLATFORM_SCHEMA, PLATFORM_EVENTS):
        seal_events(conn, trail, trail.platform_log())


def schools_to_seal(conn: Connection[Any]) -> list[str]:
    """School schemas whose log or access log has no keyed checkpoint (an older version wrote
    them), or that have no access log yet."""
    table = Identifier(PLATFORM_SCHEMA, checkpoints.TABLE)
    with conn.cursor(row_factory=tuple_row) as curs:
        rows = curs.execute(
            SQL(
                "SELECT n.nspname FROM pg_namespace n "
                "JOIN pg_class e ON e.relnamespace = n.oid AND e.relname = %(events)s "
                "WHERE n.nspname LIKE %(pattern)s AND ("
                " NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.relnamespace = n.oid"
                "  AND r.relname = %(reads)s)"
                " OR NOT EXISTS (SELECT 1 FROM {table} c WHERE c.log = n.nspname"
                "  AND c.chain = %(events)s AND c.scheme = %(scheme)s)"
                " OR NOT EXISTS (SELECT 1 FROM {table} c WHERE c.log = n.nspname"
                "  AND c.chain = %(reads)s AND c.scheme = %(scheme)s)) "
                "ORDER BY n.nspname"
            ).format(table=table),
            {
                "events": SCHOOL_EVENTS,
                "pattern": SCHOOL_SCHEMA_PATTERN,
                "reads": ACCESS_LOG,
                "scheme": signed.SCHEME,
            },
        ).fetchall()
    return [r[0] for r in rows]


def ensure_school_audit(conn: Connection[Any], trail: AuditTrail, registry: Registry) -> int:
    """Re-seal every school log (and access log) an older version wrote, creating the access
    log where it is missing; returns how many schools were looked at (normally none: one query).

    A schema the registry does not know (a provisioning that died half-way) is left alone.
    """
    schemas = schools_to_seal(conn)
    for schema in schemas:
        try:
            school = registry.school(UUID(hex=schema.removeprefix("school_")))
        except (SchoolNotFound, ValueError):
            log.info("schema %s belongs to no registered school: not sealed", schema)
            continue
        keys = trail.school_log(school)
        seal_events(conn, trail, keys)
        access_log.create_access_log(conn, schema)
        seal_reads(conn, trail, keys)
    return len(schemas)
