"""Checkpoints: each chain's head, signed, in ``platform.chain_checkpoints`` and outside it.

A keyed chain cannot be recomputed by someone who lacks the key, but it can be *cut*: deleting
the newest events with their links leaves a shorter chain that is still consistent. A checkpoint
pins a head (position and hash) as it was at a moment. It is signed (Ed25519, a key derived from
the master key: :mod:`infra.adapters.audit.trail`), so a row in the database cannot be forged or
altered
unseen, and it is also appended to the **outside copy** (:mod:`infra.adapters.audit.sink`), so a row
deleted from the database is still known. ``vangnet audit verify`` compares all three: the
chain, the database's checkpoints and the outside copy (:mod:`infra.adapters.audit.integrity`).

They are taken automatically: by ``vangnet worker`` every ``VANGNET_CHECKPOINT_SECONDS`` (only
heads that moved), by the in-process worker of embedded mode and the demo likewise, when a
school is provisioned (position 0), when a log is (re-)sealed, and right before a school is
offboarded. ``vangnet audit checkpoint`` takes them by hand.

A row: ``log`` (the schema), ``chain`` (the events table, or ``case_reads``), ``position`` (the
head's notification id or read id; 0: the empty chain, its hash the genesis), ``hash``,
``kind``, ``scheme``, ``recorded_at``, ``key_id`` and ``signature``. Kinds: ``checkpoint``;
``created``
(a log made with the keyed chain, at position 0); ``sealed`` (a log written before the keyed
chain was (re-)sealed: tamper-evident from then on, not from when it was written). Schemes:
``hmac-sha256`` (keyed, signed) and ``sha256`` (rows from before the keyed chain: unsigned, kept
as history, never compared).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.adapters.audit import access_log
from infra.adapters.audit.trail import CheckpointSigner
from infra.adapters.postgres.chain import chain_table, genesis, table_exists
from infra.adapters.postgres.store import LogKeys
from projections.db import PLATFORM_SCHEMA
from services.audit.checkpoints import (
    KIND_CHECKPOINT,
    KIND_CREATED,
    Checkpoint,
    CheckpointSink,
    sign,
)
from services.audit.verify import ACCESS_LOG

log = logging.getLogger(__name__)

TABLE = "chain_checkpoints"


def create_checkpoint_table(conn: Connection[Any]) -> None:
    """The table, and the columns signed checkpoints need on a table from before them (once:
    the catalog is read first, so a start-up takes no lock when there is nothing to do)."""
    table = Identifier(PLATFORM_SCHEMA, TABLE)
    conn.execute(
        SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " id bigserial PRIMARY KEY,"
            " log text NOT NULL,"
            " chain text NOT NULL,"
            " position bigint NOT NULL,"
            " hash bytea NOT NULL,"
            " kind text NOT NULL DEFAULT 'checkpoint',"
            " recorded_at timestamptz NOT NULL DEFAULT now(),"
            " scheme text NOT NULL DEFAULT 'sha256',"
            " key_id text,"
            " signature bytea)"
        ).format(table)
    )
    with conn.cursor(row_factory=tuple_row) as curs:
        columns = {
            r[0]
            for r in curs.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (PLATFORM_SCHEMA, TABLE),
            )
        }
        old_unique = curs.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'u'",
            (f"{PLATFORM_SCHEMA}.{TABLE}",),
        ).fetchall()
    if "scheme" not in columns:
        conn.execute(
            SQL(
                "ALTER TABLE {} ADD COLUMN scheme text NOT NULL DEFAULT 'sha256', "
                "ADD COLUMN key_id text, ADD COLUMN signature bytea"
            ).format(table)
        )
    for (name,) in old_unique:  # (log, chain, position): a re-seal repeats positions
        conn.execute(SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, Identifier(name)))
    conn.execute(
        SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (log, chain, scheme, position)").format(
            Identifier(TABLE + "_by_position"), table
        )
    )


def insert(conn: Connection[Any], checkpoint: Checkpoint) -> bool:
    """Insert one signed checkpoint; ``False`` when its position was checkpointed before."""
    row = conn.execute(
        SQL(
            "INSERT INTO {} (log, chain, position, hash, kind, recorded_at, scheme, key_id, "
            "signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (log, chain, scheme, position) DO NOTHING RETURNING id"
        ).format(Identifier(PLATFORM_SCHEMA, TABLE)),
        (
            checkpoint.log,
            checkpoint.chain,
            checkpoint.position,
            checkpoint.hash,
            checkpoint.kind,
            checkpoint.recorded_at,
            checkpoint.scheme,
            checkpoint.key_id,
            checkpoint.signature,
        ),
    ).fetchone()
    return row is not None


def publish(sink: CheckpointSink, recorded: Iterable[Checkpoint]) -> int:
    """Append checkpoints (already committed to the database) to the outside copy; returns how
    many were written. A failure is logged (ids only) and does not undo the database row:
    ``verify`` then notes the checkpoint as missing outside."""
    written = 0
    for checkpoint in recorded:
        try:
            sink.append(checkpoint.log, checkpoint.record())
        except OSError as e:
            log.error(
                "checkpoint %s %s #%d not written outside the database (%s): %s",
                checkpoint.log, checkpoint.chain, checkpoint.position,
                sink.where(checkpoint.log), type(e).__name__,
            )  # fmt: skip
            continue
        written += 1
        log.info(
            "checkpoint %s %s #%d %s (%s)",
            checkpoint.log, checkpoint.chain, checkpoint.position, checkpoint.hash.hex(),
            checkpoint.kind,
        )  # fmt: skip
    return written


def _head(conn: Connection[Any], schema: str, table: str, column: str) -> tuple[int, bytes] | None:
    with conn.cursor(row_factory=tuple_row) as curs:
        row = curs.execute(
            SQL("SELECT {column}, hash FROM {table} ORDER BY {column} DESC LIMIT 1").format(
                column=Identifier(column), table=Identifier(schema, table)
            )
        ).fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]))


def checkpoint_log(
    conn: Connection[Any], signer: CheckpointSigner, schema: str, events_table: str
) -> list[Checkpoint]:
    """Record (in the database) the heads of a log's chain and of its access log; returns the
    new checkpoints, to :func:`publish` once the caller's transaction has committed. A head that
    did not move is not recorded again; an empty chain gets none."""
    recorded = []
    chains = [(events_table, chain_table(events_table), "notification_id")]
    if table_exists(conn, schema, ACCESS_LOG):
        chains.append((ACCESS_LOG, ACCESS_LOG, "id"))
    for chain, table, column in chains:
        if not table_exists(conn, schema, table):
            continue
        head = _head(conn, schema, table, column)
        if head is None:
            continue
        checkpoint = sign(signer, schema, chain, head[0], head[1], KIND_CHECKPOINT)
        if insert(conn, checkpoint):
            recorded.append(checkpoint)
    return recorded


def record_created(
    conn: Connection[Any], signer: CheckpointSigner, keys: LogKeys
) -> list[Checkpoint]:
    """Position-0 checkpoints of a new log's chains (and access log): they mark the log as
    keyed from its start (:mod:`infra.adapters.audit.migration` then never re-seals it)."""
    chains = [(keys.events_table, genesis(keys.schema, keys.events_table))]
    if keys.reads_key is not None:
        chains.append((ACCESS_LOG, access_log.genesis(keys.schema)))
    recorded = []
    for chain, start in chains:
        checkpoint = sign(signer, keys.schema, chain, 0, start, KIND_CREATED)
        if insert(conn, checkpoint):
            recorded.append(checkpoint)
    return recorded


def checkpoints_of(conn: Connection[Any], log_name: str) -> list[Checkpoint]:
    """Every checkpoint of a log in the database (both schemes), by chain and position."""
    with conn.cursor(row_factory=tuple_row) as curs:
        rows = curs.execute(
            SQL(
                "SELECT log, chain, position, hash, kind, recorded_at, scheme, key_id, signature "
                "FROM {} WHERE log = %s ORDER BY chain, position, id"
            ).format(Identifier(PLATFORM_SCHEMA, TABLE)),
            (log_name,),
        ).fetchall()
    return [
        Checkpoint(
            log=r[0],
            chain=r[1],
            position=int(r[2]),
            hash=bytes(r[3]),
            kind=r[4],
            recorded_at=r[5],
            scheme=r[6],
            key_id=r[7],
            signature=None if r[8] is None else bytes(r[8]),
        )
        for r in rows
    ]
