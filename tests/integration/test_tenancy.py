"""Tenancy on real PostgreSQL: schema per school, key per school, one bounded pool.

``Note`` is a test-only aggregate (the real Case aggregate lives in services.casework.domain):
event classes must be importable by topic, so it is defined in this module, not in __main__.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.domain import Aggregate
from psycopg.sql import SQL, Identifier

from infra.adapters.crypto import KeyUnwrapError, b64, unwrap_key
from infra.adapters.postgres.cipher import school_context
from infra.adapters.postgres.store import application_env
from infra.adapters.schools import casework_env
from infra.bootstrap.container import Container
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.shared.actor import Actor, acting_as
from services.shared.errors import (
    IntegrityViolation,
    InvalidInput,
    PermissionDenied,
    SchoolNotFound,
)
from tenants.registry import BoardNotFound, DuplicateSlug, School

pytestmark = pytest.mark.integration

SECRET_TEXT = "Pietje Puk wordt elke pauze gepest bij de fietsenstalling"


class Note(Aggregate):
    def __init__(self, text: str) -> None:
        self.text = text


def _two_schools(container: Container) -> tuple[School, School]:
    board = container.create_board("Stichting Test " + uuid4().hex[:8])
    a = container.create_school(board.slug, "School A " + uuid4().hex[:8])
    b = container.create_school(board.slug, "School B " + uuid4().hex[:8])
    return a, b


def _save_note(container: Container, school: School, text: str) -> UUID:
    app = container.schools.get(school.id)
    note = Note(text=text)
    app.save(note)
    return note.id


def _raw_states(conninfo: str, schema: str, table: str) -> list[bytes]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            SQL("SELECT state FROM {}.{}").format(Identifier(schema), Identifier(table))
        ).fetchall()
    return [bytes(r[0]) for r in rows]


def test_each_school_has_its_own_schema_and_event_table(
    container: Container, database_url: str
) -> None:
    a, b = _two_schools(container)
    assert a.schema_name != b.schema_name
    note_a = _save_note(container, a, "a")
    note_b = _save_note(container, b, "b")

    with psycopg.connect(database_url) as conn:
        schemas = {
            r[0]
            for r in conn.execute(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'casework_events'"
            )
        }
        assert {a.schema_name, b.schema_name} <= schemas
        # No composite types or functions were created in the school schemas.
        extra = conn.execute(
            "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = ANY(%s) AND t.typtype = 'c' AND t.typrelid = 0",
            ([a.schema_name, b.schema_name],),
        ).fetchone()
        assert extra == (0,)
        ids = {
            school.schema_name: {
                r[0]
                for r in conn.execute(
                    SQL("SELECT originator_id FROM {}.casework_events").format(
                        Identifier(school.schema_name)
                    )
                )
            }
            for school in (a, b)
        }
    assert ids == {a.schema_name: {note_a}, b.schema_name: {note_b}}
    assert container.schools.get(a.id).repository.get(note_a).text == "a"


def test_payloads_are_ciphertext_at_rest(container: Container, database_url: str) -> None:
    a, _ = _two_schools(container)
    _save_note(container, a, SECRET_TEXT)
    states = _raw_states(database_url, a.schema_name, "casework_events")
    assert states
    for state in states:
        assert SECRET_TEXT.encode() not in state
        assert b"Pietje" not in state
    # The registry is encrypted too: school names and wrapped keys are not readable at rest.
    platform_states = _raw_states(database_url, "platform", "platform_events")
    assert all(a.name.encode() not in s for s in platform_states)
    assert all(a.wrapped_data_key.encode() not in s for s in platform_states)


def test_one_schools_key_cannot_decrypt_another_schools_events(
    container: Container,
) -> None:
    a, b = _two_schools(container)
    note_a = _save_note(container, a, SECRET_TEXT)
    key_b = unwrap_key(container.settings.master_key, b.wrapped_data_key, b.id.bytes)
    # An application reading school A's schema with school B's key (and B's identity).
    intruder = CaseworkApplication(
        env=application_env(
            CaseworkApplication.name,
            schema=a.schema_name,
            cipher_key=b64(key_b),
            cipher_context=school_context(b.id),
            chain_key=b64(bytes(32)),
        )
    )
    with pytest.raises(IntegrityViolation, match="fails its integrity check"):
        intruder.repository.get(note_a)
    # Even with A's own key, claiming to be school B: the ciphertext is bound to school A.
    key_a = unwrap_key(container.settings.master_key, a.wrapped_data_key, a.id.bytes)
    impostor = CaseworkApplication(
        env=application_env(
            CaseworkApplication.name,
            schema=a.schema_name,
            cipher_key=b64(key_a),
            cipher_context=school_context(b.id),
            chain_key=b64(bytes(32)),
        )
    )
    with pytest.raises(IntegrityViolation):
        impostor.repository.get(note_a)
    # And B's wrapped key does not unwrap as if it were A's (key bound to the school id).
    with pytest.raises(KeyUnwrapError):
        unwrap_key(container.settings.master_key, b.wrapped_data_key, a.id.bytes)
    # The proper application still reads it.
    assert (
        CaseworkApplication(env=casework_env(a, container.settings.master_key))
        .repository.get(note_a)
        .text
        == SECRET_TEXT
    )


def test_unknown_school(container: Container) -> None:
    unknown = uuid4()
    with pytest.raises(SchoolNotFound) as info:
        container.schools.get(unknown)
    assert str(unknown) in info.value.message
    with pytest.raises(SchoolNotFound, match="no-such-school"):
        container.schools.get_by_slug("no-such-school")
    with pytest.raises(BoardNotFound, match="no-such-board"):
        container.create_school("no-such-board", "Whatever")


def test_duplicate_slugs_are_refused(container: Container) -> None:
    board = container.create_board("Stichting Dubbel " + uuid4().hex[:6])
    with pytest.raises(DuplicateSlug, match=board.slug):
        container.create_board(board.name)
    school = container.create_school(board.slug, "De Dubbele School " + uuid4().hex[:6])
    with pytest.raises(DuplicateSlug, match=school.slug) as info:
        container.create_school(board.slug, school.name)
    assert isinstance(info.value, InvalidInput)
    # Explicit slug disambiguates equal names.
    other = container.create_school(board.slug, school.name, slug=school.slug + "-utrecht")
    assert other.id != school.id
    with pytest.raises(InvalidInput):
        container.create_school(board.slug, "x", slug="Not A Slug")


def test_registry_records_actor_and_lists(container: Container) -> None:
    operator = Actor(user_id="op-42", role=Role.OPERATOR)
    board = container.create_board("Stichting Lijst " + uuid4().hex[:6], actor=operator)
    s1 = container.create_school(board.slug, "Lijst Een " + uuid4().hex[:6], actor=operator)
    s2 = container.create_school(board.slug, "Lijst Twee " + uuid4().hex[:6])
    created = container.registry.repository.event_store.get(s1.id)
    first = next(iter(created))
    assert (first.actor_id, first.actor_role) == ("op-42", "operator")  # type: ignore[attr-defined]
    assert [s.id for s in container.registry.list_schools(board.id)] == sorted(
        [s1.id, s2.id], key=lambda i: container.registry.school(i).slug
    )
    assert board.id in {b.id for b in container.registry.list_boards()}
    assert container.registry.school_by_slug(s1.slug).schema_name == s1.schema_name
    assert container.registry.board_by_slug(board.slug).name == board.name
    with (
        acting_as(Actor(user_id="t-1", role=Role.TEACHER)),
        pytest.raises(PermissionDenied),
    ):
        container.create_board("Stichting Nee")


def test_thousand_schools_stay_within_the_pool(container: Container, database_url: str) -> None:
    pool_max = container.settings.pool_size
    assert pool_max == 4
    board = container.create_board("Stichting Duizend " + uuid4().hex[:6])
    peak_activity = 0
    peak_pool = 0

    def sample(monitor: psycopg.Connection[tuple[int]]) -> None:
        nonlocal peak_activity, peak_pool
        row = monitor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        assert row is not None
        peak_activity = max(peak_activity, row[0])
        peak_pool = max(peak_pool, container.pool.get_stats()["pool_size"])

    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as monitor:
        names = [f"Duizend {i:04d} {board.slug}" for i in range(1000)]
        with ThreadPoolExecutor(max_workers=8) as executor:
            schools = []
            for i, school in enumerate(
                executor.map(lambda n: container.create_school(board.slug, n), names)
            ):
                schools.append(school)
                if i % 25 == 0:
                    sample(monitor)
            provisioned = time.perf_counter()
            # Every school gets an event through the LRU-cached apps (cache of 16 → evictions).
            note_ids = []
            for i, note_id in enumerate(
                executor.map(lambda s: _save_note(container, s, "x"), schools)
            ):
                note_ids.append(note_id)
                if i % 25 == 0:
                    sample(monitor)
        sample(monitor)
    finished = time.perf_counter()
    print(
        f"\n1000 schools provisioned in {provisioned - started:.1f}s, "
        f"1000 events written in {finished - provisioned:.1f}s; "
        f"peak pg_stat_activity={peak_activity}, peak pool_size={peak_pool}, "
        f"pool stats={container.pool.get_stats()}"
    )
    assert len(container.registry.list_schools(board.id)) == 1000
    assert len(container.schools) <= container.settings.app_cache_size
    assert peak_pool <= pool_max
    assert peak_activity <= pool_max
    # Evicted applications did not close the shared pool.
    assert not container.pool.closed
    # The first school's application was evicted long ago: built again, it reads its event.
    assert schools[0].id not in container.schools
    assert container.schools.get(schools[0].id).repository.get(note_ids[0]).text == "x"
