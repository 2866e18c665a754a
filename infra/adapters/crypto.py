"""Envelope encryption of the schools' data keys (DESIGN.md §5).

Each school's events are encrypted with that school's own random 32-byte *data key*. The data key
is stored in the platform registry only *wrapped* (AES-256-GCM encrypted) under the process's
*master key*. The school id is the AEAD associated data, so a wrapped key copied onto another
school's record does not unwrap: a registry mix-up cannot make school B's application read
school A's events.

Keys for platform-owned data (for example the registry's own event cipher) are derived from the
master key with HKDF-SHA256 and a purpose label, so there is still only one secret to manage.

Wrapped format: ``"v1:" + base64(nonce[12] || ciphertext+tag)``; the version prefix leaves room to
rotate the scheme.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
WRAP_VERSION = "v1"


class KeyUnwrapError(Exception):
    """A wrapped data key could not be unwrapped: wrong master key, wrong school, or damaged."""


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        msg = f"{what} must be {KEY_BYTES} bytes"
        raise ValueError(msg)


def generate_data_key() -> bytes:
    """A fresh random 32-byte (AES-256) data key."""
    return secrets.token_bytes(KEY_BYTES)


def wrap_key(master: bytes, data_key: bytes, context: bytes) -> str:
    """Encrypt ``data_key`` under ``master``, bound to ``context`` (the school id's bytes)."""
    _check_key(master, "master key")
    _check_key(data_key, "data key")
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(master).encrypt(nonce, data_key, context)
    return f"{WRAP_VERSION}:" + base64.b64encode(nonce + sealed).decode("ascii")


def unwrap_key(master: bytes, wrapped: str, context: bytes) -> bytes:
    """Decrypt a key made by :func:`wrap_key` with the same ``master`` and ``context``.

    Raises :class:`KeyUnwrapError` (no key material in the message) when the master key is wrong,
    the context differs (key moved to another school) or the value is damaged.
    """
    _check_key(master, "master key")
    version, sep, payload = wrapped.partition(":")
    if not sep or version != WRAP_VERSION:
        msg = "wrapped key has an unknown format"
        raise KeyUnwrapError(msg)
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        msg = "wrapped key is not valid base64"
        raise KeyUnwrapError(msg) from None
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    if len(nonce) != NONCE_BYTES or not sealed:
        msg = "wrapped key is truncated"
        raise KeyUnwrapError(msg)
    try:
        data_key = AESGCM(master).decrypt(nonce, sealed, context)
    except InvalidTag:
        msg = (
            "cannot unwrap data key: wrong master key (check VANGNET_MASTER_KEY) "
            "or the key belongs to another school"
        )
        raise KeyUnwrapError(msg) from None
    return data_key


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` derived from ``master`` (HKDF-SHA256, no salt).

    Deterministic: the same master and purpose always give the same key, so derived keys need not
    be stored. Different purposes give independent keys.
    """
    _check_key(master, "master key")
    if not purpose:
        msg = "purpose must be a non-empty label"
        raise ValueError(msg)
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=b"vangnet/" + purpose.encode("utf-8"),
    )
    return hkdf.derive(master)


def b64(key: bytes) -> str:
    """Base64 text of a key, as eventsourcing's ``CIPHER_KEY`` expects."""
    return base64.b64encode(key).decode("ascii")
