"""Typed process settings, read once from the environment.

Every setting Vangnet reads from the environment is defined (and documented) here, so the rest of
the code takes a :class:`Settings` object and never touches ``os.environ`` itself. That keeps
tests honest (they build settings from a plain dict) and makes the full list of knobs reviewable
in one place.

Environment variables:

``DATABASE_URL``
    PostgreSQL connection URL (``postgresql://user:pass@host:5432/dbname``). Optional: when it is
    unset Vangnet runs in *embedded mode* and starts PostgreSQL from the ``pgserver`` wheel in
    ``<VANGNET_DATA_DIR>/pg``.
``VANGNET_DATA_DIR``
    Local data directory (embedded database, generated master key). Default ``./.vangnet``.
``VANGNET_MASTER_KEY``
    Base64 of 32 random bytes. It wraps every school's data key (DESIGN.md §5), so losing it loses
    all case data. Required when ``DATABASE_URL`` is set. In embedded mode, when unset, a key is
    generated once and kept in ``<VANGNET_DATA_DIR>/master.key`` (file mode 0600).
``VANGNET_POOL_SIZE``
    Maximum number of connections of the ONE process-wide pool, however many schools exist.
    Default 10.
``BROKER_URL``
    Dramatiq broker URL (RabbitMQ or Redis). Optional; unset means the in-process stub broker.
``VANGNET_APP_CACHE``
    How many per-school casework applications a process keeps constructed (LRU). Default 256.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MASTER_KEY_BYTES = 32
MASTER_KEY_FILENAME = "master.key"


class SettingsError(ValueError):
    """A setting is missing or malformed. The message names the variable, never its value."""


@dataclass(frozen=True)
class Settings:
    """Everything a Vangnet process is configured with. Build it with :meth:`from_env`."""

    #: PostgreSQL URL, or ``None`` for the embedded server.
    database_url: str | None
    #: Local data directory (embedded PostgreSQL, generated master key).
    data_dir: Path
    #: The 32-byte master key that wraps the schools' data keys. Never printed.
    master_key: bytes = field(repr=False)
    #: Max connections of the one process-wide pool.
    pool_size: int = 10
    #: Message broker URL; ``None`` means the in-process stub broker.
    broker_url: str | None = None
    #: How many school applications to keep constructed (LRU).
    app_cache_size: int = 256

    @property
    def embedded(self) -> bool:
        """Whether the database is the embedded ``pgserver`` one (no ``DATABASE_URL``)."""
        return self.database_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``).

        In embedded mode without ``VANGNET_MASTER_KEY`` this creates the data directory and the
        master key file on first use (side effect on purpose: a fresh machine runs with one
        command).
        """
        env = os.environ if environ is None else environ
        database_url = env.get("DATABASE_URL") or None
        data_dir = Path(env.get("VANGNET_DATA_DIR") or "./.vangnet").expanduser().absolute()
        pool_size = _positive_int(env, "VANGNET_POOL_SIZE", 10)
        app_cache_size = _positive_int(env, "VANGNET_APP_CACHE", 256)
        broker_url = env.get("BROKER_URL") or None

        encoded_key = env.get("VANGNET_MASTER_KEY") or None
        if encoded_key is not None:
            master_key = decode_master_key(encoded_key, source="VANGNET_MASTER_KEY")
        elif database_url is None:
            master_key = load_or_create_master_key(data_dir)
        else:
            msg = "VANGNET_MASTER_KEY must be set when DATABASE_URL is set"
            raise SettingsError(msg)

        return cls(
            database_url=database_url,
            data_dir=data_dir,
            master_key=master_key,
            pool_size=pool_size,
            broker_url=broker_url,
            app_cache_size=app_cache_size,
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = f"{name} must be a positive integer"
        raise SettingsError(msg) from None
    if value < 1:
        msg = f"{name} must be a positive integer"
        raise SettingsError(msg)
    return value


def decode_master_key(encoded: str, *, source: str) -> bytes:
    """Decode a base64 master key and check it is exactly 32 bytes."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        msg = f"{source} is not valid base64"
        raise SettingsError(msg) from None
    if len(key) != MASTER_KEY_BYTES:
        msg = f"{source} must decode to {MASTER_KEY_BYTES} bytes"
        raise SettingsError(msg)
    return key


def load_or_create_master_key(data_dir: Path) -> bytes:
    """Return the embedded-mode master key, generating ``<data_dir>/master.key`` the first time.

    The file is created with ``O_EXCL`` and mode 0600, so two processes starting at once cannot
    both write a different key, and no other local user can read it.
    """
    path = data_dir / MASTER_KEY_FILENAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        encoded = base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: read its key below
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(encoded + b"\n")
    return decode_master_key(path.read_text(encoding="ascii"), source=str(path))
