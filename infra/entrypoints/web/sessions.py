"""Server-side web sessions in PostgreSQL (``platform.web_sessions``).

Web processes stay stateless and scale out: any process can serve any request, and nothing but a
random session id lives in the browser. The session holds the logged-in principal (ids and roles)
and the in-flight login's state/nonce/PKCE verifier; never case content.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg
from litestar.stores.base import Store

#: Run by :func:`ensure_session_table` (idempotent; once per process at start-up), one
#: statement per execute (what a Citus coordinator accepts, README "SQL in a school's schema").
SESSION_TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS platform.web_sessions ("
    " key text PRIMARY KEY,"
    " value bytea NOT NULL,"
    " expires_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS web_sessions_expires_at ON platform.web_sessions (expires_at)",
)


async def ensure_session_table(pool: asyncpg.Pool) -> None:
    # The advisory lock serialises web processes starting together (concurrent CREATE … IF NOT
    # EXISTS can still collide in the catalog); it is held until the transaction ends.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('vangnet.web_sessions'))")
        for statement in SESSION_TABLE_DDL:
            await conn.execute(statement)


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return datetime.now(UTC) + timedelta(seconds=seconds)


class PostgresSessionStore(Store):
    """A Litestar :class:`~litestar.stores.base.Store` on the read pool (asyncpg)."""

    def __init__(self, pool: asyncpg.Pool | None) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            msg = "the session store is used before the app started"
            raise RuntimeError(msg)
        return self._pool

    @pool.setter
    def pool(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        await self.pool.execute(
            "INSERT INTO platform.web_sessions (key, value, expires_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " expires_at = excluded.expires_at",
            key,
            data,
            _expiry(expires_in),
        )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        if renew_for is not None:
            row = await self.pool.fetchrow(
                "UPDATE platform.web_sessions SET expires_at = $2"
                " WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())"
                " RETURNING value",
                key,
                _expiry(renew_for),
            )
        else:
            row = await self.pool.fetchrow(
                "SELECT value FROM platform.web_sessions"
                " WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())",
                key,
            )
        return None if row is None else bytes(row["value"])

    async def delete(self, key: str) -> None:
        await self.pool.execute("DELETE FROM platform.web_sessions WHERE key = $1", key)

    async def delete_all(self) -> None:
        await self.pool.execute("DELETE FROM platform.web_sessions")

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        value = await self.pool.fetchval(
            "SELECT expires_at FROM platform.web_sessions WHERE key = $1", key
        )
        if value is None:
            return None
        return max(0, int((value - datetime.now(UTC)).total_seconds()))

    async def delete_expired(self) -> int:
        """Remove expired sessions; returns how many."""
        result = await self.pool.execute(
            "DELETE FROM platform.web_sessions WHERE expires_at <= now()"
        )
        return int(result.split()[-1])


async def purge_expired_sessions(store: PostgresSessionStore, interval: float = 3600.0) -> None:
    """Until cancelled: delete expired sessions every ``interval`` seconds (every web process
    does it; the delete is idempotent and uses the ``expires_at`` index)."""
    log = logging.getLogger(__name__)
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await store.delete_expired()
        except (OSError, asyncpg.PostgresError) as e:
            log.warning("purging expired sessions failed: %s", type(e).__name__)
        else:
            if removed:
                log.info("purged %d expired sessions", removed)
