"""Embedded PostgreSQL from the ``pgserver`` wheel, for the one-command local mode.

DESIGN.md §8: on a fresh machine ``vangnet`` runs without any database server installed. When
``DATABASE_URL`` is unset we start PostgreSQL 16 from the ``pgserver`` wheel in
``<data_dir>/pg``; it listens on a Unix socket only (no TCP port to collide with or expose).
``pgserver`` also works when running as root (it runs the server as a ``pgserver`` system user)
and stops the server when the last handle in the process exits.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from infra.config.settings import Settings

#: Servers started by this process, by data directory, so repeated calls reuse one server.
_servers: dict[Path, Any] = {}


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded server in ``data_dir / "pg"`` and return its URI."""
    pg_dir = (data_dir / "pg").absolute()
    server = _servers.get(pg_dir)
    if server is None:
        pg_dir.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs (used by pgserver) warns when XDG_RUNTIME_DIR is unset (root, CI).
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            # Imported lazily: production processes never load it.
            from pgserver.postgres_server import get_server

            server = get_server(pg_dir)
        _servers[pg_dir] = server
    uri: str = server.get_uri()
    return uri


def database_url(settings: Settings) -> str:
    """The URL to connect to: ``DATABASE_URL`` if set, else the embedded server's URI."""
    if settings.database_url is not None:
        return settings.database_url
    return start_embedded(settings.data_dir)
