"""Re-sealing a log written before the keyed chain: once, at start-up, under the log's lock.

Versions before the keyed chain wrote unkeyed links (``sha256``), encrypted states without
associated data (eventsourcing's ``AESCipher``) and unsigned checkpoints; the oldest wrote no
chain at all. Such a log is brought up to date once (:func:`seal_events`, :func:`seal_reads`),
in one transaction holding its table lock so no entry slips in meanwhile:

1. the old chain (when there is one) must verify, and so must the old checkpoints recorded in
   the database — a log that does not is *not* re-sealed (that would bless the tampering); it
   stays unreadable and ``vangnet audit verify`` names it;
2. every event's state is decrypted the old way and encrypted again bound to its event
   (:mod:`infra.adapters.postgres.cipher`); an event already in the new format means the log was
   sealed
   before, so nothing is re-sealed;
3. the keyed chain is computed over the result and replaces the old links;
4. a signed ``sealed`` checkpoint of the head records from when the log is tamper-evident in
   the new way (an empty log gets a ``created`` one at position 0), in the database and outside.

A log counts as sealed once the database holds a keyed checkpoint of it (new logs get one when
they are created). Someone who deletes those rows to have a tampered log re-sealed finds it
refused: the states are already in the new format, and the outside copy still holds the log's
keyed checkpoints. Old-format states are never accepted afterwards.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from psycopg.sql import SQL, Identifier

from infra.adapters.audit import access_log, checkpoints
from infra.adapters.audit.checkpoints import publish
from infra.adapters.audit.trail import AuditTrail
from infra.adapters.postgres.chain import (
    BATCH,
    chain_batches,
    chain_table,
    create_chain_table_statement,
    encode_event,
    event_batches,
    genesis,
    legacy_link,
    link,
    rows_of,
    table_exists,
)
from infra.adapters.postgres.cipher import (
    EventIntegrityError,
    associated_data,
    open_legacy,
    open_state,
    seal_state,
)
from infra.adapters.postgres.store import LogKeys
from projections.db import PLATFORM_SCHEMA
from services.audit import checkpoints as signed
from services.audit.checkpoints import Checkpoint
from services.audit.verify import ACCESS_LOG

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sealed:
    """What re-sealing one chain did: the entries sealed and the checkpoint recorded, or why
    it was refused."""

    log: str
    chain: str
    entries: int = 0
    checkpoint: Checkpoint | None = None
    refused: str | None = None


class _Refused(Exception):
    pass


def is_keyed(conn: Connection[Any], schema: str, chain: str) -> bool:
    """Whether the database holds a keyed checkpoint of the chain (it was sealed or created)."""
    row = conn.execute(
        SQL("SELECT 1 FROM {} WHERE log = %s AND chain = %s AND scheme = %s LIMIT 1").format(
            Identifier(PLATFORM_SCHEMA, checkpoints.TABLE)
        ),
        (schema, chain, signed.SCHEME),
    ).fetchone()
    return row is not None


def _outside_keyed(trail: AuditTrail, schema: str, chain: str) -> int:
    """How many signed keyed checkpoints of the chain the outside copy holds."""
    found = 0
    for line in trail.sink.read(schema):
        checkpoint = signed.from_record(line.record) if line.record else None
        if (
            checkpoint is not None
            and checkpoint.chain == chain
            and checkpoint.scheme == signed.SCHEME
            and signed.signature_problem(trail.signer, checkpoint) is None
        ):
            found += 1
    return found


def _legacy_positions(conn: Connection[Any], schema: str, chain: str) -> dict[int, bytes]:
    return {
        c.position: c.hash
        for c in checkpoints.checkpoints_of(conn, schema)
        if c.chain == chain and c.scheme == signed.LEGACY_SCHEME
    }


def _guard(conn: Connection[Any], trail: AuditTrail, schema: str, chain: str) -> None:
    outside = _outside_keyed(trail, schema, chain)
    if outside:
        msg = (
            f"the outside copy ({trail.sink.where(schema)}) holds {outside} keyed checkpoint(s) "
            "of it but the database none: they were deleted from the database"
        )
        raise _Refused(msg)
    del conn


def _finish(
    conn: Connection[Any], trail: AuditTrail, schema: str, chain: str, head: int, hash_: bytes
) -> Checkpoint:
    kind = signed.KIND_SEALED if head else signed.KIND_CREATED
    checkpoint = signed.sign(trail.signer, schema, chain, head, hash_, kind)
    checkpoints.insert(conn, checkpoint)
    return checkpoint


def _pairs(
    conn: Connection[Any], schema: str, events_table: str, has_links: bool
) -> Iterator[tuple[tuple[Any, ...], bytes | None]]:
    """Each event with its old link (``None`` when the log had no chain)."""
    links = rows_of(chain_batches(conn, schema, events_table)) if has_links else iter(())
    pending = next(links, None)
    for event in rows_of(event_batches(conn, schema, events_table)):
        if not has_links:
            yield event, None
            continue
        if pending is None or int(pending[0]) != int(event[0]):
            at = event[0] if pending is None or pending[0] > event[0] else pending[0]
            msg = f"its old chain does not cover the log at #{at}: not re-sealed"
            raise _Refused(msg)
        yield event, bytes(pending[1])
        pending = next(links, None)
    if pending is not None:
        msg = f"its old chain has a link #{pending[0]} without an event: not re-sealed"
        raise _Refused(msg)


def seal_events(conn: Connection[Any], trail: AuditTrail, keys: LogKeys) -> Sealed | None:
    """Re-seal a log of events written before the keyed chain (see the module docstring).

    ``None``: nothing to do (no such log, or it is keyed already). Runs in its own transaction
    on ``conn`` (an autocommit connection); the checkpoint is published after the commit.
    """
    schema, events_table = keys.schema, keys.events_table
    if not table_exists(conn, schema, events_table) or is_keyed(conn, schema, events_table):
        return None
    try:
        with conn.transaction():
            conn.execute(
                SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(Identifier(schema, events_table))
            )
            if is_keyed(conn, schema, events_table):
                return None  # another process sealed it while we waited for the lock
            _guard(conn, trail, schema, events_table)
            count, head, head_hash = _reseal_events(conn, keys)
            checkpoint = _finish(conn, trail, schema, events_table, head, head_hash)
    except _Refused as refusal:
        log.error("%s.%s was not re-sealed: %s", schema, events_table, refusal)
        return Sealed(schema, events_table, refused=str(refusal))
    publish(trail.sink, [checkpoint])
    if count:
        log.warning(
            "%s.%s: %d events written before the keyed chain were re-sealed now",
            schema, events_table, count,
        )  # fmt: skip
    return Sealed(schema, events_table, entries=count, checkpoint=checkpoint)


def _reseal_events(conn: Connection[Any], keys: LogKeys) -> tuple[int, int, bytes]:
    """Check the old chain, re-encrypt every state, replace the links (under the caller's lock
    and transaction); returns (events, head position, head hash)."""
    schema, events_table = keys.schema, keys.events_table
    chain = Identifier(schema, chain_table(events_table))
    has_chain = table_exists(conn, schema, chain_table(events_table))
    if not has_chain:
        conn.execute(create_chain_table_statement(schema, events_table))
    has_links = has_chain and _has_rows(conn, schema, chain_table(events_table))
    expected_old = _legacy_positions(conn, schema, events_table)
    old_previous = new_previous = genesis(schema, events_table)
    ids: list[int] = []  # the batch being rewritten
    states: list[bytes] = []
    chained: list[int] = []  # every event, for the new links
    hashes: list[bytes] = []
    for (nid, oid, version, topic, stored), old_link in _pairs(
        conn, schema, events_table, has_links
    ):
        state = bytes(stored)
        aad = associated_data(keys.context, oid, int(version), topic)
        _refuse_if_keyed(keys.data_key, aad, state, int(nid))
        if old_link is not None:
            old_previous = legacy_link(old_previous, encode_event(nid, oid, version, topic, state))
            if not hmac.compare_digest(old_link, old_previous):
                msg = f"event #{nid} does not match its old chain: not re-sealed"
                raise _Refused(msg)
            if nid in expected_old and expected_old.pop(nid) != old_previous:
                msg = f"its old chain does not match its checkpoint #{nid}: not re-sealed"
                raise _Refused(msg)
        new_state = _reencrypt(keys.data_key, aad, state, int(nid))
        new_previous = link(
            keys.chain_key, new_previous, encode_event(nid, oid, version, topic, new_state)
        )
        ids.append(int(nid))
        states.append(new_state)
        chained.append(int(nid))
        hashes.append(new_previous)
        if len(ids) >= BATCH:
            _rewrite(conn, schema, events_table, ids, states)
            ids, states = [], []
    if ids:
        _rewrite(conn, schema, events_table, ids, states)
    if expected_old and has_links:
        missing = min(expected_old)
        msg = f"its old checkpoint #{missing} is beyond the log's end: not re-sealed"
        raise _Refused(msg)
    conn.execute(SQL("DELETE FROM {}").format(chain))
    for start in range(0, len(chained), BATCH):
        conn.execute(
            SQL(
                "INSERT INTO {} (notification_id, hash) "
                "SELECT * FROM unnest(%s::bigint[], %s::bytea[])"
            ).format(chain),
            (chained[start : start + BATCH], hashes[start : start + BATCH]),
        )
    return len(chained), (chained[-1] if chained else 0), new_previous


def _refuse_if_keyed(key: bytes, aad: bytes, state: bytes, nid: int) -> None:
    try:
        open_state(key, aad, state)
    except EventIntegrityError:
        return
    msg = (
        f"event #{nid} is already in the new format, so the log was sealed before and its "
        "keyed checkpoints were deleted from the database: not re-sealed"
    )
    raise _Refused(msg)


def _reencrypt(key: bytes, aad: bytes, state: bytes, nid: int) -> bytes:
    try:
        plain = open_legacy(key, state)
    except EventIntegrityError:
        msg = f"event #{nid} does not decrypt (old or new format): not re-sealed"
        raise _Refused(msg) from None
    return seal_state(key, aad, plain)


def _has_rows(conn: Connection[Any], schema: str, table: str) -> bool:
    row = conn.execute(SQL("SELECT 1 FROM {} LIMIT 1").format(Identifier(schema, table))).fetchone()
    return row is not None


def _rewrite(
    conn: Connection[Any], schema: str, table: str, ids: list[int], states: list[bytes]
) -> None:
    conn.execute(
        SQL(
            "UPDATE {} e SET state = v.state FROM unnest(%s::bigint[], %s::bytea[]) "
            "AS v(id, state) WHERE e.notification_id = v.id"
        ).format(Identifier(schema, table)),
        (ids, states),
    )


def seal_reads(conn: Connection[Any], trail: AuditTrail, keys: LogKeys) -> Sealed | None:
    """Re-seal a school's access log chained before the keyed chain (same rules as events)."""
    schema = keys.schema
    if keys.reads_key is None or not table_exists(conn, schema, ACCESS_LOG):
        return None
    if is_keyed(conn, schema, ACCESS_LOG):
        return None
    table = Identifier(schema, ACCESS_LOG)
    try:
        with conn.transaction():
            conn.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            if is_keyed(conn, schema, ACCESS_LOG):
                return None
            _guard(conn, trail, schema, ACCESS_LOG)
            expected_old = _legacy_positions(conn, schema, ACCESS_LOG)
            old_previous = new_previous = access_log.genesis(schema)
            ids: list[int] = []
            hashes: list[bytes] = []
            for batch in access_log.read_batches(conn, schema):
                for read_id, case_id, user_id, role, what, read_at, stored in batch:
                    body = access_log.encode_read(read_id, case_id, user_id, role, what, read_at)
                    old_previous = access_log.legacy_link(old_previous, body)
                    if not hmac.compare_digest(bytes(stored), old_previous):
                        msg = f"read #{read_id} does not match its old chain: not re-sealed"
                        raise _Refused(msg)
                    if read_id in expected_old and expected_old.pop(read_id) != old_previous:
                        msg = f"its old chain does not match its checkpoint #{read_id}"
                        raise _Refused(msg)
                    new_previous = access_log.link(keys.reads_key, new_previous, body)
                    ids.append(int(read_id))
                    hashes.append(new_previous)
            if expected_old:
                msg = f"its old checkpoint #{min(expected_old)} is beyond the log's end"
                raise _Refused(msg)
            for start in range(0, len(ids), BATCH):
                conn.execute(
                    SQL(
                        "UPDATE {} r SET hash = v.hash FROM unnest(%s::bigint[], %s::bytea[]) "
                        "AS v(id, hash) WHERE r.id = v.id"
                    ).format(table),
                    (ids[start : start + BATCH], hashes[start : start + BATCH]),
                )
            checkpoint = _finish(
                conn, trail, schema, ACCESS_LOG, ids[-1] if ids else 0, new_previous
            )
    except _Refused as refusal:
        log.error("%s.%s was not re-sealed: %s", schema, ACCESS_LOG, refusal)
        return Sealed(schema, ACCESS_LOG, refused=str(refusal))
    publish(trail.sink, [checkpoint])
    return Sealed(schema, ACCESS_LOG, entries=len(ids), checkpoint=checkpoint)
