"""Per-school event store on the shared pool: an eventsourcing ``PERSISTENCE_MODULE``.

Use it with ``PERSISTENCE_MODULE=infra.adapters.postgres.store`` and ``POSTGRES_SCHEMA=<schema>``.
Why not
plain ``eventsourcing.postgres``:

* Its datastore owns a connection pool. One pool per school would mean thousands of pools; DESIGN.md
  §5 wants one bounded pool per process. :class:`SharedPoolDatastore` uses the pool installed by
  :func:`infra.adapters.postgres.pool.install_pool` and never opens or closes it, so constructing,
  evicting or closing a school's application leaves the pool alone.
* Its recorders insert through a per-schema composite TYPE (``stored_event_uuid``) and fetch that
  type's ``CompositeInfo`` when a recorder is constructed: one extra round trip per school
  application, plus per-connection type registration for thousands of schemas. Our recorders pass
  four plain arrays to ``unnest(uuid[], bigint[], text[], bytea[])`` instead, so construction does
  no I/O at all and the schema holds no types or functions. The ``LOCK TABLE ... IN EXCLUSIVE
  MODE`` + ``NOTIFY`` + ``RETURNING notification_id`` semantics of the application recorder are
  kept (gap-free notification order per school).
* ``CREATE_TABLE`` defaults to *no* here: tables are created when a school is provisioned
  (:mod:`tenants.provisioning`), never on the request path.
* Every stored event is chained to the one before by a keyed hash (tamper evidence,
  :mod:`infra.adapters.postgres.chain`): the application and process recorders insert the events,
  compute
  their links with the log's chain key (``CHAIN_KEY``, never sent to the database) and insert
  them in the same transaction, under the table lock, and create the chain table with the events
  table. States are encrypted bound to their event (:mod:`infra.adapters.postgres.cipher`).

This module must define exactly one infrastructure factory class (eventsourcing looks the class up
by scanning the module), so ``eventsourcing.postgres`` is imported as a module, not by name.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast
from uuid import UUID

import eventsourcing.persistence as es_persistence
import eventsourcing.postgres as es_pg
import psycopg
from eventsourcing.utils import Environment, EnvType, strtobool
from psycopg import Connection, Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from infra.adapters.postgres.chain import (
    create_chain_table_statement,
    genesis,
    head_statement,
    insert_events_statement,
    insert_links_statement,
    links_for,
)
from infra.adapters.postgres.pool import SharedPool, shared_pool

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self


@dataclass(frozen=True)
class LogKeys:
    """What reading, writing and verifying one log needs: where it is and its keys."""

    label: str  # the school's slug, or "platform"
    schema: str
    events_table: str
    context: str  # bound into every ciphertext (infra.adapters.postgres.cipher)
    data_key: bytes = field(repr=False)
    chain_key: bytes = field(repr=False)
    #: The access log's chain key; ``None`` for the platform log (it has none).
    reads_key: bytes | None = field(default=None, repr=False)


class SharedPoolDatastore(es_pg.PostgresDatastore):
    """A ``PostgresDatastore`` bound to one schema that borrows the process-wide pool.

    The base class builds its own (unopened, so unconnected) pool; we swap it for the shared one.
    ``close()``, the context manager and ``__del__`` do nothing to the pool: the pool belongs to
    the process (:class:`infra.bootstrap.container.Container`), not to any one school's application.
    """

    def __init__(
        self,
        pool: SharedPool,
        *,
        schema: str,
        lock_timeout: int = 0,
        single_row_tracking: bool = True,
        originator_id_type: Literal["uuid", "text"] = "uuid",
        chain_key: bytes | None = None,
    ) -> None:
        super().__init__(
            dbname="",
            host="",
            port="",
            user="",
            password="",
            schema=schema,
            lock_timeout=lock_timeout,
            single_row_tracking=single_row_tracking,
            originator_id_type=originator_id_type,
            enable_db_functions=False,
        )
        # The base class's own pool was never opened: dropping it costs nothing.
        self.pool = cast("es_pg.ConnectionPool[Connection[DictRow]]", pool)
        #: The log's chain key (``CHAIN_KEY``): only in this process's memory.
        self.chain_key = chain_key

    def register_type_adapters(self) -> None:
        """No composite types are used (see module docstring): nothing to fetch or register."""

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        """Borrow a connection from the shared pool, mapping errors like the base class does.

        Unlike the base class this never opens the pool: it is opened once by the container.
        """
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.InterfaceError as e:
            raise es_persistence.InterfaceError(str(e)) from e
        except psycopg.OperationalError as e:
            raise es_persistence.OperationalError(str(e)) from e
        except psycopg.DataError as e:
            raise es_persistence.DataError(str(e)) from e
        except psycopg.IntegrityError as e:
            raise es_persistence.IntegrityError(str(e)) from e
        except psycopg.InternalError as e:
            raise es_persistence.InternalError(str(e)) from e
        except psycopg.ProgrammingError as e:
            raise es_persistence.ProgrammingError(str(e)) from e
        except psycopg.NotSupportedError as e:
            raise es_persistence.NotSupportedError(str(e)) from e
        except psycopg.DatabaseError as e:
            raise es_persistence.DatabaseError(str(e)) from e
        except psycopg.Error as e:
            raise es_persistence.PersistenceError(str(e)) from e

    def close(self) -> None:
        """Leave the shared pool open: other schools' applications are using it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Leave the shared pool open."""

    def __del__(self) -> None:
        """Leave the shared pool open."""


def _without_composite_machinery(statements: list[Composed]) -> list[Composed]:
    """Drop the CREATE TYPE / CREATE FUNCTION statements that only the composite insert needs."""
    kept = []
    for statement in statements:
        text = statement.as_string()
        if "CREATE TYPE" in text or "CREATE OR REPLACE FUNCTION" in text:
            continue
        kept.append(statement)
    return kept


def _unnest_insert_statement(datastore: es_pg.PostgresDatastore, table: str) -> Composed:
    return SQL(
        "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[])"
    ).format(
        schema=Identifier(datastore.schema),
        table=Identifier(table),
        # The datastore validated originator_id_type to be "uuid" or "text".
        id_type=SQL(datastore.originator_id_type),
    )


def _columns(
    stored_events: Sequence[es_persistence.StoredEvent],
) -> tuple[list[Any], list[int], list[str], list[bytes]]:
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


class VangnetAggregateRecorder(es_pg.PostgresAggregateRecorder):
    """Aggregate recorder (used for snapshots) inserting through plain arrays."""

    def __init__(
        self, datastore: es_pg.PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements = _without_composite_machinery(self.sql_create_statements)
        self.insert_events_statement = _unnest_insert_statement(datastore, events_table_name)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[es_persistence.StoredEvent],
        **_: Any,
    ) -> None:
        curs.execute(self.insert_events_statement, _columns(stored_events))


#: The head's cursor of the insert in flight on this thread, from
#: ``_insert_stored_events`` to ``_fetch_ids_after_insert_events`` (the library calls the two in
#: turn, in one thread, on one connection; recorders are shared by threads).
_in_flight = threading.local()


class _LockedArrayInsert:
    """Insert with the application recorder's table lock and NOTIFY, through plain arrays, and
    chain every inserted event to the one before with the log's chain key
    (:mod:`infra.adapters.postgres.chain`).

    Under the lock taken here, in one pipeline: one statement reads the chain's head, a plain
    ``INSERT … RETURNING`` inserts the events and returns their notification ids; the links are
    computed here (the key never goes to the database, so it cannot show up in a statement log)
    and inserted by a further statement, in the same transaction. The extra statements are the
    only cost of the keyed chain: one round trip. Each is a single plain statement on the
    school's own tables (no CTE): the SQL a distributed schema accepts (README, "SQL in a
    school's schema").
    """

    head_statement: Composed
    insert_events_statement: Composed
    insert_links_statement: Composed
    datastore: es_pg.PostgresDatastore
    events_table_name: str

    if TYPE_CHECKING:  # provided by PostgresApplicationRecorder (only declared for mypy here)

        def _lock_table(self, curs: Cursor[DictRow]) -> None: ...

        def _notify_channel(self, curs: Cursor[DictRow]) -> None: ...

    def _chain_key(self) -> bytes:
        key = getattr(self.datastore, "chain_key", None)
        if not key:
            msg = f"'{CHAIN_KEY}' not in env: every log is chained with its own key"
            raise es_persistence.ProgrammingError(msg)
        return cast("bytes", key)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[es_persistence.StoredEvent],
        **_: Any,
    ) -> None:
        self._chain_key()  # refuse before anything is written
        self._lock_table(curs)
        self._notify_channel(curs)
        # The head on a cursor of its own (a cursor keeps only its last result); the pipeline
        # fetches it with the inserted ids, in the same round trip.
        head_cursor = curs.connection.cursor()
        head_cursor.execute(self.head_statement)
        _in_flight.head_cursor = head_cursor
        curs.execute(self.insert_events_statement, _columns(stored_events))

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[es_persistence.StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        """The events' notification ids; inserts their links first (same transaction)."""
        head_cursor: Cursor[DictRow] = _in_flight.head_cursor
        _in_flight.head_cursor = None
        with head_cursor:
            found = head_cursor.fetchone()  # no row before the log's first event
        head = None if found is None else found["head"]
        rows: list[DictRow] = []
        while True:
            if curs.description is not None:  # (the lock's SET results come first in a pipeline)
                rows.extend(curs.fetchall())
            if not curs.nextset():
                break
        if len(rows) != len(stored_events):
            msg = f"got {len(rows)} notification ids for {len(stored_events)} events"
            raise es_persistence.ProgrammingError(msg)
        ids = [int(row["notification_id"]) for row in rows]
        previous = (
            bytes(head)
            if head is not None
            else genesis(self.datastore.schema, self.events_table_name)
        )
        hashes = links_for(
            self._chain_key(),
            previous,
            [
                (nid, e.originator_id, e.originator_version, e.topic, e.state)
                for nid, e in zip(ids, stored_events, strict=True)
            ],
        )
        # A nested pipeline block syncs on exit, so a failing insert raises here, inside the
        # recorder's error handling, and not later at commit.
        with curs.connection.pipeline():
            curs.execute(self.insert_links_statement, (ids, hashes))
            # Rows kept beside the events (``save(..., also=[(statement, params), ...])``, e.g.
            # the staff directory's index): the same transaction, so they are never out of step
            # with the log, and a unique index on them refuses the events too.
            for statement, params in kwargs.get("also", ()):
                curs.execute(statement, params)
        return ids

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[es_persistence.StoredEvent]:
        """Like the library's, but each event comes with its notification id (a
        ``Notification``), so an integrity error can name where the event is stored."""
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {} WHERE originator_id = %s"
        ).format(Identifier(self.datastore.schema, self.events_table_name))
        params: list[Any] = [originator_id]
        if gt is not None:
            params.append(gt)
            statement += SQL(" AND originator_version > %s")
        if lte is not None:
            params.append(lte)
            statement += SQL(" AND originator_version <= %s")
        statement += SQL(
            " ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC"
        )
        if limit is not None:
            params.append(limit)
            statement += SQL(" LIMIT %s")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return [
                es_persistence.Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]


def _chained(
    datastore: es_pg.PostgresDatastore, events_table: str, create: list[Composed]
) -> tuple[list[Composed], Composed, Composed, Composed]:
    """(create statements with the chain table, the head's select, the events insert, the
    links insert)."""
    return (
        [
            *_without_composite_machinery(create),
            create_chain_table_statement(datastore.schema, events_table),
        ],
        head_statement(datastore.schema, events_table),
        insert_events_statement(datastore.schema, events_table, datastore.originator_id_type),
        insert_links_statement(datastore.schema, events_table),
    )


class VangnetApplicationRecorder(_LockedArrayInsert, es_pg.PostgresApplicationRecorder):
    """Application recorder: table lock + NOTIFY + array insert + keyed chain links."""

    def __init__(
        self, datastore: es_pg.PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        (
            self.sql_create_statements,
            self.head_statement,
            self.insert_events_statement,
            self.insert_links_statement,
        ) = _chained(datastore, events_table_name, self.sql_create_statements)


class VangnetProcessRecorder(_LockedArrayInsert, es_pg.PostgresProcessRecorder):
    """Process recorder (events + tracking in one transaction) with the keyed chain."""

    def __init__(
        self,
        datastore: es_pg.PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=tracking_table_name,
        )
        (
            self.sql_create_statements,
            self.head_statement,
            self.insert_events_statement,
            self.insert_links_statement,
        ) = _chained(datastore, events_table_name, self.sql_create_statements)


class SharedPoolFactory(es_pg.PostgresFactory):
    """Infrastructure factory: one schema (``POSTGRES_SCHEMA``), the process-wide pool.

    The ``POSTGRES_DBNAME/HOST/USER/PASSWORD`` keys are not read: the connection target is the
    shared pool's. ``POSTGRES_LOCK_TIMEOUT``, ``SINGLE_ROW_TRACKING`` and ``ORIGINATOR_ID_TYPE``
    keep their eventsourcing meaning. The tracking recorder is eventsourcing's own
    ``PostgresTrackingRecorder`` (it needs no composite types), so projections that subclass it
    work on the shared pool unchanged.
    """

    aggregate_recorder_class = VangnetAggregateRecorder
    application_recorder_class = VangnetApplicationRecorder
    tracking_recorder_class = es_pg.PostgresTrackingRecorder
    process_recorder_class = VangnetProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        # Skip BasePostgresFactory.__init__: it would build a datastore with its own pool.
        es_persistence.BaseInfrastructureFactory.__init__(self, env)
        schema = (self.env.get(self.POSTGRES_SCHEMA) or "").strip()
        if not schema:
            msg = f"'{self.POSTGRES_SCHEMA}' must name the schema of this application"
            raise OSError(msg)
        lock_timeout_str = self.env.get(self.POSTGRES_LOCK_TIMEOUT) or "0"
        try:
            lock_timeout = int(lock_timeout_str)
        except ValueError:
            msg = f"'{self.POSTGRES_LOCK_TIMEOUT}' must be an integer (seconds)"
            raise OSError(msg) from None
        originator_id_type = (self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid").lower()
        if originator_id_type not in ("uuid", "text"):
            msg = f"'{self.ORIGINATOR_ID_TYPE}' must be 'uuid' or 'text'"
            raise OSError(msg)
        self.datastore = SharedPoolDatastore(
            shared_pool(),
            schema=schema,
            lock_timeout=lock_timeout,
            single_row_tracking=strtobool(self.env.get(self.POSTGRES_SINGLE_ROW_TRACKING) or "t"),
            originator_id_type=cast("Literal['uuid', 'text']", originator_id_type),
            chain_key=_chain_key_from(self.env.get(CHAIN_KEY)),
        )

    def env_create_table(self) -> bool:
        """Default *no*: tables are made at provisioning, not when an application is built."""
        return strtobool(self.env.get(self.CREATE_TABLE) or "no")


PERSISTENCE_MODULE = __name__
CIPHER_TOPIC = "infra.adapters.postgres.cipher:EventCipher"
MAPPER_TOPIC = "services.shared.mapper:BoundMapper"
#: The env key of a log's chain key (base64 of 32 bytes).
CHAIN_KEY = "CHAIN_KEY"


def _chain_key_from(encoded: str | None) -> bytes | None:
    if not encoded:
        return None
    try:
        key = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        msg = f"'{CHAIN_KEY}' is not valid base64"
        raise OSError(msg) from None
    if len(key) < 32:
        msg = f"'{CHAIN_KEY}' must be at least 32 bytes"
        raise OSError(msg)
    return key


def application_env(
    app_name: str,
    *,
    schema: str,
    cipher_key: str,
    cipher_context: str,
    chain_key: str,
    create_table: bool = False,
) -> dict[str, str]:
    """The ``env=`` for an eventsourcing application stored in ``schema`` on the shared pool.

    ``cipher_key`` is the base64 AES-256 key (``CIPHER_KEY``) and ``cipher_context`` the log's
    identity (``school:<id>`` or ``platform``): every state is encrypted with AES-GCM bound to
    the log, case, version and type (:mod:`infra.adapters.postgres.cipher` through
    :class:`services.shared.mapper.BoundMapper`). ``chain_key`` (base64) keys the log's hash
    chain (:mod:`infra.adapters.postgres.chain`). Keys live only in this dict, in memory.

    Each setting is given twice: plain and prefixed with the application name. eventsourcing merges
    ``os.environ`` under ``env=`` and looks up ``<NAME>_<KEY>`` before ``<KEY>``, so only the
    prefixed form guarantees a stray process variable (say ``CASEWORK_CIPHER_KEY``) cannot
    redirect a school's application to another schema or key.
    """
    settings = {
        es_persistence.InfrastructureFactory.PERSISTENCE_MODULE: PERSISTENCE_MODULE,
        es_pg.PostgresFactory.POSTGRES_SCHEMA: schema,
        es_persistence.InfrastructureFactory.CIPHER_TOPIC: CIPHER_TOPIC,
        "CIPHER_KEY": cipher_key,
        "CIPHER_CONTEXT": cipher_context,
        CHAIN_KEY: chain_key,
        es_persistence.InfrastructureFactory.COMPRESSOR_TOPIC: "",
        es_persistence.InfrastructureFactory.MAPPER_TOPIC: MAPPER_TOPIC,
        es_pg.PostgresFactory.CREATE_TABLE: "yes" if create_table else "no",
    }
    prefix = app_name.upper() + "_"
    env = dict(settings)
    env.update({prefix + key: value for key, value in settings.items()})
    return env


def log_env(app_name: str, keys: LogKeys, *, create_table: bool = False) -> dict[str, str]:
    """The env of an application writing the log ``keys`` describe (:func:`application_env`)."""
    return application_env(
        app_name,
        schema=keys.schema,
        cipher_key=base64.b64encode(keys.data_key).decode("ascii"),
        cipher_context=keys.context,
        chain_key=base64.b64encode(keys.chain_key).decode("ascii"),
        create_table=create_table,
    )
