"""Settings.from_env (infra.config.settings) and slugs (tenants.registry): no database needed."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from infra.config.settings import Settings, SettingsError
from services.shared.errors import InvalidInput
from tenants.registry import slugify, validate_slug


def test_embedded_generates_master_key_once(tmp_path: Path) -> None:
    env = {"VANGNET_DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    key_file = tmp_path / "master.key"
    assert first.embedded
    assert len(first.master_key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings.from_env(env).master_key == first.master_key
    assert "master_key" not in repr(first)


def test_explicit_values(tmp_path: Path) -> None:
    key = base64.b64encode(bytes(32)).decode()
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://x@h/db",
            "VANGNET_MASTER_KEY": key,
            "VANGNET_DATA_DIR": str(tmp_path),
            "VANGNET_POOL_SIZE": "7",
            "VANGNET_APP_CACHE": "9",
            "BROKER_URL": "redis://localhost",
        }
    )
    assert (s.database_url, s.pool_size, s.app_cache_size) == ("postgresql://x@h/db", 7, 9)
    assert s.broker_url == "redis://localhost"
    assert s.master_key == bytes(32)
    assert not (tmp_path / "master.key").exists()


def test_database_url_requires_master_key() -> None:
    with pytest.raises(SettingsError, match="VANGNET_MASTER_KEY"):
        Settings.from_env({"DATABASE_URL": "postgresql://x@h/db"})


@pytest.mark.parametrize("bad", ["nope!", base64.b64encode(b"short").decode()])
def test_bad_master_key_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"DATABASE_URL": "postgresql://x@h/db", "VANGNET_MASTER_KEY": bad})
    assert bad not in str(info.value)


def test_bad_pool_size(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="VANGNET_POOL_SIZE"):
        Settings.from_env({"VANGNET_DATA_DIR": str(tmp_path), "VANGNET_POOL_SIZE": "0"})


def test_slugify() -> None:
    assert slugify("Basisschool De Regenboog") == "basisschool-de-regenboog"
    assert slugify("  Stichting Één & Co. ") == "stichting-een-co"
    assert slugify("x" * 100) == "x" * 63
    with pytest.raises(InvalidInput):
        slugify("!!!")
    with pytest.raises(InvalidInput):
        validate_slug("Bad Slug")


def test_the_checkpoint_directory_and_interval(tmp_path: Path) -> None:
    default = Settings.from_env({"VANGNET_DATA_DIR": str(tmp_path)})
    assert default.checkpoint_path == tmp_path / "checkpoints"
    assert default.checkpoint_seconds == 300
    outside = tmp_path / "elsewhere"
    s = Settings.from_env(
        {
            "VANGNET_DATA_DIR": str(tmp_path),
            "VANGNET_CHECKPOINT_DIR": str(outside),
            "VANGNET_CHECKPOINT_SECONDS": "60",
        }
    )
    assert (s.checkpoint_path, s.checkpoint_seconds) == (outside, 60)


def test_log_level_and_demo_reset_come_from_the_settings(tmp_path: Path) -> None:
    env = {"VANGNET_DATA_DIR": str(tmp_path)}
    default = Settings.from_env(env)
    assert (default.log_level, default.demo_allow_reset) == ("INFO", False)
    chosen = Settings.from_env(
        {**env, "VANGNET_LOG_LEVEL": "debug", "VANGNET_DEMO_ALLOW_RESET": "1"}
    )
    assert (chosen.log_level, chosen.demo_allow_reset) == ("DEBUG", True)
    with pytest.raises(SettingsError, match="VANGNET_LOG_LEVEL"):
        Settings.from_env({**env, "VANGNET_LOG_LEVEL": "loud"})
