"""Shared fixtures: a real PostgreSQL database for integration tests, and a Container on it.

Database choice, once per test session:
1. ``VANGNET_TEST_DATABASE_URL`` (or ``DATABASE_URL``): that server; a fresh, uniquely named
   database is created for the session and dropped at the end.
2. Otherwise an embedded ``pgserver`` in a temporary directory (deleted at the end).
If neither works the integration tests are skipped with the reason — or, when ``CI`` is set,
they fail, so a broken CI database can never turn into a green run of skipped tests.
"""

from __future__ import annotations

import base64
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from infra.bootstrap.container import Container
from infra.config.settings import Settings

#: Fixed master key for tests (never used outside tests).
TEST_MASTER_KEY = bytes(range(32))
TEST_MASTER_KEY_B64 = base64.b64encode(TEST_MASTER_KEY).decode("ascii")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"integration database unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"integration database unavailable: {reason}")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Conninfo of an empty database for this test session."""
    server_url = os.environ.get("VANGNET_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if server_url:
        name = f"vangnet_test_{uuid.uuid4().hex[:12]}"
        try:
            with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
        except psycopg.Error as e:
            _unavailable(f"cannot create a test database on the configured server ({e})")
        try:
            yield make_conninfo(server_url, dbname=name)
        finally:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(
                    SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name))
                )
        return

    try:
        from pgserver.postgres_server import get_server

        pg_dir = Path(tempfile.mkdtemp(prefix="vangnet-test-")) / "pg"
        server = get_server(pg_dir, cleanup_mode="delete")
        uri: str = server.get_uri()
    except Exception as e:  # any failure to start means "no database here"
        _unavailable(f"embedded pgserver failed to start ({type(e).__name__}: {e})")
    try:
        yield uri
    finally:
        server.cleanup()


@pytest.fixture
def test_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        master_key=TEST_MASTER_KEY,
        pool_size=4,
        app_cache_size=16,
    )


@pytest.fixture
def container(test_settings: Settings) -> Iterator[Container]:
    """An open Container on the session database (one per test: the pool is process-wide)."""
    with Container.open(test_settings) as c:
        yield c


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread while its browser is open, and ``asyncio.run`` in later tests would then refuse."""
    e2e = Path(__file__).resolve().parent / "e2e"
    items.sort(key=lambda item: e2e in Path(item.path).resolve().parents)
