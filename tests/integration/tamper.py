"""Tampering with a school's tables as someone with database access (the audit tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.adapters.audit import access_log
from infra.adapters.postgres.chain import encode_event, genesis, legacy_link
from infra.adapters.postgres.cipher import associated_data, open_state, seal_legacy
from infra.adapters.postgres.store import LogKeys
from tenants.registry import School

EVENTS = "casework_events"
CHAIN = "casework_events_chain"
#: How a link is computed: ``linker(previous, body)``.
Linker = Callable[[bytes, bytes], bytes]


class Tables:
    """Raw SQL on one school's tables, as someone with database access (``{events}``,
    ``{chain}``, ``{reads}`` and ``{checkpoints}`` name them)."""

    def __init__(self, url: str, school: School) -> None:
        self.url = url
        self.school = school

    @property
    def schema(self) -> str:
        return self.school.schema_name

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        query = SQL(statement).format(  # type: ignore[arg-type]
            events=Identifier(self.schema, EVENTS),
            chain=Identifier(self.schema, CHAIN),
            reads=Identifier(self.schema, access_log.TABLE),
            checkpoints=Identifier("platform", "chain_checkpoints"),
            saved_events=Identifier(self.schema, "saved_events"),
            saved_chain=Identifier(self.schema, "saved_chain"),
            saved_reads=Identifier(self.schema, "saved_reads"),
            saved_checkpoints=Identifier(self.schema, "saved_checkpoints"),
        )
        with (
            psycopg.connect(self.url, autocommit=True) as conn,
            conn.cursor(row_factory=tuple_row) as curs,
        ):
            curs.execute(query, params)
            return curs.fetchall() if curs.description else []

    def rows(self) -> list[tuple[Any, ...]]:
        """(notification id, case id, version) of every stored event, in order."""
        return self.sql(
            "SELECT notification_id, originator_id, originator_version FROM {events} "
            "ORDER BY notification_id"
        )

    def stored(self) -> list[tuple[Any, ...]]:
        return self.sql(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {events} ORDER BY notification_id"
        )

    def state(self, case_id: UUID, version: int) -> bytes:
        ((state,),) = self.sql(
            "SELECT state FROM {events} WHERE originator_id = %s AND originator_version = %s",
            case_id,
            version,
        )
        return bytes(state)

    def forge_links(self, from_nid: int, linker: Linker) -> None:
        """Recompute every link from ``from_nid`` on with ``linker``, from the stored link
        before it: what an attacker does to make a changed log look consistent."""
        before = self.sql(
            "SELECT hash FROM {chain} WHERE notification_id < %s "
            "ORDER BY notification_id DESC LIMIT 1",
            from_nid,
        )
        previous = bytes(before[0][0]) if before else genesis(self.schema, EVENTS)
        for nid, oid, version, topic, state in self.stored():
            if nid < from_nid:
                continue
            previous = linker(previous, encode_event(nid, oid, version, topic, bytes(state)))
            self.sql(
                "INSERT INTO {chain} (notification_id, hash) VALUES (%s, %s) "
                "ON CONFLICT (notification_id) DO UPDATE SET hash = excluded.hash",
                nid,
                previous,
            )

    def save(self) -> None:
        for table in ("events", "chain", "reads"):
            self.sql(f"CREATE TABLE {{saved_{table}}} AS SELECT * FROM {{{table}}}")
        self.sql(
            "CREATE TABLE {saved_checkpoints} AS SELECT * FROM {checkpoints} WHERE log = %s",
            self.schema,
        )

    def restore(self) -> None:
        """Put the tables back (other tests walk every school: sweeps, exports)."""
        for table in ("events", "chain", "reads"):
            self.sql(
                f"CREATE TABLE IF NOT EXISTS {{{table}}} (LIKE {{saved_{table}}} INCLUDING ALL)"
            )
            self.sql(f"DELETE FROM {{{table}}}")
            self.sql(f"INSERT INTO {{{table}}} SELECT * FROM {{saved_{table}}}")
            self.sql(f"DROP TABLE {{saved_{table}}}")
        self.sql("DELETE FROM {checkpoints} WHERE log = %s", self.schema)
        self.sql("INSERT INTO {checkpoints} SELECT * FROM {saved_checkpoints}")
        self.sql("DROP TABLE {saved_checkpoints}")


def make_old_format(tables: Tables, keys: LogKeys, outside: Path, *, chained: bool = True) -> None:
    """Turn a school's log into what an older version left behind: states encrypted without
    associated data, an unkeyed chain (``chained``; else no chain and no access log at all, as
    before tamper evidence existed), an unkeyed access-log chain, one unsigned checkpoint, and
    no outside copy."""
    for nid, oid, version, topic, state in tables.stored():
        aad = associated_data(keys.context, oid, version, topic)
        plain = open_state(keys.data_key, aad, bytes(state))
        tables.sql(
            "UPDATE {events} SET state = %s WHERE notification_id = %s",
            seal_legacy(keys.data_key, plain),
            nid,
        )
    tables.sql("DELETE FROM {checkpoints} WHERE log = %s", tables.schema)
    (outside / f"{tables.schema}.jsonl").unlink(missing_ok=True)
    if not chained:
        tables.sql("DROP TABLE {chain}")
        tables.sql("DROP TABLE {reads}")
        return
    tables.forge_links(0, legacy_link)
    previous = access_log.genesis(tables.schema)
    for read_id, case_id, user_id, role, what, read_at, _ in tables.sql(
        "SELECT id, case_id, user_id, role, what, read_at, hash FROM {reads} ORDER BY id"
    ):
        body = access_log.encode_read(read_id, case_id, user_id, role, what, read_at)
        previous = legacy_link(previous, body)
        tables.sql("UPDATE {reads} SET hash = %s WHERE id = %s", previous, read_id)
    head, hash_ = tables.sql(
        "SELECT notification_id, hash FROM {chain} ORDER BY notification_id DESC LIMIT 1"
    )[0]
    tables.sql(
        "INSERT INTO {checkpoints} (log, chain, position, hash, kind, scheme) "
        "VALUES (%s, %s, %s, %s, 'checkpoint', 'sha256')",
        tables.schema,
        EVENTS,
        head,
        bytes(hash_),
    )
