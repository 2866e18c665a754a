"""Per-pupil keys in ``<schema>.pupil_keys`` and passage keys of free text in
``<schema>.content_keys``, each wrapped by the school's data key.

A key row is created when a participant's event is stored and deleted when the pupil is erased.
Deleting the row is the erasure: the sealed fields in the (unchanged, hash-chained) event rows can
no longer be opened. PostgreSQL keeps a deleted row's bytes until ``VACUUM`` reclaims the page,
so :meth:`PostgresPupilKeys.destroy_case` is followed by a ``VACUUM`` of the (small) key table
after every erasure (:mod:`infra.adapters.privacy.purge`).

A register pupil's key (:mod:`services.pupils`) is a row of the same table whose ``case_id`` and
``participant_id`` both hold the pupil's id (the aggregate it seals), so no new table or column is
needed: it is found by that pair and destroyed by it (a case id is never a pupil id).

Reading keys while a projection holds a connection: catch-up and rebuild map events inside their
own transaction; :func:`using_connection` lets key lookups run on that same connection (and
caches keys for that one run) instead of borrowing a second connection from the bounded pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID, uuid4

from psycopg import Connection
from psycopg.sql import SQL, Identifier

from infra.adapters.crypto import KeyUnwrapError, generate_data_key, unwrap_key, wrap_key
from infra.adapters.postgres.pool import SharedPool

TABLE = "pupil_keys"


def create_pupil_keys_statement(schema: str) -> Any:
    return SQL(
        "CREATE TABLE IF NOT EXISTS {}.{} ("
        " key_id uuid PRIMARY KEY,"
        " case_id uuid NOT NULL,"
        " participant_id uuid NOT NULL,"
        " wrapped text NOT NULL,"
        " created_at timestamptz NOT NULL DEFAULT now())"
    ).format(Identifier(schema), Identifier(TABLE))


def create_pupil_keys(conn: Connection[Any], schema: str) -> None:
    conn.execute(create_pupil_keys_statement(schema))
    conn.execute(
        SQL("CREATE INDEX IF NOT EXISTS {} ON {}.{} (case_id)").format(
            Identifier(f"{TABLE}_case_idx"), Identifier(schema), Identifier(TABLE)
        )
    )


class _Scope:
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn
        self.cache: dict[tuple[str, UUID], bytes | None] = {}


_scope: ContextVar[_Scope | None] = ContextVar("pupil_keys_scope", default=None)


@contextmanager
def using_connection(conn: Connection[Any]) -> Iterator[None]:
    """Key lookups inside this block run on ``conn`` and are cached for the block."""
    token = _scope.set(_Scope(conn))
    try:
        yield
    finally:
        _scope.reset(token)


class _SchoolKeyTable:
    """One school's table of wrapped keys on ``pool`` (the pupil keys, the passage keys): its
    connection (the one of :func:`using_connection` when set) and the table made on first use.

    ``ensured``: the tables known to exist, shared by the schools of one pool
    (:class:`infra.adapters.schools.SchoolApplications`): schools provisioned before a table
    existed get
    it on first use. Adding a name to a set is atomic under the GIL.
    """

    #: The table's name (also its marker in ``ensured``) and how it is made.
    table: str
    create: Callable[[Connection[Any], str], None]

    def __init__(
        self,
        pool: SharedPool,
        schema: str,
        school_id: UUID,
        data_key: bytes,
        ensured: set[str] | None = None,
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.school_id = school_id
        self._data_key = data_key
        self._ensured = ensured if ensured is not None else set()
        self._marker = f"{schema}:{self.table}"

    @contextmanager
    def _connection(self) -> Iterator[Connection[Any]]:
        scope = _scope.get()
        if scope is not None:
            self._ensure(scope.conn)
            yield scope.conn
            return
        with self.pool.connection() as conn:
            self._ensure(conn)
            yield conn

    def _ensure(self, conn: Connection[Any]) -> None:
        if self._marker in self._ensured:
            return
        type(self).create(conn, self.schema)
        self._ensured.add(self._marker)


class PostgresPupilKeys(_SchoolKeyTable):
    """:class:`services.casework.sealing.PupilKeys` of one school, on ``pool``."""

    table = "pupil_keys"
    create = staticmethod(create_pupil_keys)

    def _context(self, key_id: UUID) -> bytes:
        # Bound to school and key id: a wrapped key copied to another row or school won't open.
        return self.school_id.bytes + key_id.bytes

    def new_key(self, case_id: UUID, participant_id: UUID) -> tuple[UUID, bytes]:
        key_id, key = uuid4(), generate_data_key()
        wrapped = wrap_key(self._data_key, key, self._context(key_id))
        with self._connection() as conn:
            conn.execute(
                SQL(
                    "INSERT INTO {}.{} (key_id, case_id, participant_id, wrapped)"
                    " VALUES (%s, %s, %s, %s)"
                ).format(Identifier(self.schema), Identifier(TABLE)),
                (key_id, case_id, participant_id, wrapped),
            )
        return key_id, key

    def key(self, key_id: UUID) -> bytes | None:
        scope = _scope.get()
        cache_key = (self.schema, key_id)
        if scope is not None and cache_key in scope.cache:
            return scope.cache[cache_key]
        with self._connection() as conn:
            row = conn.execute(
                SQL("SELECT wrapped FROM {}.{} WHERE key_id = %s").format(
                    Identifier(self.schema), Identifier(TABLE)
                ),
                (key_id,),
            ).fetchone()
        key: bytes | None = None
        if row is not None:
            wrapped = row[0] if isinstance(row, tuple) else row["wrapped"]
            try:
                key = unwrap_key(self._data_key, wrapped, self._context(key_id))
            except KeyUnwrapError:
                key = None
        if scope is not None:
            scope.cache[cache_key] = key
        return key

    def pupil_key(self, pupil_id: UUID) -> tuple[UUID, bytes]:
        with self._connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT key_id, wrapped FROM {}.{} WHERE case_id = %s AND participant_id = %s"
                    " ORDER BY created_at LIMIT 1"
                ).format(Identifier(self.schema), Identifier(TABLE)),
                (pupil_id, pupil_id),
            ).fetchone()
        if row is not None:
            key_id, wrapped = (
                (row[0], row[1]) if isinstance(row, tuple) else (row["key_id"], row["wrapped"])
            )
            return key_id, unwrap_key(self._data_key, wrapped, self._context(key_id))
        return self.new_key(pupil_id, pupil_id)

    def destroy_pupil(self, pupil_id: UUID) -> int:
        return self.destroy_case(pupil_id)

    def keys_of(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        wanted = list(set(key_ids))
        found: dict[UUID, bytes] = {}
        if not wanted:
            return found
        with self._connection() as conn:
            rows = conn.execute(
                SQL("SELECT key_id, wrapped FROM {}.{} WHERE key_id = ANY(%s)").format(
                    Identifier(self.schema), Identifier(TABLE)
                ),
                (wanted,),
            ).fetchall()
        for row in rows:
            key_id, wrapped = (
                (row["key_id"], row["wrapped"]) if isinstance(row, dict) else (row[0], row[1])
            )
            try:
                found[key_id] = unwrap_key(self._data_key, wrapped, self._context(key_id))
            except KeyUnwrapError:
                continue
        return found

    def destroy_case(self, case_id: UUID) -> int:
        with self._connection() as conn:
            cur = conn.execute(
                SQL("DELETE FROM {}.{} WHERE case_id = %s").format(
                    Identifier(self.schema), Identifier(TABLE)
                ),
                (case_id,),
            )
            return cur.rowcount


CONTENT_TABLE = "content_keys"


def create_content_keys(conn: Connection[Any], schema: str) -> None:
    """The passage keys of a school's free text (one row per passage, grouped by case)."""
    conn.execute(
        SQL(
            "CREATE TABLE IF NOT EXISTS {}.{} ("
            " key_id uuid PRIMARY KEY,"
            " case_id uuid NOT NULL,"
            " wrapped text NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        ).format(Identifier(schema), Identifier(CONTENT_TABLE))
    )
    conn.execute(
        SQL("CREATE INDEX IF NOT EXISTS {} ON {}.{} (case_id)").format(
            Identifier(f"{CONTENT_TABLE}_case_idx"), Identifier(schema), Identifier(CONTENT_TABLE)
        )
    )


class PostgresContentKeys(_SchoolKeyTable):
    """:class:`services.casework.sealing.ContentKeys` of one school in ``<schema>.content_keys``,
    each key wrapped by the school's data key (bound to the school and the key id).

    Like the pupil keys: deleting a row is the erasure of its passage; lookups run on the
    connection of :func:`using_connection` when one is set (catch-up, rebuild, re-sealing).
    """

    table = CONTENT_TABLE
    create = staticmethod(create_content_keys)

    def _context(self, key_id: UUID) -> bytes:
        return self.school_id.bytes + key_id.bytes + b"passage"

    def new_keys(self, case_id: UUID, count: int) -> list[tuple[UUID, bytes]]:
        made = [(uuid4(), generate_data_key()) for _ in range(count)]
        rows = [(k, case_id, wrap_key(self._data_key, key, self._context(k))) for k, key in made]
        with self._connection() as conn, conn.cursor() as curs:
            curs.executemany(
                SQL("INSERT INTO {}.{} (key_id, case_id, wrapped) VALUES (%s, %s, %s)").format(
                    Identifier(self.schema), Identifier(CONTENT_TABLE)
                ),
                rows,
            )
        return made

    def keys(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        wanted = set(key_ids)
        scope = _scope.get()
        found: dict[UUID, bytes] = {}
        if scope is not None:
            for key_id in list(wanted):
                cache_key = (self._marker, key_id)
                if cache_key in scope.cache:
                    wanted.discard(key_id)
                    cached = scope.cache[cache_key]
                    if cached is not None:
                        found[key_id] = cached
        if wanted:
            with self._connection() as conn:
                rows = conn.execute(
                    SQL("SELECT key_id, wrapped FROM {}.{} WHERE key_id = ANY(%s)").format(
                        Identifier(self.schema), Identifier(CONTENT_TABLE)
                    ),
                    (list(wanted),),
                ).fetchall()
            for row in rows:
                key_id, wrapped = (
                    (row["key_id"], row["wrapped"]) if isinstance(row, dict) else (row[0], row[1])
                )
                try:
                    found[key_id] = unwrap_key(self._data_key, wrapped, self._context(key_id))
                except KeyUnwrapError:
                    continue
            if scope is not None:
                for key_id in wanted:
                    scope.cache[(self._marker, key_id)] = found.get(key_id)
        return found

    def destroy(self, case_id: UUID, key_ids: Iterable[UUID]) -> int:
        with self._connection() as conn:
            cur = conn.execute(
                SQL("DELETE FROM {}.{} WHERE case_id = %s AND key_id = ANY(%s)").format(
                    Identifier(self.schema), Identifier(CONTENT_TABLE)
                ),
                (case_id, list(key_ids)),
            )
            return cur.rowcount

    def destroy_case(self, case_id: UUID) -> int:
        with self._connection() as conn:
            cur = conn.execute(
                SQL("DELETE FROM {}.{} WHERE case_id = %s").format(
                    Identifier(self.schema), Identifier(CONTENT_TABLE)
                ),
                (case_id,),
            )
            return cur.rowcount
