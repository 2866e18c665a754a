"""Checkpoints: each log's chain head, recorded now and then in ``platform.chain_checkpoints``.

The chain shows that no stored event was changed *relative to the links after it*; someone who
rewrites an event and recomputes every link after it keeps the chain consistent. A checkpoint
pins a head (position and hash) as it was at a moment, so such a rewrite no longer matches every
checkpoint recorded after the rewritten event. The worker records one per log per
``VANGNET_CHECKPOINT_SECONDS`` (only when the head moved) and logs it: the log lines are a copy
of the checkpoints outside the database. ``vangnet audit checkpoint`` records them by hand.

A row: ``log`` (the schema), ``chain`` (the events table, or ``case_reads``), ``position`` (the
head's notification id or read id), ``hash``, ``kind`` (``checkpoint``, or ``sealed`` when a log
written before the chain existed was chained), ``recorded_at``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.audit import access_log
from infra.postgres.chain import chain_table, table_exists

log = logging.getLogger(__name__)

PLATFORM_SCHEMA = "platform"
TABLE = "chain_checkpoints"
KIND_CHECKPOINT = "checkpoint"
KIND_SEALED = "sealed"


def create_checkpoint_table(conn: Connection[Any]) -> None:
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
            " UNIQUE (log, chain, position))"
        ).format(Identifier(PLATFORM_SCHEMA, TABLE))
    )


@dataclass(frozen=True)
class Checkpoint:
    log: str
    chain: str
    position: int
    hash: bytes
    kind: str
    recorded_at: datetime


def record(
    conn: Connection[Any],
    log_name: str,
    chain: str,
    position: int,
    hash_: bytes,
    kind: str = KIND_CHECKPOINT,
) -> bool:
    """Record one head; ``False`` when that position was checkpointed before."""
    row = conn.execute(
        SQL(
            "INSERT INTO {} (log, chain, position, hash, kind) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (log, chain, position) DO NOTHING RETURNING id"
        ).format(Identifier(PLATFORM_SCHEMA, TABLE)),
        (log_name, chain, position, hash_, kind),
    ).fetchone()
    if row is not None:
        log.info("checkpoint %s %s #%d %s (%s)", log_name, chain, position, hash_.hex(), kind)
    return row is not None


def _head(conn: Connection[Any], schema: str, table: str, column: str) -> tuple[int, bytes] | None:
    with conn.cursor(row_factory=tuple_row) as curs:
        row = curs.execute(
            SQL("SELECT {column}, hash FROM {table} ORDER BY {column} DESC LIMIT 1").format(
                column=Identifier(column), table=Identifier(schema, table)
            )
        ).fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]))


def checkpoint_log(conn: Connection[Any], schema: str, events_table: str) -> list[Checkpoint]:
    """Record the heads of a log's chain and of its access log (if it has one); returns the
    checkpoints that are new (a head that did not move is not recorded again)."""
    recorded = []
    chains = [(events_table, chain_table(events_table), "notification_id")]
    if table_exists(conn, schema, access_log.TABLE):
        chains.append((access_log.TABLE, access_log.TABLE, "id"))
    for chain, table, column in chains:
        if not table_exists(conn, schema, table):
            continue
        head = _head(conn, schema, table, column)
        if head is not None and record(conn, schema, chain, head[0], head[1]):
            now = datetime.now().astimezone()
            recorded.append(Checkpoint(schema, chain, head[0], head[1], KIND_CHECKPOINT, now))
    return recorded


def checkpoints_of(conn: Connection[Any], log_name: str) -> list[Checkpoint]:
    """Every checkpoint of a log, by chain and position."""
    with conn.cursor(row_factory=tuple_row) as curs:
        rows = curs.execute(
            SQL(
                "SELECT log, chain, position, hash, kind, recorded_at FROM {} WHERE log = %s "
                "ORDER BY chain, position"
            ).format(Identifier(PLATFORM_SCHEMA, TABLE)),
            (log_name,),
        ).fetchall()
    return [Checkpoint(r[0], r[1], int(r[2]), bytes(r[3]), r[4], r[5]) for r in rows]
