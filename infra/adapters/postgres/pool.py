"""The ONE process-wide PostgreSQL connection pool.

DESIGN.md §5: a process holds one bounded pool however many schools exist. The ``eventsourcing``
library gives every application its own datastore and pool; with thousands of schools that would
be thousands of pools. Instead :mod:`infra.adapters.postgres.store` makes every application's
datastore
use
the pool installed here. Connections are configured exactly as eventsourcing's
``PostgresDatastore.after_connect_func`` does (autocommit, plus an idle-in-transaction timeout so
a stuck transaction cannot hold a school's table lock forever), and return dict rows because the
eventsourcing recorders read columns by name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg_pool
from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg.sql import SQL, Literal

SharedPool = psycopg_pool.ConnectionPool[Connection[DictRow]]

#: eventsourcing's default for POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT (seconds).
DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT = 5.0


class PoolNotInstalledError(RuntimeError):
    """No shared pool is installed: open a ``Container`` (or call :func:`install_pool`) first."""


def configure_connection(
    idle_in_transaction_timeout: float = DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT,
) -> Callable[[Connection[Any]], None]:
    """Return the pool's ``configure`` callback (same settings as eventsourcing's datastore)."""
    statement = SQL("SET idle_in_transaction_session_timeout = {}").format(
        Literal(f"{int(idle_in_transaction_timeout * 1000)}ms")
    )

    def configure(conn: Connection[Any]) -> None:
        conn.autocommit = True
        conn.execute(statement)

    return configure


def create_pool(
    conninfo: str,
    *,
    max_size: int,
    min_size: int = 1,
    timeout: float = 30.0,
    idle_in_transaction_timeout: float = DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT,
    name: str = "vangnet",
    open_now: bool = True,
) -> SharedPool:
    """Create the bounded pool. ``timeout`` is how long a caller waits for a free connection."""
    pool: SharedPool = psycopg_pool.ConnectionPool(
        conninfo,
        connection_class=Connection[DictRow],
        kwargs={"row_factory": dict_row},
        min_size=min(min_size, max_size),
        max_size=max_size,
        open=False,
        configure=configure_connection(idle_in_transaction_timeout),
        timeout=timeout,
        name=name,
    )
    if open_now:
        pool.open(wait=True, timeout=timeout)
    return pool


class _Installed:
    """Holder of the process-wide pool (a module-level slot, guarded by a lock)."""

    lock = threading.Lock()
    pool: SharedPool | None = None


def install_pool(pool: SharedPool) -> None:
    """Make ``pool`` the process-wide pool used by every eventsourcing application."""
    with _Installed.lock:
        if _Installed.pool is not None and _Installed.pool is not pool:
            msg = "a different shared pool is already installed in this process"
            raise RuntimeError(msg)
        _Installed.pool = pool


def uninstall_pool(pool: SharedPool) -> None:
    """Forget ``pool`` (if it is the installed one). Does not close it."""
    with _Installed.lock:
        if _Installed.pool is pool:
            _Installed.pool = None


def shared_pool() -> SharedPool:
    """The installed process-wide pool."""
    pool = _Installed.pool
    if pool is None:
        raise PoolNotInstalledError(PoolNotInstalledError.__doc__)
    return pool
