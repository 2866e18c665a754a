"""Secrets cannot be pointed at: where a login's secret reference and issuer may point.

Repro (issue #10, section 4): an operator sets a school's ``secret_ref`` to
``file:<data dir>/master.key``, ``file:/proc/self/environ`` or ``env:`` of any variable, and its
issuer to a server they control; the next login would post the master key (or the process
environment) there as the client secret. Every refused form is tested here twice: when it is
set (:class:`tenants.login.LoginPolicy`, pure) and when it is used
(:func:`infra.adapters.auth.secrets.resolve_secret`, with the file system: symlinks, fifos, hard
links).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from infra.adapters.auth.secrets import MAX_SECRET_FILE_BYTES, SecretError, resolve_secret
from infra.config.settings import SETTING_NAMES, Settings, SettingsError
from tenants.login import InvalidLoginConfig, LoginPolicy

MASTER_KEY = bytes(range(32))
MASTER_KEY_B64 = base64.b64encode(MASTER_KEY).decode()
PROVIDER_SECRET = "fictief-client-geheim-1234"


# --- when it is set: the policy (pure) --------------------------------------------------------

PRODUCTION = LoginPolicy(
    secrets_dir="/run/secrets",
    protected_paths=("/var/lib/vangnet",),
    reserved_env_names=SETTING_NAMES,
)


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        # Environment variables outside the prefix: the master key, the whole environment.
        ("env:VANGNET_MASTER_KEY", "env_outside_prefix"),
        ("env:VANGNET_SECRET_KEY", "env_outside_prefix"),
        ("env:DATABASE_URL", "env_outside_prefix"),
        ("env:PATH", "env_outside_prefix"),
        ("env:AWS_SECRET_ACCESS_KEY", "env_outside_prefix"),
        ("env:VANGNET_IDP_SECRET_", "env_outside_prefix"),  # the prefix alone
        ("env:vangnet_idp_secret_x", "env_outside_prefix"),  # names are case-sensitive
        # Files outside the secrets directory.
        ("file:/var/lib/vangnet/master.key", "file_outside_dir"),
        ("file:/proc/self/environ", "file_outside_dir"),
        ("file:/etc/passwd", "file_outside_dir"),
        ("file:/run/secrets", "file_outside_dir"),  # the directory itself
        ("file:/run/secretsX/a", "file_outside_dir"),  # a sibling with the same start
        # Paths that are not plain.
        ("file:run/secrets/a", "relative_path"),
        ("file:/run/secrets/../../proc/self/environ", "not_normalized"),
        ("file:/run/secrets/./a", "not_normalized"),
        ("file:/run/secrets//a", "not_normalized"),
        ("file:/run/secrets/a/", "not_normalized"),
        # The development provider's secret outside development.
        ("dev:", "dev_not_running"),
        # Not a reference at all (perhaps the secret itself, pasted).
        ("hunter2-the-real-secret", "malformed"),
        ("env:", "malformed"),
        ("vault:kv/idp", "malformed"),
    ],
)
def test_refused_when_set(ref: str, reason: str) -> None:
    with pytest.raises(InvalidLoginConfig) as info:
        PRODUCTION.check_secret_ref(ref)
    assert (info.value.field, info.value.reason) == ("secret_ref", reason)
    assert "hunter2" not in str(info.value)


def test_files_need_a_secrets_directory() -> None:
    with pytest.raises(InvalidLoginConfig) as info:
        LoginPolicy().check_secret_ref("file:/run/secrets/idp")
    assert info.value.reason == "file_not_allowed"


def test_the_data_directory_is_protected_even_inside_the_secrets_directory() -> None:
    # Misconfigured: the secrets directory contains Vangnet's data directory.
    policy = LoginPolicy(secrets_dir="/srv", protected_paths=("/srv/vangnet",))
    for ref in ("file:/srv/vangnet/master.key", "file:/srv/vangnet/pg/postgresql.conf"):
        with pytest.raises(InvalidLoginConfig) as info:
            policy.check_secret_ref(ref)
        assert info.value.reason == "protected_path"
    assert policy.check_secret_ref("file:/srv/idp-secret").target == "/srv/idp-secret"


def test_pseudo_file_systems_are_refused_even_inside_the_secrets_directory() -> None:
    policy = LoginPolicy(secrets_dir="/")  # the settings refuse "/"; the policy holds anyway
    for ref in ("file:/proc/self/environ", "file:/sys/kernel/notes", "file:/dev/zero"):
        with pytest.raises(InvalidLoginConfig) as info:
            policy.check_secret_ref(ref)
        assert info.value.reason == "not_regular_file"


def test_vangnet_settings_are_never_secret_references_whatever_the_prefix() -> None:
    policy = LoginPolicy(secret_env_prefix="VANGNET_", reserved_env_names=SETTING_NAMES)
    with pytest.raises(InvalidLoginConfig) as info:
        policy.check_secret_ref("env:VANGNET_MASTER_KEY")
    assert info.value.reason == "env_reserved"


def test_allowed_references() -> None:
    assert PRODUCTION.check_secret_ref("env:VANGNET_IDP_SECRET_REGENBOOG").target == (
        "VANGNET_IDP_SECRET_REGENBOOG"
    )
    # Kubernetes mounts secrets as symlinks through "..data": a name, not a "..".
    assert PRODUCTION.check_secret_ref("file:/run/secrets/..data/idp").kind == "file"
    assert LoginPolicy(dev_secret=True).check_secret_ref("dev:").kind == "dev"


@pytest.mark.parametrize(
    ("issuer", "reason"),
    [
        ("http://idp.attacker.example", "not_https"),
        ("ftp://idp.example", "not_https"),
        ("http://127.0.0.1:9000", "loopback_not_allowed"),
        ("https://127.0.0.1:9000", "loopback_not_allowed"),
        ("https://127.1.2.3", "loopback_not_allowed"),
        ("https://localhost/realms/x", "loopback_not_allowed"),
        ("https://idp.localhost", "loopback_not_allowed"),
        ("https://[::1]:8443", "loopback_not_allowed"),
        ("https://169.254.169.254/latest", "internal_address"),
        ("https://10.0.0.5", "internal_address"),
        ("https://192.168.1.10", "internal_address"),
        ("https://0.0.0.0", "internal_address"),
        ("https://[fe80::1]", "internal_address"),
        ("https://[::ffff:127.0.0.1]", "internal_address"),
        # Other spellings of 127.0.0.1 that the resolver accepts without DNS.
        ("https://127.1", "loopback_not_allowed"),
        ("https://2130706433", "loopback_not_allowed"),
        ("https://0x7f.0.0.1", "loopback_not_allowed"),
        ("https://localhost.", "loopback_not_allowed"),
        ("https://idp.example/?next=x", "malformed"),
        ("https://[::1", "malformed"),
        ("https://idp.example:port", "malformed"),
    ],
)
def test_issuers_refused(issuer: str, reason: str) -> None:
    with pytest.raises(InvalidLoginConfig) as info:
        PRODUCTION.check_issuer(issuer)
    assert (info.value.field, info.value.reason) == ("issuer", reason)


def test_loopback_issuers_only_when_the_deployment_allows_them() -> None:
    development = LoginPolicy(loopback_issuers=True)
    for issuer in ("http://127.0.0.1:9000", "http://localhost:3000/oidc", "https://[::1]"):
        assert development.check_issuer(issuer) == issuer
    with pytest.raises(InvalidLoginConfig) as info:
        development.check_issuer("http://idp.attacker.example")
    assert info.value.reason == "not_https"
    assert PRODUCTION.check_issuer("https://login.microsoftonline.com/x/v2.0")


# --- the settings that build the policy -------------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"VANGNET_DATA_DIR": str(tmp_path / "data"), **extra}


@pytest.mark.parametrize(
    "prefix", ["VANGNET_", "VANGNET_SMTP_", "DATABASE_", "X", "lower_case_", "NO_UNDERSCORE"]
)
def test_a_prefix_that_reaches_vangnet_settings_or_is_malformed_is_refused(
    tmp_path: Path, prefix: str
) -> None:
    with pytest.raises(SettingsError, match="VANGNET_SECRET_ENV_PREFIX"):
        Settings.from_env(_env(tmp_path, VANGNET_SECRET_ENV_PREFIX=prefix))


@pytest.mark.parametrize("directory", ["run/secrets", "/", "/run/../etc", "/run/./secrets"])
def test_a_malformed_secrets_directory_is_refused(tmp_path: Path, directory: str) -> None:
    with pytest.raises(SettingsError, match="VANGNET_SECRETS_DIR"):
        Settings.from_env(_env(tmp_path, VANGNET_SECRETS_DIR=directory))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VANGNET_OPERATOR_SECRET_REF", "env:VANGNET_MASTER_KEY"),
        ("VANGNET_OPERATOR_SECRET_REF", "file:/proc/self/environ"),
        ("VANGNET_OPERATOR_SECRET_REF", "dev:"),
        ("VANGNET_OPERATOR_ISSUER", "http://idp.attacker.example"),
        ("VANGNET_OPERATOR_ISSUER", "http://127.0.0.1:9000"),
    ],
)
def test_the_operator_provider_follows_the_same_rules(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(_env(tmp_path, **{name: value}))


def test_only_prefixed_variables_are_captured(tmp_path: Path) -> None:
    settings = Settings.from_env(
        _env(
            tmp_path,
            VANGNET_IDP_SECRET_A=PROVIDER_SECRET,
            VANGNET_IDP_SECRET_="the prefix alone",
            PATH="/usr/bin",
            VANGNET_OPERATOR_ISSUER="http://127.0.0.1:9000",
            VANGNET_LOOPBACK_ISSUERS="1",
            VANGNET_OPERATOR_SECRET_REF="env:VANGNET_IDP_SECRET_A",
        )
    )
    assert settings.secret_env == (("VANGNET_IDP_SECRET_A", PROVIDER_SECRET),)
    assert settings.secret_from_env("VANGNET_IDP_SECRET_A") == PROVIDER_SECRET
    assert settings.secret_from_env("PATH") is None
    assert PROVIDER_SECRET not in repr(settings)
    assert settings.login_policy.loopback_issuers


# --- when it is used: resolve_secret with the file system ----------------------------------


@pytest.fixture
def deployment(tmp_path: Path) -> tuple[Settings, Path]:
    """A deployment with a data directory (holding master.key) and a secrets directory."""
    data = tmp_path / "data"
    secrets_dir = tmp_path / "secrets"
    data.mkdir()
    secrets_dir.mkdir()
    (data / "master.key").write_text(MASTER_KEY_B64 + "\n")
    settings = Settings.from_env(
        {
            "VANGNET_DATA_DIR": str(data),
            "VANGNET_SECRETS_DIR": str(secrets_dir),
            "VANGNET_IDP_SECRET_SCHOOL": PROVIDER_SECRET,
            "VANGNET_IDP_SECRET_COPY": MASTER_KEY_B64,
            "VANGNET_MASTER_KEY": MASTER_KEY_B64,
        }
    )
    return settings, secrets_dir


def _refused(settings: Settings, ref: str, reason: str) -> SecretError:
    with pytest.raises(SecretError) as info:
        resolve_secret(ref, settings, dev_secret=None)
    assert info.value.reason == reason
    for secret in (MASTER_KEY_B64, PROVIDER_SECRET, "PATH="):
        assert secret not in str(info.value)
    return info.value


def test_allowed_references_are_read(deployment: tuple[Settings, Path]) -> None:
    settings, secrets_dir = deployment
    (secrets_dir / "idp").write_text(PROVIDER_SECRET + "\n")
    assert resolve_secret("env:VANGNET_IDP_SECRET_SCHOOL", settings, dev_secret=None) == (
        PROVIDER_SECRET
    )
    assert resolve_secret(f"file:{secrets_dir}/idp", settings, dev_secret=None) == (PROVIDER_SECRET)
    # A symlink that stays inside (how Kubernetes mounts secrets) is fine.
    (secrets_dir / "..data").mkdir()
    (secrets_dir / "..data" / "idp2").write_text("tweede-geheim\n")
    (secrets_dir / "idp2").symlink_to(secrets_dir / "..data" / "idp2")
    assert resolve_secret(f"file:{secrets_dir}/idp2", settings, dev_secret=None) == (
        "tweede-geheim"
    )


def test_stored_references_that_no_longer_pass_are_refused_at_use(
    deployment: tuple[Settings, Path],
) -> None:
    settings, _ = deployment
    _refused(settings, "env:VANGNET_MASTER_KEY", "env_outside_prefix")
    _refused(settings, "env:PATH", "env_outside_prefix")
    _refused(settings, f"file:{settings.data_dir}/master.key", "file_outside_dir")
    _refused(settings, "file:/proc/self/environ", "file_outside_dir")
    _refused(settings, "dev:", "dev_not_running")


def test_a_symlink_out_of_the_secrets_directory_is_refused(
    deployment: tuple[Settings, Path],
) -> None:
    settings, secrets_dir = deployment
    (secrets_dir / "key").symlink_to(settings.data_dir / "master.key")
    _refused(settings, f"file:{secrets_dir}/key", "symlink_outside")
    (secrets_dir / "environ").symlink_to("/proc/self/environ")
    _refused(settings, f"file:{secrets_dir}/environ", "symlink_outside")
    (secrets_dir / "etc").symlink_to("/etc")
    _refused(settings, f"file:{secrets_dir}/etc/hostname", "symlink_outside")


def test_only_regular_files_are_read(deployment: tuple[Settings, Path]) -> None:
    settings, secrets_dir = deployment
    os.mkfifo(secrets_dir / "fifo")  # would block a reader forever
    _refused(settings, f"file:{secrets_dir}/fifo", "not_regular_file")
    (secrets_dir / "dir").mkdir()
    _refused(settings, f"file:{secrets_dir}/dir", "not_regular_file")
    _refused(settings, f"file:{secrets_dir}/missing", "unreadable")


def test_the_data_directory_inside_a_misconfigured_secrets_directory_is_refused(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "master.key").write_text(MASTER_KEY_B64 + "\n")
    settings = Settings.from_env(
        {"VANGNET_DATA_DIR": str(data), "VANGNET_SECRETS_DIR": str(tmp_path)}
    )
    _refused(settings, f"file:{data}/master.key", "protected_path")
    # Through a symlink inside the secrets directory: resolved first, then refused.
    (tmp_path / "innocent").symlink_to(data / "master.key")
    _refused(settings, f"file:{tmp_path}/innocent", "protected_path")


def test_a_copy_or_hard_link_of_vangnets_own_secrets_is_refused(
    deployment: tuple[Settings, Path],
) -> None:
    settings, secrets_dir = deployment
    os.link(settings.data_dir / "master.key", secrets_dir / "linked")
    _refused(settings, f"file:{secrets_dir}/linked", "own_secret")
    (secrets_dir / "raw").write_bytes(MASTER_KEY)  # not UTF-8 anyway
    _refused(settings, f"file:{secrets_dir}/raw", "not_text")
    _refused(settings, "env:VANGNET_IDP_SECRET_COPY", "own_secret")
    web_secret = base64.b64encode(settings.secret_key).decode()
    (secrets_dir / "web").write_text(web_secret)
    _refused(settings, f"file:{secrets_dir}/web", "own_secret")


def test_empty_and_oversized_files_are_refused(deployment: tuple[Settings, Path]) -> None:
    settings, secrets_dir = deployment
    (secrets_dir / "empty").write_text("\n")
    _refused(settings, f"file:{secrets_dir}/empty", "empty")
    (secrets_dir / "big").write_text("x" * (MAX_SECRET_FILE_BYTES + 1))
    _refused(settings, f"file:{secrets_dir}/big", "too_large")


def test_unset_variables_and_the_dev_secret(deployment: tuple[Settings, Path]) -> None:
    settings, _ = deployment
    _refused(settings, "env:VANGNET_IDP_SECRET_MISSING", "env_unset")
    dev = Settings.from_env({"VANGNET_DATA_DIR": str(settings.data_dir), "VANGNET_DEV_IDP": "1"})
    assert resolve_secret("dev:", dev, dev_secret="dev-geheim") == "dev-geheim"
    with pytest.raises(SecretError) as info:
        resolve_secret("dev:", dev, dev_secret=None)
    assert info.value.reason == "dev_not_running"
