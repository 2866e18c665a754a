"""The access log's storage (:class:`services.audit.access_log.AccessLogStore`): every read of a
case's content, one row per read, in the school's schema.

Each row says who (the user id, an opaque identifier from the identity provider, never a name),
in which role, when, which case, and how (:class:`ReadKind`: the case page, the API, the
history, an export, ...). Rows are chained like the event log (``hash_n = HMAC-SHA256(key,
hash_{n-1} || encode(row_n))`` with the access log's own chain key, derived from the master key
and never sent to the database: :mod:`infra.adapters.audit.trail`), so a deleted, changed or
inserted
read breaks the chain, and the chain's head is checkpointed with the events'
(:mod:`infra.adapters.audit.checkpoints`).

Appending takes the table's lock, reads the head (its id and hash) and the database's clock in
one statement, computes the link here and inserts the row: one transaction, three statements.

A read's id is the school's own counter, kept in the rows: the head's id plus one, taken under
the table's lock. Not a sequence: with Citus schema-based sharding a sequence's values depend on
the node that holds the school, so after the school's schema moves to another node they could
go backwards and the chain (walked in id order) would look tampered with. The head's id moves
with the rows. Logs written before used the column's sequence (increasing on one PostgreSQL
node): their ids stay, new ids continue above the highest, so they keep verifying unchanged.

Why a table of its own and not events in the school's event log: a read must stay a cheap
append. As an event it would take the school's event-table lock that every command takes, wake
every projection and send a catch-up hint, and two people reading the same case at once would
conflict on the aggregate's version. Here a read is one short transaction on its own table (lock,
insert, commit); the lock only orders reads among themselves, so the chain cannot fork.

Callers: the web handlers (through :func:`record_case_read_async`), and, for exports or scripts
on psycopg, :func:`record_case_read`. A read is recorded *before* its content is returned, so a
failing append fails the read (nothing is shown that was not recorded).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.adapters.audit.trail import current_trail
from projections.db import table as sql_table
from services.audit.access_log import CaseRead, ReadKind

TABLE = "case_reads"
BATCH = 5000
_GENESIS_LABEL = b"vangnet case reads v1\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def create_statements(schema: str) -> list[SQL | Any]:
    """The access log's table and index (idempotent)."""
    table = Identifier(schema, TABLE)
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " id bigint PRIMARY KEY,"
            " case_id uuid NOT NULL,"
            " user_id text NOT NULL,"
            " role text NOT NULL,"
            " what text NOT NULL,"
            " read_at timestamptz NOT NULL,"
            " hash bytea NOT NULL)"
        ).format(table),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {} (case_id, id)").format(
            Identifier(TABLE + "_by_case"), table
        ),
    ]


def create_access_log(conn: Connection[Any], schema: str) -> None:
    for statement in create_statements(schema):
        conn.execute(statement)


def genesis(schema: str) -> bytes:
    return hashlib.sha256(_GENESIS_LABEL + schema.encode()).digest()


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def encode_read(
    read_id: int, case_id: UUID | str, user_id: str, role: str, what: str, read_at: datetime
) -> bytes:
    """The canonical bytes of one read."""
    return b"".join(
        (
            struct.pack(">q", read_id),
            _text(str(case_id)),
            _text(user_id),
            _text(role),
            _text(what),
            struct.pack(">q", micros(read_at)),
        )
    )


def link(key: bytes, previous: bytes, body: bytes) -> bytes:
    """The keyed link of a read whose canonical bytes are ``body``."""
    return hmac.new(key, previous + body, hashlib.sha256).digest()


def legacy_link(previous: bytes, body: bytes) -> bytes:
    """The unkeyed link older versions computed in SQL (checked once, when re-sealing)."""
    return hashlib.sha256(previous + body).digest()


def _lock_sql(schema: str) -> str:
    return f"LOCK TABLE {sql_table(schema, TABLE)} IN EXCLUSIVE MODE"


def _next_sql(schema: str) -> str:
    """The next id (the head's plus one, 1 for the first read), the transaction's clock (the
    same for every web process) and the head's hash (NULL before the first read). Run under the
    table's lock."""
    table = sql_table(schema, TABLE)
    return (
        "SELECT coalesce(max(id), 0) + 1, now(), "  # noqa: S608 (identifiers via table())
        f"(SELECT hash FROM {table} ORDER BY id DESC LIMIT 1) FROM {table}"
    )


def _insert_sql(schema: str, placeholders: str) -> str:
    return (
        f"INSERT INTO {sql_table(schema, TABLE)} "  # noqa: S608 (identifiers via table())
        f"(id, case_id, user_id, role, what, read_at, hash) VALUES ({placeholders})"
    )


def _key(schema: str, key: bytes | None) -> bytes:
    if key is not None:
        return key
    return current_trail().chain_key(schema, TABLE)


def _chained(
    key: bytes,
    schema: str,
    head: bytes | None,
    read_id: int,
    case_id: UUID,
    user_id: str,
    role: str,
    what: str,
    read_at: datetime,
) -> bytes:
    previous = bytes(head) if head is not None else genesis(schema)
    return link(key, previous, encode_read(read_id, case_id, user_id, role, what, read_at))


async def record_case_read_async(
    pool: asyncpg.Pool,
    schema: str,
    case_id: UUID,
    user_id: str,
    role: str,
    what: ReadKind,
    *,
    key: bytes | None = None,
) -> int:
    """Append one read (asyncpg: the web side); returns its id. ``key``: the access log's
    chain key (default: from the process's audit trail)."""
    chain_key = _key(schema, key)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_lock_sql(schema))
        read_id, read_at, head = await conn.fetchrow(_next_sql(schema))
        hash_ = _chained(
            chain_key, schema, head, read_id, case_id, user_id, role, str(what), read_at
        )
        await conn.execute(
            _insert_sql(schema, "$1, $2, $3, $4, $5, $6, $7"),
            read_id, case_id, user_id, role, str(what), read_at, hash_,
        )  # fmt: skip
    return int(read_id)


def record_case_read(
    conn: Connection[Any],
    schema: str,
    case_id: UUID,
    user_id: str,
    role: str,
    what: ReadKind,
    *,
    key: bytes | None = None,
) -> int:
    """Append one read (psycopg: exports, scripts, the CLI); returns its id.

    Call it before handing out the content (an export that cannot be recorded is not made).
    """
    chain_key = _key(schema, key)
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as curs:
        curs.execute(_lock_sql(schema))
        row = curs.execute(_next_sql(schema)).fetchone()
        assert row is not None
        read_id, read_at, head = row
        hash_ = _chained(
            chain_key, schema, head, read_id, case_id, user_id, role, str(what), read_at
        )
        curs.execute(
            _insert_sql(schema, "%s, %s, %s, %s, %s, %s, %s"),
            (read_id, case_id, user_id, role, str(what), read_at, hash_),
        )
    return int(read_id)


@dataclass(frozen=True)
class PostgresAccessLog:
    """:class:`services.audit.access_log.AccessLogStore` of one school, on the web's asyncpg
    pool."""

    pool: asyncpg.Pool
    schema: str

    async def append(self, case_id: UUID, user_id: str, role: str, what: ReadKind) -> int:
        return await record_case_read_async(self.pool, self.schema, case_id, user_id, role, what)

    async def reads_of(self, case_id: UUID) -> list[CaseRead]:
        return await case_reads(self.pool, self.schema, case_id)


async def case_reads(pool: asyncpg.Pool, schema: str, case_id: UUID) -> list[CaseRead]:
    """Every recorded read of one case, oldest first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT id, case_id, user_id, role, what, read_at FROM {sql_table(schema, TABLE)} "  # noqa: S608 (identifiers via table())
            "WHERE case_id = $1 ORDER BY id",
            case_id,
        )
    return [
        CaseRead(r["id"], r["case_id"], r["user_id"], r["role"], r["what"], r["read_at"])
        for r in rows
    ]


@dataclass
class ReadsWalk:
    """What walking the access log's chain found."""

    verified: int = 0
    head_id: int = 0
    head_hash: bytes = b""
    #: (read id, case id, what is wrong) of the first read that does not fit.
    broken: tuple[int, str, str] | None = None
    hashes_at: dict[int, bytes] | None = None


def read_batches(conn: Connection[Any], schema: str) -> Iterator[list[tuple[Any, ...]]]:
    """The access log's rows (id, case, user, role, what, time, hash), in id order, in batches."""
    statement = SQL(
        "SELECT id, case_id, user_id, role, what, read_at, hash FROM {} WHERE id > %s "
        "ORDER BY id LIMIT %s"
    ).format(Identifier(schema, TABLE))
    after = 0
    while True:
        with conn.cursor(row_factory=tuple_row) as curs:
            rows = curs.execute(statement, (after, BATCH)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]
        if len(rows) < BATCH:
            return


def walk_reads(
    conn: Connection[Any], schema: str, key: bytes, positions: frozenset[int] = frozenset()
) -> ReadsWalk:
    """Recompute the access log's keyed chain and compare it with the stored hashes."""
    start_hash = genesis(schema)
    result = ReadsWalk(head_hash=start_hash, hashes_at={0: start_hash} if 0 in positions else {})
    assert result.hashes_at is not None
    previous = result.head_hash
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for batch in read_batches(conn, schema):
            for read_id, case_id, user_id, role, what, read_at, stored in batch:
                expected = link(
                    key, previous, encode_read(read_id, case_id, user_id, role, what, read_at)
                )
                if not hmac.compare_digest(bytes(stored), expected):
                    result.broken = (
                        int(read_id),
                        str(case_id),
                        "does not match the chain: it was changed, or a read before it was "
                        "deleted or inserted",
                    )
                    return result
                previous = bytes(stored)
                if read_id in positions:
                    result.hashes_at[int(read_id)] = previous
                result.verified += 1
                result.head_id = int(read_id)
                result.head_hash = previous
    return result
