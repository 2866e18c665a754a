"""The read side's own asyncpg pool (queries of the views run on asyncio, writes stay on psycopg).

:func:`create_read_pool` accepts what the rest of Vangnet is configured with: a URL
(``postgresql://user@host/db``, also pgserver's ``postgresql://postgres:@/postgres?host=/sock``)
or a libpq ``key=value`` conninfo (what ``psycopg.conninfo.make_conninfo`` returns). Both are
parsed by libpq's own rules (:func:`psycopg.conninfo.conninfo_to_dict`) and handed to asyncpg as
keyword arguments, so a Unix-socket directory in ``host`` works either way.

Every connection decodes ``json`` and ``jsonb`` to Python values (and encodes them from Python
values).
"""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
from psycopg.conninfo import conninfo_to_dict

#: libpq keys that map onto asyncpg's connect() arguments of another name.
_RENAMED = {"dbname": "database"}
_PASSED = {"host", "port", "user", "password", "dbname"}
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: The schema shared by every school: the tenant registry and the anonymous statistics
#: (DESIGN.md §5). Each school's own schema is named by ``tenants.registry.schema_name_for``.
PLATFORM_SCHEMA = "platform"


def first(row: Any) -> Any:
    """The first column of a row, whatever its row factory made of it (a dict or a tuple);
    ``None`` for no row."""
    if row is None:
        return None
    if isinstance(row, dict):
        return next(iter(row.values()))
    return row[0]


def connect_kwargs(conninfo_or_url: str) -> dict[str, Any]:
    """asyncpg ``connect``/``create_pool`` keyword arguments for a URL or key=value conninfo."""
    params = conninfo_to_dict(conninfo_or_url)
    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        if key in _PASSED and value not in (None, ""):
            kwargs[_RENAMED.get(key, key)] = value
    if "port" in kwargs:
        ports = str(kwargs["port"]).split(",")
        kwargs["port"] = [int(p) for p in ports] if len(ports) > 1 else int(ports[0])
    if "host" in kwargs and "," in str(kwargs["host"]):
        kwargs["host"] = str(kwargs["host"]).split(",")
    if params.get("connect_timeout"):
        kwargs["timeout"] = float(str(params["connect_timeout"]))
    if params.get("sslmode"):
        kwargs["ssl"] = params["sslmode"]
    kwargs["server_settings"] = {
        "application_name": str(params.get("application_name") or "vangnet-read")
    }
    return kwargs


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection set-up: json and jsonb as Python values."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_read_pool(
    conninfo_or_url: str, max_size: int, *, min_size: int = 1
) -> asyncpg.Pool:
    """An open asyncpg pool with the json codecs installed."""
    if max_size < 1:
        msg = "max_size must be at least 1"
        raise ValueError(msg)
    return await asyncpg.create_pool(
        min_size=min(min_size, max_size),
        max_size=max_size,
        init=init_connection,
        **connect_kwargs(conninfo_or_url),
    )


async def connect(conninfo_or_url: str) -> asyncpg.Connection:
    """One asyncpg connection set up like the pool's (scripts, tests)."""
    conn = await asyncpg.connect(**connect_kwargs(conninfo_or_url))
    await init_connection(conn)
    return conn


def quote_ident(name: str) -> str:
    """A schema or table name for SQL text; only plain identifiers are accepted."""
    if not _IDENTIFIER_RE.match(name):
        msg = "not a plain SQL identifier"
        raise ValueError(msg)
    return '"' + name + '"'


def table(schema: str, name: str) -> str:
    """``"schema"."name"`` for SQL text (both plain identifiers)."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"
