"""Tamper evidence for an event log: every stored event is chained to the one before by a hash.

Words used here:

- The **chain table** ``<events table>_chain`` (``notification_id``, ``hash``) has one row per
  stored event. Our recorder (:mod:`infra.postgres.store`) writes it in the same statement as the
  events, under the event table's ``EXCLUSIVE`` lock, so reading the previous head is safe: no
  other writer of that log runs at the same time.
- A **link**: ``hash_n = sha256(hash_{n-1} || encode(row_n))``, where ``row_n`` is the n-th stored
  event in notification-id order and ``hash_0`` is the log's **genesis** (a constant that names
  the schema and table, so a log copied into another school's schema does not verify).
- The **encoding** of a row covers exactly the stored bytes: the notification id, the originator
  id, the originator version, the topic and the (encrypted) state, each length-prefixed or of
  fixed width, big-endian. It is computed in SQL when writing and in Python when verifying; the
  two must agree byte for byte (``tests/integration/test_audit_chain.py`` checks both ways).
- **Sealing**: a log written before the chain existed is chained once, when its chain table is
  introduced (:func:`introduce_chain`). Those events are tamper-evident from that moment on, not
  from when they were written; the seal is recorded as a checkpoint of kind ``sealed`` so that
  ``vangnet audit verify`` can say so.

Notification ids may have gaps (a refused insert consumes sequence values), so the chain links
consecutive *stored* events, not consecutive numbers; each link covers its notification id, so
moving, deleting, inserting or swapping rows all break it. Recomputing every hash after a
rewritten event is not caught by the chain alone: that is what checkpoints are for
(:mod:`infra.audit.checkpoints`).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

CHAIN_SUFFIX = "_chain"
#: Rows read per round trip when sealing or verifying.
BATCH = 5000

_GENESIS_LABEL = b"vangnet event chain v1\x00"


def chain_table(events_table: str) -> str:
    """The chain table of an events table (``casework_events`` -> ``casework_events_chain``)."""
    return events_table + CHAIN_SUFFIX


def genesis(schema: str, events_table: str) -> bytes:
    """``hash_0`` of a log: binds the chain to where the log lives."""
    return hashlib.sha256(_GENESIS_LABEL + f"{schema}.{events_table}".encode()).digest()


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def encode_event(
    notification_id: int, originator_id: Any, originator_version: int, topic: str, state: bytes
) -> bytes:
    """The canonical bytes of one stored event (see the module docstring)."""
    return b"".join(
        (
            struct.pack(">q", notification_id),
            _text(str(originator_id)),
            struct.pack(">q", originator_version),
            _text(topic),
            struct.pack(">i", len(state)),
            state,
        )
    )


def link(previous: bytes, body: bytes) -> bytes:
    return hashlib.sha256(previous + body).digest()


#: The same encoding in SQL, over columns of the row (``int4send``/``int8send`` are big-endian).
_SQL_ENCODING = (
    "int8send(notification_id)"
    " || int4send(octet_length(convert_to(originator_id::text, 'UTF8')))"
    " || convert_to(originator_id::text, 'UTF8')"
    " || int8send(originator_version)"
    " || int4send(octet_length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8')"
    " || int4send(octet_length(state)) || state"
)


def create_chain_table_statement(schema: str, events_table: str) -> Composed:
    return SQL(
        "CREATE TABLE IF NOT EXISTS {} (notification_id bigint PRIMARY KEY, hash bytea NOT NULL)"
    ).format(Identifier(schema, chain_table(events_table)))


def chained_insert_statement(schema: str, events_table: str, id_type: str) -> Composed:
    """Insert stored events (four arrays, as ``unnest`` rows) and their chain links, in one
    statement; returns the events' notification ids in insertion order.

    The caller holds the event table's lock (the application recorder takes it first), so the
    chain's head cannot move underneath. ``id_type`` is ``uuid`` or ``text`` (validated by the
    datastore). The links are computed by a recursive walk over the batch's rows gathered in
    two arrays; ``MATERIALIZED`` keeps PostgreSQL from recomputing the arrays at every step of
    the walk (that made a 1,000-event save take seconds). Reading an element of an array of
    variable-length values still costs its position, so the recorder chains big saves in
    chunks (``infra.postgres.store.CHAIN_CHUNK``).
    """
    return SQL(
        "WITH RECURSIVE inserted AS ("
        " INSERT INTO {events} (originator_id, originator_version, topic, state)"
        " SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[])"
        " RETURNING notification_id, originator_id, originator_version, topic, state"
        "), batch AS MATERIALIZED ("
        " SELECT array_agg(notification_id ORDER BY notification_id) AS ids,"
        " array_agg({encoding} ORDER BY notification_id) AS bodies FROM inserted"
        "), walk (n, notification_id, hash) AS ("
        " SELECT 0, NULL::bigint, coalesce("
        "  (SELECT hash FROM {chain} ORDER BY notification_id DESC LIMIT 1), {genesis})"
        " UNION ALL"
        " SELECT w.n + 1, b.ids[w.n + 1], sha256(w.hash || b.bodies[w.n + 1])"
        " FROM walk w, batch b WHERE w.n < cardinality(b.ids)"
        ")"
        " INSERT INTO {chain} (notification_id, hash)"
        " SELECT notification_id, hash FROM walk WHERE n > 0 ORDER BY n"
        " RETURNING notification_id"
    ).format(
        events=Identifier(schema, events_table),
        chain=Identifier(schema, chain_table(events_table)),
        id_type=SQL(id_type),
        encoding=SQL(_SQL_ENCODING),
        genesis=Literal(genesis(schema, events_table)),
    )


def table_exists(conn: Connection[Any], schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{table}"',), prepare=False
    ).fetchone()
    assert row is not None
    return bool(row[0] if not isinstance(row, dict) else next(iter(row.values())))


@dataclass(frozen=True)
class Sealed:
    """The outcome of introducing a chain to a log that already had events."""

    events: int
    head_id: int
    head_hash: bytes


def introduce_chain(conn: Connection[Any], schema: str, events_table: str) -> Sealed | None:
    """Create the chain table of an existing log and chain (seal) the events already in it.

    Does nothing (returns ``None``) when the chain table exists or the log does not. Runs in one
    transaction holding the event table's lock, so no event slips in unchained; it never
    recomputes an existing chain (that would erase the evidence it exists for).
    """
    if table_exists(conn, schema, chain_table(events_table)):
        return None
    if not table_exists(conn, schema, events_table):
        return None
    events = Identifier(schema, events_table)
    chain = Identifier(schema, chain_table(events_table))
    with conn.transaction():
        conn.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events))
        if table_exists(conn, schema, chain_table(events_table)):
            return None  # another process introduced it while we waited for the lock
        conn.execute(create_chain_table_statement(schema, events_table))
        previous = genesis(schema, events_table)
        count = 0
        head_id = 0
        for batch in _event_batches(conn, schema, events_table):
            ids, hashes = [], []
            for nid, oid, version, topic, state in batch:
                previous = link(previous, encode_event(nid, oid, version, topic, bytes(state)))
                ids.append(nid)
                hashes.append(previous)
            conn.execute(
                SQL(
                    "INSERT INTO {} (notification_id, hash) SELECT * FROM unnest(%s::bigint[], "
                    "%s::bytea[])"
                ).format(chain),
                (ids, hashes),
            )
            count += len(ids)
            head_id = ids[-1]
    if count == 0:
        return Sealed(events=0, head_id=0, head_hash=genesis(schema, events_table))
    return Sealed(events=count, head_id=head_id, head_hash=previous)


def _event_batches(
    conn: Connection[Any], schema: str, events_table: str, after: int = 0
) -> Iterator[list[tuple[Any, ...]]]:
    """The log's rows (id, originator, version, topic, state), in id order, in batches."""
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(Identifier(schema, events_table))
    while True:
        with conn.cursor(row_factory=tuple_row) as curs:
            rows = curs.execute(statement, (after, BATCH)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]
        if len(rows) < BATCH:
            return


def _chain_batches(
    conn: Connection[Any], schema: str, events_table: str, after: int = 0
) -> Iterator[list[tuple[Any, ...]]]:
    statement = SQL(
        "SELECT notification_id, hash FROM {} WHERE notification_id > %s "
        "ORDER BY notification_id LIMIT %s"
    ).format(Identifier(schema, chain_table(events_table)))
    while True:
        with conn.cursor(row_factory=tuple_row) as curs:
            rows = curs.execute(statement, (after, BATCH)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]
        if len(rows) < BATCH:
            return


def _rows(batches: Iterator[list[tuple[Any, ...]]]) -> Iterator[tuple[Any, ...]]:
    for batch in batches:
        yield from batch


@dataclass(frozen=True)
class Break:
    """The first stored event (or chain link) that does not fit the chain."""

    notification_id: int
    originator_id: str | None  # None: the event itself is gone
    originator_version: int | None
    problem: str


@dataclass
class ChainWalk:
    """What walking a log's chain found."""

    verified: int = 0
    head_id: int = 0
    head_hash: bytes = b""
    broken: Break | None = None
    #: Stored hash at each notification id asked for (checkpoint positions) that was reached.
    hashes_at: dict[int, bytes] | None = None


def walk_chain(
    conn: Connection[Any], schema: str, events_table: str, positions: frozenset[int] = frozenset()
) -> ChainWalk:
    """Recompute the chain over the whole log and compare it with the stored links.

    Reads both tables in notification-id order in one repeatable-read, read-only transaction (one
    snapshot, while commands go on), ``BATCH`` rows per round trip, and stops at the first
    event that does not fit. ``positions``: notification ids whose stored hash the caller wants
    (the checkpoints to compare).
    """
    result = ChainWalk(head_hash=genesis(schema, events_table), hashes_at={})
    assert result.hashes_at is not None
    previous = result.head_hash
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        events = _rows(_event_batches(conn, schema, events_table))
        links = _rows(_chain_batches(conn, schema, events_table))
        event = next(events, None)
        chained = next(links, None)
        while event is not None or chained is not None:
            if chained is None or (event is not None and event[0] < chained[0]):
                assert event is not None
                result.broken = Break(
                    event[0],
                    str(event[1]),
                    int(event[2]),
                    "is not in the chain: it was added to the log outside Vangnet's recorder",
                )
                return result
            if event is None or chained[0] < event[0]:
                result.broken = Break(
                    int(chained[0]),
                    None,
                    None,
                    "is missing from the log: the chain has a link for it, so it was deleted",
                )
                return result
            nid, oid, version, topic, state = event
            expected = link(previous, encode_event(nid, oid, version, topic, bytes(state)))
            stored = bytes(chained[1])
            if stored != expected:
                problem = (
                    "does not match the chain: its stored bytes (or the link before it) were "
                    "changed after it was written"
                )
                result.broken = Break(int(nid), str(oid), int(version), problem)
                return result
            if nid in positions:
                result.hashes_at[int(nid)] = stored
            previous = stored
            result.verified += 1
            result.head_id = int(nid)
            result.head_hash = stored
            event = next(events, None)
            chained = next(links, None)
    return result
