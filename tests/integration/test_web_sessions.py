"""Server-side sessions in PostgreSQL: stored, expired, purged."""

from __future__ import annotations

import asyncio

from infra.bootstrap.container import Container
from infra.entrypoints.web.sessions import PostgresSessionStore, ensure_session_table
from projections.db import create_read_pool


def test_expired_sessions_are_not_read_and_are_purged(container: Container) -> None:
    async def run() -> None:
        pool = await create_read_pool(str(container.pool.conninfo), max_size=2)
        try:
            await ensure_session_table(pool)
            store = PostgresSessionStore(pool)
            await store.set("test-live", b"{}", expires_in=3600)
            await store.set("test-gone", b"{}", expires_in=-1)
            assert await store.get("test-live") == b"{}"
            assert await store.get("test-gone") is None
            assert await store.delete_expired() >= 1
            assert await store.get("test-live") == b"{}"
            count = await pool.fetchval(
                "SELECT count(*) FROM platform.web_sessions WHERE key = 'test-gone'"
            )
            assert count == 0
            await store.delete("test-live")
        finally:
            await pool.close()

    asyncio.run(run())
