"""Client secrets of OpenID providers, read from where a reference points, if it may point there.

The registry stores a reference, never the secret (:mod:`tenants.login`): ``env:NAME`` (an
environment variable of the process, captured by the settings), ``file:/absolute/path`` (e.g. a
mounted Kubernetes or Docker secret) or ``dev:`` (the development identity provider's own
secret; only while it runs). The deployment's :class:`~tenants.login.LoginPolicy`
(``Settings.login_policy``) was checked when the reference was set; it is checked again here,
when the secret is about to be sent to a provider, together with what only the file system can
tell:

- the path, with every symlink resolved, must still lie inside the (resolved) secrets directory
  and outside the protected paths (Vangnet's data directory, holding the master key);
- it must be a regular file (not a device, a fifo, a directory, or a file of /proc or /sys),
  opened without following a last-moment symlink and without blocking, and small;
- and whatever the reference, the value must not be one of Vangnet's own secrets (master key,
  web secret, database or broker URL, SMTP password, metrics token): a copy or a hard link of
  the master key inside the secrets directory is refused too.

A refusal is :class:`SecretError` with a ``reason`` (a stable word for the log) and a message
that names the rule, never the secret and never the reference's target.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hmac
import os
import stat
from collections.abc import Iterable
from pathlib import PurePosixPath

from infra.config.settings import Settings
from tenants.login import PSEUDO_FILE_SYSTEMS, InvalidLoginConfig, LoginPolicy, is_inside

#: Refuse secret files larger than this: a wrong path (a log, a database) is not a secret.
MAX_SECRET_FILE_BYTES = 16 * 1024


class SecretError(Exception):
    """A secret reference could not be resolved or is not allowed here.

    ``reason`` is a stable word for logs (``env_outside_prefix``, ``file_outside_dir``,
    ``symlink_outside``, ``not_regular_file``, ``protected_path``, ``own_secret``, ...).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def resolve_secret(
    ref: str, settings: Settings, *, dev_secret: str | None, field: str = "secret_ref"
) -> str:
    """Read the secret ``ref`` points at, if ``settings`` (its policy) allow it.

    ``dev_secret`` is the development identity provider's client secret when it is mounted
    (``None`` otherwise, which makes ``dev:`` an error). Surrounding whitespace (the newline
    most secret files end with) is removed.
    """
    policy = settings.login_policy
    try:
        parsed = policy.check_secret_ref(ref, field=field)
    except InvalidLoginConfig as error:
        raise SecretError(str(error), error.reason or "malformed") from None
    if parsed.kind == "env":
        value = (settings.secret_from_env(parsed.target) or "").strip()
        if not value:
            raise SecretError(f"{field}: the environment variable is not set", "env_unset")
        if not _printable(value):
            msg = f"{field}: the environment variable is not printable text"
            raise SecretError(msg, "not_text")
    elif parsed.kind == "file":
        value = read_secret_file(parsed.target, policy, field=field)
    else:
        if dev_secret is None:
            msg = f"{field} dev: works only with the development identity provider"
            raise SecretError(msg, "dev_not_running")
        return dev_secret
    if is_own_secret(value, settings):
        msg = f"{field} points at one of Vangnet's own secrets, never a provider's"
        raise SecretError(msg, "own_secret")
    return value


def read_secret_file(path: str, policy: LoginPolicy, *, field: str = "secret_ref") -> str:
    """The text of the secret file ``path`` (already allowed as text by ``policy``), after the
    checks only the file system can answer (see the module docstring)."""
    if policy.secrets_dir is None:  # check_secret_ref refused it already; stay safe anyway
        raise SecretError(f"{field} file: is not allowed here", "file_not_allowed")
    real = PurePosixPath(os.path.realpath(path))
    if not is_inside(real, PurePosixPath(os.path.realpath(policy.secrets_dir))):
        msg = f"{field} file: resolves (through a symlink) outside the secrets directory"
        raise SecretError(msg, "symlink_outside")
    for protected in policy.protected_paths:
        if is_inside(real, PurePosixPath(os.path.realpath(protected)), or_same=True):
            msg = f"{field} file: resolves into Vangnet's own data (the master key's directory)"
            raise SecretError(msg, "protected_path")
    if any(is_inside(real, root, or_same=True) for root in PSEUDO_FILE_SYSTEMS):
        raise SecretError(f"{field} file: is not a regular file", "not_regular_file")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(real, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:  # swapped for a symlink after it was resolved
            msg = f"{field} file: resolves (through a symlink) outside the secrets directory"
            raise SecretError(msg, "symlink_outside") from None
        msg = f"{field} file: cannot be read ({error.strerror or 'error'})"
        raise SecretError(msg, "unreadable") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretError(f"{field} file: is not a regular file", "not_regular_file")
        if info.st_size > MAX_SECRET_FILE_BYTES:
            msg = f"{field} file: is too large to be a secret"
            raise SecretError(msg, "too_large")
        data = os.read(fd, MAX_SECRET_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise SecretError(f"{field} file: is too large to be a secret", "too_large")
    try:
        value = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(f"{field} file: is not UTF-8 text", "not_text") from None
    if not value:
        raise SecretError(f"{field} file: is empty", "empty")
    if not _printable(value):
        # A client secret is printable text; raw bytes (a key file) are something else.
        raise SecretError(f"{field} file: is not a line of printable text", "not_text")
    return value


def _printable(value: str) -> bool:
    return all(ch.isprintable() for ch in value)


def _own_secrets(settings: Settings) -> Iterable[str]:
    yield base64.b64encode(settings.master_key).decode("ascii")
    if settings.secret_key:
        yield base64.b64encode(settings.secret_key).decode("ascii")
    for value in (
        settings.database_url,
        settings.broker_url,
        settings.smtp_password,
        settings.metrics_token,
    ):
        if value:
            yield value


def is_own_secret(value: str, settings: Settings) -> bool:
    """Whether ``value`` is one of Vangnet's own secrets (compared in constant time), or
    decodes (base64) to the master key or the web secret."""
    candidate = value.encode()
    found = False
    for own in _own_secrets(settings):
        found |= hmac.compare_digest(candidate, own.encode())
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    found |= hmac.compare_digest(decoded, settings.master_key)
    if settings.secret_key:
        found |= hmac.compare_digest(decoded, settings.secret_key)
    return found
