"""Onboarding: the platform schema, boards, and schools (schema + tables + data key).

Provisioning is the only place that creates schemas and tables; applications built on the
request path use ``CREATE_TABLE=no`` (see :mod:`infra.postgres.store`). All database work goes
through the one process-wide pool.

Order of :func:`create_school`, and why: create the schema and its tables first, then record the
school in the registry. If the process dies in between, an empty schema is left behind (harmless,
and reused if the same slug is provisioned again); the registry never points at a school whose
tables do not exist. The data key only ever leaves this function wrapped.

Commands run as the current actor (``services.shared.actor.acting_as``), or as ``SYSTEM`` when none
is set (CLI, demo data); the actor must hold ``tenants.manage``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.sql import SQL, Identifier

from infra.audit.access_log import create_access_log
from infra.audit.checkpoints import publish, record_created
from infra.audit.tables import ensure_platform_audit, ensure_school_audit, mark_platform_created
from infra.audit.trail import (
    ACCESS_LOG,
    PLATFORM_EVENTS,
    PLATFORM_KEY_PURPOSE,
    SCHOOL_EVENTS,
    AuditTrail,
    LogKeys,
    current_trail,
    derive_chain_key,
)
from infra.crypto import b64, derive_key, generate_data_key, wrap_key
from infra.postgres.cipher import PLATFORM_CONTEXT, school_context
from infra.postgres.pool import shared_pool
from infra.postgres.store import application_env, log_env
from infra.privacy.keys import create_pupil_keys
from services.access.roles import Permission, has_permission
from services.casework.application import CaseworkApplication
from services.shared.actor import SYSTEM, Actor, acting_as, current_actor
from services.shared.errors import PermissionDenied
from tenants.registry import (
    Board,
    DuplicateSlug,
    Registry,
    School,
    schema_name_for,
    school_id_for,
    slugify,
    validate_name,
    validate_slug,
)

PLATFORM_SCHEMA = "platform"


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


def create_schema(name: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS`` on the shared pool."""
    with shared_pool().connection() as conn:
        conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(name)))


def ensure_platform(master_key: bytes, trail: AuditTrail | None = None) -> Registry:
    """Create the ``platform`` schema and registry tables if missing; return the registry.

    Idempotent and cheap (a few statements), so every process may call it at start-up. It also
    brings logs an older version wrote up to date: the registry's and every school's log are
    re-sealed once with the keyed chain and bound ciphertexts, and the schools get their access
    log (:mod:`infra.audit.tables`; one query when there is nothing to do). ``trail``: the
    process's audit trail (default: the installed one).
    """
    trail = trail or current_trail()
    create_schema(PLATFORM_SCHEMA)
    with shared_pool().connection() as conn:
        ensure_platform_audit(conn, trail)
    Registry(env=registry_env(master_key, create_table=True))
    with shared_pool().connection() as conn:
        mark_platform_created(conn, trail)
    registry = open_registry(master_key)
    with shared_pool().connection() as conn:
        ensure_school_audit(conn, trail, registry)
    return registry


@contextmanager
def _as_operator(actor: Actor | None) -> Iterator[Actor]:
    chosen = actor or current_actor.get() or SYSTEM
    if not has_permission(chosen.role, Permission.TENANTS_MANAGE):
        msg = f"role '{chosen.role}' may not manage tenants"
        raise PermissionDenied(msg)
    with acting_as(chosen) as acting:
        yield acting


def create_board(
    registry: Registry, name: str, *, slug: str | None = None, actor: Actor | None = None
) -> Board:
    """Register a board; its slug is derived from ``name`` unless given."""
    name = validate_name(name)
    board_slug = validate_slug(slug) if slug is not None else slugify(name)
    with _as_operator(actor):
        return registry.register_board(name=name, slug=board_slug)


def create_school(
    registry: Registry,
    master_key: bytes,
    board_slug: str,
    name: str,
    *,
    slug: str | None = None,
    actor: Actor | None = None,
) -> School:
    """Provision a school of board ``board_slug``: schema, tables, data key, registry record.

    Raises ``BoardNotFound`` for an unknown board and ``DuplicateSlug`` when the school slug is
    taken (school slugs are platform-wide: pass ``slug`` to disambiguate equal names).
    """
    # Checked before the schema is created: a refused name leaves nothing behind.
    name = validate_name(name)
    school_slug = validate_slug(slug) if slug is not None else slugify(name)
    with _as_operator(actor):
        board = registry.board_by_slug(board_slug)
        school_id = school_id_for(school_slug)
        if school_id in registry.repository:
            raise DuplicateSlug(f"a school with slug '{school_slug}' already exists")

        data_key = generate_data_key()
        schema = schema_name_for(school_id)
        create_schema(schema)
        trail = current_trail()
        keys = LogKeys(
            label=school_slug,
            schema=schema,
            events_table=SCHOOL_EVENTS,
            context=school_context(school_id),
            data_key=data_key,
            chain_key=trail.chain_key(schema, SCHOOL_EVENTS),
            reads_key=trail.chain_key(schema, ACCESS_LOG),
        )
        # Constructing the application with CREATE_TABLE=yes creates its tables (events and
        # their hash chain, and snapshots once the application enables snapshotting) in the
        # school's schema; the access log of case reads is created beside them. The chains'
        # ``created`` checkpoints mark them keyed from the start.
        with shared_pool().connection() as conn:
            create_access_log(conn, schema)
            create_pupil_keys(conn, schema)
        CaseworkApplication(env=log_env(CaseworkApplication.name, keys, create_table=True))
        with shared_pool().connection() as conn:
            created = record_created(conn, trail.signer, keys)
        publish(trail.sink, created)
        wrapped = wrap_key(master_key, data_key, school_id.bytes)
        return registry.register_school(
            board_id=board.id, name=name, slug=school_slug, wrapped_data_key=wrapped
        )
