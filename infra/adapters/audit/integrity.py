"""Verifying a log, the adapter: reading its checkpoints, walking its keyed chain (with its
ciphertexts) and its access log in the database, for the rules in
:mod:`services.audit.verify` (which name what does not fit). ``vangnet audit verify`` prints the
:class:`~services.audit.verify.LogReport`; it never holds case content (ids only).
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from infra.adapters.audit import access_log, checkpoints
from infra.adapters.audit.checkpoints import publish
from infra.adapters.audit.trail import SCHOOL_EVENTS, AuditTrail, current_trail
from infra.adapters.postgres.chain import (
    chain_table,
    hashes_before_reseal,
    table_exists,
    walk_chain,
)
from infra.adapters.postgres.cipher import EventIntegrityError, associated_data, open_state
from infra.adapters.postgres.pool import SharedPool
from infra.adapters.postgres.store import LogKeys
from services.audit.checkpoints import Checkpoint
from services.audit.verify import ACCESS_LOG, LogReport, WalkChain, Walked, verify_chains
from tenants.registry import School


def _opener(keys: LogKeys) -> Any:
    def opens(_nid: int, oid: Any, version: int, topic: str, state: bytes) -> bool:
        try:
            open_state(keys.data_key, associated_data(keys.context, oid, version, topic), state)
        except EventIntegrityError:
            return False
        return True

    return opens


def _event_walk(conn: Connection[Any], keys: LogKeys) -> WalkChain:
    def walk(positions: frozenset[int]) -> Walked:
        found = walk_chain(
            conn, keys.schema, keys.events_table, keys.chain_key, positions, opens=_opener(keys)
        )
        broken = None
        if found.broken is not None:
            b = found.broken
            subject = (
                f"event #{b.notification_id} (case {b.originator_id}, "
                f"version {b.originator_version})"
                if b.originator_id is not None
                else f"event #{b.notification_id}"
            )
            broken = (subject, b.problem)
        before = hashes_before_reseal(conn, keys.schema, keys.events_table, positions)
        return Walked(found.verified, found.head_id, found.hashes_at or {}, broken, before)

    return walk


def _read_walk(conn: Connection[Any], schema: str, key: bytes) -> WalkChain:
    def walk(positions: frozenset[int]) -> Walked:
        found = access_log.walk_reads(conn, schema, key, positions)
        broken = None
        if found.broken is not None:
            read_id, case_id, problem = found.broken
            broken = (f"case read #{read_id} (case {case_id})", problem)
        return Walked(found.verified, found.head_id, found.hashes_at or {}, broken)

    return walk


def verify_log(conn: Connection[Any], trail: AuditTrail, keys: LogKeys) -> LogReport:
    """Walk one log's chain and access log, and compare them with their checkpoints
    (:func:`services.audit.verify.verify_chains`)."""
    schema = keys.schema
    has_chain = table_exists(conn, schema, chain_table(keys.events_table))
    has_reads = keys.reads_key is not None and table_exists(conn, schema, ACCESS_LOG)
    return verify_chains(
        label=keys.label,
        schema=schema,
        events_table=keys.events_table,
        in_db=checkpoints.checkpoints_of(conn, schema),
        signer=trail.signer,
        sink=trail.sink,
        walk_events=_event_walk(conn, keys) if has_chain else None,
        walk_reads=(
            _read_walk(conn, schema, keys.reads_key)
            if has_reads and keys.reads_key is not None
            else None
        ),
    )


def verify_school(pool: SharedPool, school: School) -> LogReport:
    trail = current_trail()
    with pool.connection() as conn:
        return verify_log(conn, trail, trail.school_log(school))


def verify_platform(pool: SharedPool) -> LogReport:
    trail = current_trail()
    with pool.connection() as conn:
        return verify_log(conn, trail, trail.platform_log())


def checkpoint_school(pool: SharedPool, school: School) -> list[Checkpoint]:
    """Record (and publish outside) the heads of a school's log and access log that moved."""
    trail = current_trail()
    with pool.connection() as conn:
        recorded = checkpoints.checkpoint_log(conn, trail.signer, school.schema_name, SCHOOL_EVENTS)
    publish(trail.sink, recorded)
    return recorded


def checkpoint_platform(pool: SharedPool) -> list[Checkpoint]:
    """Record (and publish outside) the head of the registry's log, if it moved."""
    trail = current_trail()
    keys = trail.platform_log()
    with pool.connection() as conn:
        recorded = checkpoints.checkpoint_log(conn, trail.signer, keys.schema, keys.events_table)
    publish(trail.sink, recorded)
    return recorded
