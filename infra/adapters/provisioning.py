"""Provisioning on PostgreSQL: the platform schema and registry, and each school's schema,
tables and data key (:class:`tenants.provisioning.SchoolStorage`).

This is the only place that creates schemas and tables; applications built on the request path
use ``CREATE_TABLE=no`` (see :mod:`infra.adapters.postgres.store`). All database work goes through
the
one process-wide pool.
"""

from __future__ import annotations

from uuid import UUID

from psycopg.sql import SQL, Identifier

from infra.adapters.audit.access_log import create_access_log
from infra.adapters.audit.checkpoints import publish, record_created
from infra.adapters.audit.tables import (
    ensure_platform_audit,
    ensure_school_audit,
    mark_platform_created,
)
from infra.adapters.audit.trail import (
    PLATFORM_EVENTS,
    PLATFORM_KEY_PURPOSE,
    SCHOOL_EVENTS,
    AuditTrail,
    current_trail,
    derive_chain_key,
)
from infra.adapters.crypto import b64, derive_key, generate_data_key, wrap_key
from infra.adapters.postgres.cipher import PLATFORM_CONTEXT, school_context
from infra.adapters.postgres.pool import SharedPool
from infra.adapters.postgres.store import LogKeys, application_env, log_env
from infra.adapters.privacy.keys import create_content_keys, create_pupil_keys
from projections.db import PLATFORM_SCHEMA
from services.audit.verify import ACCESS_LOG
from services.casework.application import CaseworkApplication
from tenants.registry import Registry


def registry_env(master_key: bytes, *, create_table: bool = False) -> dict[str, str]:
    """The eventsourcing env of the registry (schema ``platform``, keys derived from master)."""
    return application_env(
        Registry.name,
        schema=PLATFORM_SCHEMA,
        cipher_key=b64(derive_key(master_key, PLATFORM_KEY_PURPOSE)),
        cipher_context=PLATFORM_CONTEXT,
        chain_key=b64(derive_chain_key(master_key, PLATFORM_SCHEMA, PLATFORM_EVENTS)),
        create_table=create_table,
    )


def open_registry(master_key: bytes) -> Registry:
    """The registry application (tables must exist: see :func:`ensure_platform`)."""
    return Registry(env=registry_env(master_key))


#: Citus's switch for schema-based sharding (a custom setting: plain PostgreSQL accepts any
#: dotted name, so setting it is harmless where Citus is not installed).
SCHEMA_SHARDING_SETTING = "citus.enable_schema_based_sharding"


def create_schema(pool: SharedPool, name: str, *, distributed: bool = True) -> None:
    """``CREATE SCHEMA IF NOT EXISTS``.

    ``distributed=False`` (the ``platform`` schema): created with Citus's schema-based sharding
    off for this one transaction, so on a Citus coordinator the schema stays on the coordinator
    (the registry, sessions and checkpoints are shared by every school) while each school's
    schema becomes a distributed schema that Citus places whole on a worker node.
    """
    with pool.connection() as conn, conn.transaction():
        if not distributed:
            conn.execute(
                SQL("SET LOCAL {} = off").format(Identifier(*SCHEMA_SHARDING_SETTING.split(".")))
            )
        conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(name)))


def ensure_platform(
    pool: SharedPool, master_key: bytes, trail: AuditTrail | None = None
) -> Registry:
    """Create the ``platform`` schema and registry tables if missing; return the registry.

    Idempotent and cheap (a few statements), so every process may call it at start-up. It also
    brings logs an older version wrote up to date: the registry's and every school's log are
    re-sealed once with the keyed chain and bound ciphertexts, and the schools get their access
    log (:mod:`infra.adapters.audit.tables`; one query when there is nothing to do). ``trail``: the
    process's audit trail (default: the installed one).
    """
    trail = trail or current_trail()
    create_schema(pool, PLATFORM_SCHEMA, distributed=False)
    with pool.connection() as conn:
        ensure_platform_audit(conn, trail)
    Registry(env=registry_env(master_key, create_table=True))
    with pool.connection() as conn:
        mark_platform_created(conn, trail)
    registry = open_registry(master_key)
    with pool.connection() as conn:
        ensure_school_audit(conn, trail, registry)
    return registry


class PostgresSchoolStorage:
    """:class:`tenants.provisioning.SchoolStorage`: a school's own schema on ``pool``, its data
    key wrapped with the master key."""

    def __init__(self, pool: SharedPool, master_key: bytes, trail: AuditTrail) -> None:
        self._pool = pool
        self._master_key = master_key
        self._trail = trail

    def provision(self, school_id: UUID, slug: str, schema: str) -> str:
        data_key = generate_data_key()
        create_schema(self._pool, schema)
        keys = LogKeys(
            label=slug,
            schema=schema,
            events_table=SCHOOL_EVENTS,
            context=school_context(school_id),
            data_key=data_key,
            chain_key=self._trail.chain_key(schema, SCHOOL_EVENTS),
            reads_key=self._trail.chain_key(schema, ACCESS_LOG),
        )
        # Constructing the application with CREATE_TABLE=yes creates its tables (events and
        # their hash chain, and snapshots once the application enables snapshotting) in the
        # school's schema; the access log of case reads is created beside them. The chains'
        # ``created`` checkpoints mark them keyed from the start.
        with self._pool.connection() as conn:
            create_access_log(conn, schema)
            create_pupil_keys(conn, schema)
            create_content_keys(conn, schema)
        CaseworkApplication(env=log_env(CaseworkApplication.name, keys, create_table=True))
        with self._pool.connection() as conn:
            created = record_created(conn, self._trail.signer, keys)
        publish(self._trail.sink, created)
        return wrap_key(self._master_key, data_key, school_id.bytes)
