"""Tamper evidence for an event log: every stored event is chained to the one before it by a
keyed hash.

Words used here:

- The **chain table** ``<events table>_chain`` (``notification_id``, ``hash``) has one row per
  stored event. Our recorder (:mod:`infra.adapters.postgres.store`) writes it in the same
  transaction as
  the events, under the event table's ``EXCLUSIVE`` lock, so reading the previous head is safe:
  no other writer of that log runs at the same time.
- A **link**: ``hash_n = HMAC-SHA256(chain key, hash_{n-1} || encode(row_n))``, where ``row_n`` is
  the n-th stored event in notification-id order and ``hash_0`` is the log's **genesis** (a
  constant that names the schema and table). The **chain key** is derived from the master key
  for this one log (:func:`infra.adapters.audit.trail.AuditTrail.chain_key`); it is never stored in
  the
  database nor sent to it, so someone who can write the database cannot compute a link: links
  are computed in Python, under the lock.
- The **encoding** of a row covers exactly the stored bytes: the notification id, the originator
  id, the originator version, the topic and the (encrypted) state, each length-prefixed or of
  fixed width, big-endian.
- **Legacy links** (``sha256(hash_{n-1} || encode(row_n))``, no key) are what versions before the
  keyed chain wrote; :mod:`infra.adapters.audit.migration` checks them once and re-seals the log.

Notification ids may have gaps (a refused insert consumes sequence values), so the chain links
consecutive *stored* events, not consecutive numbers; each link covers its notification id, so
moving, deleting, inserting or swapping rows all break it. Cutting the newest events (with their
links) leaves a shorter chain that is still consistent: that is what checkpoints are for
(:mod:`infra.adapters.audit.checkpoints`).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

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


def link(key: bytes, previous: bytes, body: bytes) -> bytes:
    """The keyed link of an entry whose canonical bytes are ``body``."""
    return hmac.new(key, previous + body, hashlib.sha256).digest()


def legacy_link(previous: bytes, body: bytes) -> bytes:
    """The unkeyed link older versions wrote (checked once, when a log is re-sealed)."""
    return hashlib.sha256(previous + body).digest()


def create_chain_table_statement(schema: str, events_table: str) -> Composed:
    return SQL(
        "CREATE TABLE IF NOT EXISTS {} (notification_id bigint PRIMARY KEY, hash bytea NOT NULL)"
    ).format(Identifier(schema, chain_table(events_table)))


def head_statement(schema: str, events_table: str) -> Composed:
    """The chain's head: the newest link (one row, ``head``; no row before the first event)."""
    return SQL("SELECT hash AS head FROM {} ORDER BY notification_id DESC LIMIT 1").format(
        Identifier(schema, chain_table(events_table))
    )


def insert_events_statement(schema: str, events_table: str, id_type: str) -> Composed:
    """Insert stored events (four arrays, as ``unnest`` rows); returns each event's notification
    id (in insertion order, which is notification-id order).

    A plain ``INSERT … RETURNING``: no CTE around it, so a distributed schema (Citus) routes it
    to the node that holds the school as it is. The caller holds the event table's lock (the
    application recorder takes it first) and reads the chain's head (:func:`head_statement`) in
    the same transaction, so the head cannot move before the links are inserted
    (:func:`insert_links_statement`). ``id_type`` is ``uuid`` or ``text`` (validated by the
    datastore).
    """
    return SQL(
        "INSERT INTO {events} (originator_id, originator_version, topic, state)"
        " SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[])"
        " RETURNING notification_id"
    ).format(events=Identifier(schema, events_table), id_type=SQL(id_type))


def insert_links_statement(schema: str, events_table: str) -> Composed:
    """Insert links (two arrays: notification ids, hashes)."""
    return SQL(
        "INSERT INTO {} (notification_id, hash) SELECT * FROM unnest(%s::bigint[], %s::bytea[])"
    ).format(Identifier(schema, chain_table(events_table)))


def links_for(
    key: bytes,
    previous: bytes,
    rows: Sequence[tuple[int, Any, int, str, bytes]],
) -> list[bytes]:
    """The links of ``rows`` (id, originator, version, topic, state) following ``previous``."""
    hashes = []
    for nid, oid, version, topic, state in rows:
        previous = link(key, previous, encode_event(nid, oid, version, topic, state))
        hashes.append(previous)
    return hashes


def table_exists(conn: Connection[Any], schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{table}"',), prepare=False
    ).fetchone()
    assert row is not None
    return bool(row[0] if not isinstance(row, dict) else next(iter(row.values())))


def event_batches(
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


def chain_batches(
    conn: Connection[Any], schema: str, events_table: str, after: int = 0
) -> Iterator[list[tuple[Any, ...]]]:
    """The log's links (id, hash), in id order, in batches."""
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


def rows_of(batches: Iterator[list[tuple[Any, ...]]]) -> Iterator[tuple[Any, ...]]:
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
    #: Stored hash at each notification id asked for (checkpoint positions) that was reached;
    #: position 0 is the genesis.
    hashes_at: dict[int, bytes] | None = None


#: ``opens(notification id, originator id, version, topic, state)``: whether the state
#: decrypts for that event (its associated data); see :mod:`infra.adapters.postgres.cipher`.
Opener = Callable[[int, Any, int, str, bytes], bool]

_NOT_ITS_CIPHERTEXT = (
    "its encrypted state does not belong to it (school, case, version and type are bound to "
    "the ciphertext): it was changed, or copied here from another event"
)


def walk_chain(
    conn: Connection[Any],
    schema: str,
    events_table: str,
    key: bytes,
    positions: frozenset[int] = frozenset(),
    opens: Opener | None = None,
) -> ChainWalk:
    """Recompute the keyed chain over the whole log and compare it with the stored links.

    Reads both tables in notification-id order in one repeatable-read, read-only transaction (one
    snapshot, while commands go on), ``BATCH`` rows per round trip, and stops at the first
    event that does not fit. ``positions``: notification ids whose stored hash the caller wants
    (the checkpoints to compare). ``opens``: also check that every event's ciphertext
    decrypts for it (a chained event whose ciphertext does not is named too: written with the
    wrong identity, e.g. by a process of an older version).
    """
    start = genesis(schema, events_table)
    result = ChainWalk(head_hash=start, hashes_at={0: start} if 0 in positions else {})
    assert result.hashes_at is not None
    previous = start
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        events = rows_of(event_batches(conn, schema, events_table))
        links = rows_of(chain_batches(conn, schema, events_table))
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
                    "is missing from the log: the chain has a link for it, so it was deleted "
                    "(or moved to another position)",
                )
                return result
            nid, oid, version, topic, state = event
            state = bytes(state)
            expected = link(key, previous, encode_event(nid, oid, version, topic, state))
            stored = bytes(chained[1])
            belongs = opens is None or opens(int(nid), oid, int(version), topic, state)
            if not hmac.compare_digest(stored, expected):
                problem = (
                    f"does not match the chain: {_NOT_ITS_CIPHERTEXT}"
                    if not belongs
                    else "does not match the chain: its stored row (position, case, version, "
                    "type or bytes), or the link before it, was changed after it was written"
                )
                result.broken = Break(int(nid), str(oid), int(version), problem)
                return result
            if not belongs:
                problem = f"is in the chain, but {_NOT_ITS_CIPHERTEXT}"
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


def before_reseal_table(events_table: str) -> str:
    """Where the links a re-sealing replaced are kept (``vangnet privacy seal-old``)."""
    return f"{events_table}_chain_before_reseal"


def create_before_reseal_statement(schema: str, events_table: str) -> Any:
    return SQL(
        "CREATE TABLE IF NOT EXISTS {} ("
        " notification_id bigint PRIMARY KEY,"
        " hash bytea NOT NULL,"
        " resealed_at timestamptz NOT NULL DEFAULT now())"
    ).format(Identifier(schema, before_reseal_table(events_table)))


def hashes_before_reseal(
    conn: Connection[Any], schema: str, events_table: str, positions: frozenset[int]
) -> dict[int, bytes]:
    """The links a re-sealing replaced, at ``positions`` (empty: never re-sealed there)."""
    if not positions or not table_exists(conn, schema, before_reseal_table(events_table)):
        return {}
    rows = conn.execute(
        SQL("SELECT notification_id, hash FROM {} WHERE notification_id = ANY(%s)").format(
            Identifier(schema, before_reseal_table(events_table))
        ),
        (sorted(positions),),
    ).fetchall()
    found: dict[int, bytes] = {}
    for row in rows:
        nid, hash_ = (row["notification_id"], row["hash"]) if isinstance(row, dict) else row
        found[int(nid)] = bytes(hash_)
    return found
