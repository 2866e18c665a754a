"""Encrypted attachments in ``<schema>.attachments`` (the school's own schema).

Only ciphertext is stored (:mod:`services.attachments.files`); the key lives in the school's
pupil-key table, and erasing the case destroys it. The table is created on first use, so schools
provisioned before attachments existed need no migration; offboarding and the school export
take the whole schema.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.sql import SQL, Identifier

from infra.adapters.postgres.pool import SharedPool
from services.attachments.files import StoredFile

TABLE = "attachments"


def create_attachments(conn: Connection[Any], schema: str) -> None:
    conn.execute(
        SQL(
            "CREATE TABLE IF NOT EXISTS {}.{} ("
            " attachment_id uuid PRIMARY KEY,"
            " case_id uuid NOT NULL,"
            " key_id uuid NOT NULL,"
            " ciphertext bytea NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        ).format(Identifier(schema), Identifier(TABLE))
    )
    conn.execute(
        SQL("CREATE INDEX IF NOT EXISTS {} ON {}.{} (case_id)").format(
            Identifier(f"{TABLE}_case_idx"), Identifier(schema), Identifier(TABLE)
        )
    )


def _row(row: Any) -> StoredFile:
    if isinstance(row, dict):
        row = (row["attachment_id"], row["case_id"], row["key_id"], row["ciphertext"])
    return StoredFile(row[0], row[1], row[2], bytes(row[3]))


class PostgresAttachmentStore:
    """:class:`services.attachments.files.AttachmentStore` of one school, on ``pool``.
    ``ensured``: schemas whose table is known to exist (shared by a process's stores)."""

    def __init__(self, pool: SharedPool, schema: str, ensured: set[str] | None = None) -> None:
        self.pool = pool
        self.schema = schema
        self._ensured = ensured if ensured is not None else set()

    def _conn(self, conn: Connection[Any]) -> Connection[Any]:
        if self.schema not in self._ensured:
            create_attachments(conn, self.schema)
            self._ensured.add(self.schema)
        return conn

    def _table(self) -> Any:
        return SQL("{}.{}").format(Identifier(self.schema), Identifier(TABLE))

    def put(self, stored: StoredFile) -> None:
        with self.pool.connection() as conn:
            self._conn(conn).execute(
                SQL(
                    "INSERT INTO {} (attachment_id, case_id, key_id, ciphertext)"
                    " VALUES (%s, %s, %s, %s)"
                ).format(self._table()),
                (stored.attachment_id, stored.case_id, stored.key_id, stored.ciphertext),
            )

    def get(self, attachment_id: UUID) -> StoredFile | None:
        with self.pool.connection() as conn:
            row = (
                self._conn(conn)
                .execute(
                    SQL(
                        "SELECT attachment_id, case_id, key_id, ciphertext FROM {}"
                        " WHERE attachment_id = %s"
                    ).format(self._table()),
                    (attachment_id,),
                )
                .fetchone()
            )
        return None if row is None else _row(row)

    def delete(self, attachment_id: UUID) -> None:
        with self.pool.connection() as conn:
            self._conn(conn).execute(
                SQL("DELETE FROM {} WHERE attachment_id = %s").format(self._table()),
                (attachment_id,),
            )

    def of_case(self, case_id: UUID) -> list[StoredFile]:
        with self.pool.connection() as conn:
            rows = (
                self._conn(conn)
                .execute(
                    SQL(
                        "SELECT attachment_id, case_id, key_id, ciphertext FROM {}"
                        " WHERE case_id = %s ORDER BY created_at, attachment_id"
                    ).format(self._table()),
                    (case_id,),
                )
                .fetchall()
            )
        return [_row(r) for r in rows]
