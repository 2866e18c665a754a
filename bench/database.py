"""The benchmark's own database: created fresh on the chosen server, dropped at the end.

Server, in order: ``VANGNET_BENCH_DATABASE_URL``, ``DATABASE_URL``, else an embedded ``pgserver``
in a temporary directory (removed at the end). The database is ``vangnet_bench_<pid>``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier


@dataclass(frozen=True)
class BenchDatabase:
    #: Conninfo of the benchmark database.
    conninfo: str
    name: str
    #: Conninfo of the server's maintenance database (to drop the benchmark database).
    server: str
    embedded: bool
    #: Directory of the PostgreSQL client programs that match the server (pgbench), if known.
    bin_dir: Path | None

    def with_application(self, application_name: str) -> str:
        """The benchmark database's conninfo naming a client (``pg_stat_activity``)."""
        return make_conninfo(self.conninfo, application_name=application_name)

    def libpq_env(self) -> dict[str, str]:
        """``PG*`` environment variables for libpq programs (pgbench)."""
        params = conninfo_to_dict(self.conninfo)
        names = {
            "host": "PGHOST",
            "port": "PGPORT",
            "user": "PGUSER",
            "password": "PGPASSWORD",
            "dbname": "PGDATABASE",
        }
        return {env: str(params[key]) for key, env in names.items() if params.get(key)}


def server_url() -> str | None:
    return os.environ.get("VANGNET_BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or None


@contextmanager
def bench_database(*, keep: bool = False) -> Iterator[BenchDatabase]:
    """Create the benchmark database (on the configured or an embedded server); drop it after."""
    url = server_url()
    if url is not None:
        with _created(url, keep=keep, embedded=False, bin_dir=None) as db:
            yield db
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from pgserver.postgres_server import get_server

        pg_dir = Path(tempfile.mkdtemp(prefix="vangnet-bench-")) / "pg"
        server: Any = get_server(pg_dir, cleanup_mode=None if keep else "delete")
    import pgserver

    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    try:
        with _created(server.get_uri(), keep=keep, embedded=True, bin_dir=bin_dir) as db:
            yield db
    finally:
        if not keep:
            server.cleanup()
            shutil.rmtree(pg_dir.parent, ignore_errors=True)


@contextmanager
def _created(
    url: str, *, keep: bool, embedded: bool, bin_dir: Path | None
) -> Iterator[BenchDatabase]:
    name = f"vangnet_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))
        conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    db = BenchDatabase(
        conninfo=make_conninfo(url, dbname=name),
        name=name,
        server=url,
        embedded=embedded,
        bin_dir=bin_dir,
    )
    try:
        yield db
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name))
                )


def server_description(conninfo: str) -> dict[str, Any]:
    """The server settings that shape the figures (version, durability, memory, connections)."""
    names = (
        "server_version",
        "max_connections",
        "shared_buffers",
        "fsync",
        "synchronous_commit",
        "wal_level",
        "work_mem",
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = {n: conn.execute(SQL("SHOW {}").format(Identifier(n))).fetchone() for n in names}
    return {n: (row[0] if row else None) for n, row in found.items()}


def count_connections(conninfo: str) -> dict[str, int]:
    """Open connections to the benchmark database per ``application_name``."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "GROUP BY application_name"
        ).fetchall()
    return {str(name): int(n) for name, n in rows}
