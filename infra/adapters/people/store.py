"""One school's staff directory in PostgreSQL: the ``Person`` events in the school's log and the
index table ``<schema>.people`` beside them, written in the same transaction.

The events are the truth (chained, encrypted, checkpointed with the cases); the table is what
lookups need — by login identity, by userName (case-insensitively), by externalId, SCIM lists —
and is kept in step by the event recorder itself (``save(..., also=...)``,
:mod:`infra.adapters.postgres.store`), so a read right after a write sees it and a unique index
refuses a
duplicate together with its events. The table is created on first use in each school's schema.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composed, Identifier

from infra.adapters.postgres.pool import shared_pool
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.people.directory import Taken
from services.people.domain import Person
from services.people.names import MAX_CANDIDATES, PersonName
from services.shared.errors import ConcurrencyConflict

TABLE = "people"

_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    " person_id uuid PRIMARY KEY,"
    " version bigint NOT NULL,"
    " display_name text NOT NULL,"
    " email text NOT NULL,"
    " user_name text NOT NULL,"
    " user_name_key text,"  # casefolded userName; NULL when none or removed (free for reuse)
    " external_id text,"  # NULL when none or removed
    " issuer text,"
    " subject text,"
    " roles text[] NOT NULL,"
    " given_roles text[],"  # as the school's directory sent them (SCIM roles)
    " active boolean NOT NULL,"
    " removed boolean NOT NULL,"
    " provisioned boolean NOT NULL,"
    " created_at timestamptz NOT NULL,"
    " updated_at timestamptz NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS people_user_name ON {table} (user_name_key)",
    "CREATE UNIQUE INDEX IF NOT EXISTS people_external_id ON {table} (external_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS people_login ON {table} (issuer, subject)",
    "CREATE INDEX IF NOT EXISTS people_created ON {table} (created_at, person_id)",
)

#: Constraint name -> the SCIM attribute (or ``login``) whose value is taken.
_UNIQUE = {
    "people_user_name": "userName",
    "people_external_id": "externalId",
    "people_login": "login",
}
_CONSTRAINT_RE = re.compile(r'unique constraint "(\w+)"')

_ensured: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()
_ensured_lock = threading.Lock()


def create_people_table(conn: Connection[Any], schema: str) -> None:
    """The index table and its unique indexes in ``schema`` (idempotent)."""
    table = Identifier(schema, TABLE)
    for statement in _DDL:
        conn.execute(SQL(statement).format(table=table))


def ensure_people_table(conn: Connection[Any], schema: str) -> None:
    """Create the table once per schema and process (schools provisioned before it existed)."""
    with _ensured_lock:
        ready = _ensured.setdefault(shared_pool(), set())
        if schema in ready:
            return
    create_people_table(conn, schema)
    with _ensured_lock:
        ready.add(schema)


def user_name_key(user_name: str) -> str | None:
    """How userNames compare (RFC 7643: case-insensitive): casefolded, ``None`` when empty."""
    key = user_name.strip().casefold()
    return key or None


@dataclass(frozen=True)
class PersonRow:
    """One row of the index: what SCIM answers and pickers show."""

    person_id: UUID
    version: int
    display_name: str
    email: str
    user_name: str
    external_id: str | None
    issuer: str | None
    subject: str | None
    roles: tuple[Role, ...]
    given_roles: tuple[str, ...] | None
    active: bool
    removed: bool
    provisioned: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> PersonRow:
        return cls(
            person_id=row["person_id"],
            version=int(row["version"]),
            display_name=row["display_name"],
            email=row["email"],
            user_name=row["user_name"],
            external_id=row["external_id"],
            issuer=row["issuer"],
            subject=row["subject"],
            roles=tuple(Role(r) for r in row["roles"] if r in Role._value2member_map_),
            given_roles=None if row["given_roles"] is None else tuple(row["given_roles"]),
            active=row["active"],
            removed=row["removed"],
            provisioned=row["provisioned"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


_COLUMNS = (
    "person_id, version, display_name, email, user_name, user_name_key, external_id, issuer,"
    " subject, roles, given_roles, active, removed, provisioned, created_at, updated_at"
)


def _upsert(schema: str, person: Person) -> tuple[Composed, tuple[Any, ...]]:
    removed = person.removed
    profile = person.profile
    statement = SQL(
        "INSERT INTO {table} (" + _COLUMNS + ") VALUES "  # noqa: S608 (constant columns)
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (person_id) DO UPDATE SET version = excluded.version,"
        " display_name = excluded.display_name, email = excluded.email,"
        " user_name = excluded.user_name, user_name_key = excluded.user_name_key,"
        " external_id = excluded.external_id, issuer = excluded.issuer,"
        " subject = excluded.subject, roles = excluded.roles,"
        " given_roles = excluded.given_roles, active = excluded.active,"
        " removed = excluded.removed, updated_at = excluded.updated_at"
    ).format(table=Identifier(schema, TABLE))
    params = (
        person.id,
        person.version,
        profile.display_name,
        profile.email,
        profile.user_name,
        None if removed else user_name_key(profile.user_name),
        None if removed or not profile.external_id else profile.external_id,
        person.issuer,
        person.subject,
        [r.value for r in person.roles],
        None if person.given_roles is None else list(person.given_roles),
        person.active,
        removed,
        person.provisioned,
        person.created_on,
        person.modified_on,
    )
    return statement, params


class PostgresPeopleStore:
    """:class:`services.people.directory.PeopleStore` of one school, on the shared pool."""

    def __init__(self, app: CaseworkApplication, school_id: UUID, schema: str) -> None:
        self.app = app
        self.school_id = school_id
        self.schema = schema
        self.table = Identifier(schema, TABLE)

    @contextmanager
    def _conn(self) -> Iterator[Connection[Any]]:
        with shared_pool().connection() as conn:
            ensure_people_table(conn, self.schema)
            yield conn

    def ensure(self) -> None:
        """Make sure the table exists (before a write's transaction needs it)."""
        with self._conn():
            pass

    # --- the port -------------------------------------------------------------------------

    def load(self, person_id: UUID) -> Person | None:
        try:
            person: object = self.app.repository.get(person_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(person, Person) or person.school_id != self.school_id:
            return None
        return person

    def save(self, *people: Person) -> None:
        changed = [p for p in people if p.pending_events]
        if not changed:
            return
        for person in changed:
            if person.school_id != self.school_id:
                msg = f"person {person.id} is not of this school"
                raise ValueError(msg)
        self.ensure()
        rows = [_upsert(self.schema, p) for p in changed]
        try:
            self.app.save(*changed, also=rows)
        except IntegrityError as error:
            match = _CONSTRAINT_RE.search(str(error))
            field = _UNIQUE.get(match.group(1)) if match else None
            if field is None:
                msg = "the directory was changed by someone else at the same time: retry"
                raise ConcurrencyConflict(msg) from None
            msg = f"{field} is already taken by another person of this school"
            raise Taken(msg, field=field, reason="taken") from None

    def by_login(self, issuer: str, subject: str) -> UUID | None:
        with self._conn() as conn:
            row = conn.execute(
                SQL("SELECT person_id FROM {} WHERE issuer = %s AND subject = %s").format(
                    self.table
                ),
                (issuer, subject),
            ).fetchone()
        return None if row is None else _first(row)

    def unlinked(self, user_names: Sequence[str], external_ids: Sequence[str]) -> list[UUID]:
        keys = [k for k in (user_name_key(n) for n in user_names) if k]
        with self._conn() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT person_id FROM {} WHERE provisioned AND active AND NOT removed"
                    " AND subject IS NULL"
                    " AND (user_name_key = ANY(%s) OR external_id = ANY(%s))"
                    " ORDER BY created_at, person_id"
                ).format(self.table),
                (keys, list(external_ids)),
            ).fetchall()
        return [_first(r) for r in rows]

    # --- reads for SCIM and the edge ------------------------------------------------------------

    def row(self, person_id: UUID) -> PersonRow | None:
        """The person's index row (removed ones too), or ``None``."""
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as curs:
            found = curs.execute(
                SQL("SELECT " + _COLUMNS + " FROM {} WHERE person_id = %s").format(  # noqa: S608
                    self.table
                ),
                (person_id,),
            ).fetchone()
        return None if found is None else PersonRow.of(found)

    def search(
        self,
        *,
        user_name: str | None = None,
        external_id: str | None = None,
        include_removed: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[PersonRow]]:
        """(how many match, one page of them in creation order)."""
        where = [] if include_removed else ["NOT removed"]
        params: list[Any] = []
        if user_name is not None:
            where.append("user_name_key = %s")
            params.append(user_name_key(user_name))
        if external_id is not None:
            where.append("external_id = %s")
            params.append(external_id)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as curs:
            total_row = curs.execute(
                SQL("SELECT count(*) AS n FROM {}" + clause).format(self.table),  # noqa: S608
                params,
            ).fetchone()
            page = "SELECT " + _COLUMNS + " FROM {}" + clause  # noqa: S608 (constant parts)
            rows = curs.execute(
                SQL(page + " ORDER BY created_at, person_id OFFSET %s LIMIT %s").format(self.table),
                [*params, offset, limit],
            ).fetchall()
        total = int(total_row["n"]) if total_row is not None else 0
        return total, [PersonRow.of(r) for r in rows]

    # --- names for pages, files and e-mails (services.people.names.PeopleReader) -------------

    def names(self, person_ids: Collection[str]) -> dict[str, PersonName]:
        """The persons these ids name: person ids, and the login subjects older events hold
        (removed persons too: history keeps their names)."""
        uuids = []
        for value in person_ids:
            try:
                uuids.append(UUID(str(value)))
            except ValueError:
                continue
        others = [str(v) for v in person_ids]
        if not others:
            return {}
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as curs:
            rows = curs.execute(
                SQL(
                    "SELECT person_id, subject, display_name, roles, active, removed FROM {}"
                    " WHERE person_id = ANY(%s) OR subject = ANY(%s)"
                ).format(self.table),
                (uuids, others),
            ).fetchall()
        found: dict[str, PersonName] = {}
        wanted = set(others)
        for row in rows:
            name = _name(row)
            for key in (str(row["person_id"]), row["subject"]):
                if key in wanted:
                    found[key] = name
        return found

    def active_with_roles(
        self, roles: Collection[Role], query: str = "", limit: int = MAX_CANDIDATES
    ) -> list[PersonName]:
        """Active persons with one of ``roles``, whose name contains ``query``, by name."""
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as curs:
            rows = curs.execute(
                SQL(
                    "SELECT person_id, subject, display_name, roles, active, removed FROM {}"
                    " WHERE active AND NOT removed AND roles && %s::text[]"
                    " AND display_name ILIKE %s"
                    " ORDER BY lower(display_name), person_id LIMIT %s"
                ).format(self.table),
                ([r.value for r in roles], pattern, limit),
            ).fetchall()
        return [_name(r) for r in rows]

    def email(self, person_id: str) -> str:
        """The e-mail address of an active person ("" when none, unknown or not active)."""
        try:
            key = UUID(str(person_id))
        except ValueError:
            return ""
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as curs:
            row = curs.execute(
                SQL("SELECT email FROM {} WHERE person_id = %s AND active AND NOT removed").format(
                    self.table
                ),
                (key,),
            ).fetchone()
        return str(row["email"]) if row is not None and row["email"] else ""


def _name(row: dict[str, Any]) -> PersonName:
    return PersonName(
        person_id=str(row["person_id"]),
        display_name=row["display_name"],
        roles=tuple(Role(r) for r in row["roles"] if r in Role._value2member_map_),
        active=bool(row["active"]) and not row["removed"],
    )


def _first(row: Any) -> UUID:
    value = row[0] if isinstance(row, tuple | list) else next(iter(row.values()))
    return value if isinstance(value, UUID) else UUID(str(value))
