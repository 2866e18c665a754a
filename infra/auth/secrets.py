"""Client secrets of OpenID providers, read from where a reference points.

The registry stores a reference, never the secret (:mod:`tenants.login`): ``env:NAME`` (an
environment variable of the web process), ``file:/absolute/path`` (e.g. a mounted Kubernetes or
Docker secret) or ``dev:`` (the development identity provider's own secret; only when it runs).
Errors name the reference, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Refuse secret files larger than this: a wrong path (a log, a database) is not a secret.
MAX_SECRET_FILE_BYTES = 16 * 1024


class SecretError(Exception):
    """A secret reference could not be resolved. The message names the reference only."""


def resolve_secret(
    ref: str, *, dev_secret: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """Read the secret ``ref`` points at.

    ``dev_secret`` is the development identity provider's client secret when it is mounted
    (``None`` otherwise, which makes ``dev:`` an error). ``environ`` defaults to ``os.environ``.
    Surrounding whitespace (the newline most secret files end with) is removed.
    """
    scheme, _, rest = ref.partition(":")
    if scheme == "env":
        env = os.environ if environ is None else environ
        value = env.get(rest, "").strip()
        if not rest or not value:
            msg = f"secret reference env:{rest}: the environment variable is not set"
            raise SecretError(msg)
        return value
    if scheme == "file":
        path = Path(rest)
        if not path.is_absolute():
            raise SecretError("secret reference file:...: the path must be absolute")
        try:
            if path.stat().st_size > MAX_SECRET_FILE_BYTES:
                msg = f"secret reference file:{rest}: the file is too large to be a secret"
                raise SecretError(msg)
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            msg = f"secret reference file:{rest}: cannot read it ({reason or 'error'})"
            raise SecretError(msg) from None
        if not value:
            raise SecretError(f"secret reference file:{rest}: the file is empty")
        return value
    if scheme == "dev" and not rest:
        if dev_secret is None:
            msg = (
                "secret reference dev: works only with the development identity provider "
                "(VANGNET_DEV_IDP=1)"
            )
            raise SecretError(msg)
        return dev_secret
    # Do not echo the reference: it may be the secret itself, pasted in the wrong place.
    raise SecretError("unknown secret reference: use env:NAME, file:/absolute/path or dev:")
