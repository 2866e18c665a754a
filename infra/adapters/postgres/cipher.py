"""The event cipher: AES-256-GCM bound to the event's identity (its associated data).

eventsourcing's own ``AESCipher`` encrypts an event's state without associated data, so a
ciphertext copied from one case (or version, or event type) onto another row of the same log
decrypts there as if it belonged: the history would show another case's pupil. Here every state
is encrypted with associated data naming where it belongs — the log's **context** (``school:<id>``
or ``platform``), the originator (case) id, the version and the topic — so a moved ciphertext
fails to decrypt (:class:`EventIntegrityError`), as does a changed byte.

Format (``v2``): ``MAGIC || nonce[12] || ciphertext+tag``. The older format of eventsourcing's
``AESCipher`` (``nonce || tag || ciphertext``, no associated data) is **not** accepted by
:meth:`EventCipher.decrypt_event`: logs written in it are re-encrypted once at start-up
(:mod:`infra.adapters.audit.migration`), after which an old ciphertext copied in fails like any
other
stranger. :func:`open_legacy` exists only for that migration.

Used through :class:`services.shared.mapper.BoundMapper`, which hands the cipher each event's
identity; the plain ``encrypt``/``decrypt`` of eventsourcing's ``Cipher`` interface refuse to
work, so a mapper that does not bind cannot read or write a log by accident.

Settings (the application's env, see :func:`infra.adapters.postgres.store.application_env`):
``CIPHER_KEY`` (base64 of 32 bytes) and ``CIPHER_CONTEXT``.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Cipher

if TYPE_CHECKING:
    from eventsourcing.utils import Environment

MAGIC = b"VNG\x02"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
_AAD_LABEL = b"vangnet event v2\x00"

#: The env keys (eventsourcing's ``CIPHER_KEY``, and ours).
CIPHER_KEY = "CIPHER_KEY"
CIPHER_CONTEXT = "CIPHER_CONTEXT"


class EventIntegrityError(ValueError):
    """A stored state does not decrypt for the event it is stored as (changed, or moved there
    from another case, version, type or log). The message holds no key or data."""


def school_context(school_id: Any) -> str:
    """The context of a school's log (its id, as in the registry)."""
    return f"school:{school_id}"


PLATFORM_CONTEXT = "platform"


def _lp(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def associated_data(context: str, originator_id: Any, originator_version: int, topic: str) -> bytes:
    """What a ciphertext is bound to: log, case, version, event type (length-prefixed)."""
    return b"".join(
        (
            _AAD_LABEL,
            _lp(context),
            _lp(str(originator_id)),
            struct.pack(">q", originator_version),
            _lp(topic),
        )
    )


def seal_state(key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` bound to ``aad`` (format ``v2``)."""
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_state(key: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    """Decrypt a ``v2`` ciphertext made for ``aad``; :class:`EventIntegrityError` otherwise."""
    if not ciphertext.startswith(MAGIC) or len(ciphertext) < len(MAGIC) + NONCE_BYTES + TAG_BYTES:
        msg = "not a v2 event ciphertext (an old format, or damaged)"
        raise EventIntegrityError(msg)
    nonce = ciphertext[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext[len(MAGIC) + NONCE_BYTES :], aad)
    except InvalidTag:
        msg = "the ciphertext does not authenticate for this event (changed, or moved here)"
        raise EventIntegrityError(msg) from None


def open_legacy(key: bytes, ciphertext: bytes) -> bytes:
    """Decrypt eventsourcing ``AESCipher``'s format (no associated data): migration only."""
    nonce, tag, body = ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:28], ciphertext[28:]
    if len(nonce) != NONCE_BYTES or len(tag) != TAG_BYTES:
        msg = "not an old-format ciphertext (too short)"
        raise EventIntegrityError(msg)
    try:
        return AESGCM(key).decrypt(nonce, body + tag, None)
    except InvalidTag:
        msg = "not an old-format ciphertext of this key"
        raise EventIntegrityError(msg) from None


def seal_legacy(key: bytes, plaintext: bytes) -> bytes:
    """eventsourcing ``AESCipher``'s format: for tests that build a log as older versions did."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, None)
    return nonce + sealed[-TAG_BYTES:] + sealed[:-TAG_BYTES]


def decode_key(encoded: str) -> bytes:
    """The 32-byte key of a base64 ``CIPHER_KEY`` (``OSError`` naming the setting, not the key)."""
    try:
        key = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        msg = f"'{CIPHER_KEY}' is not valid base64"
        raise OSError(msg) from None
    if len(key) != KEY_BYTES:
        msg = f"'{CIPHER_KEY}' must be {KEY_BYTES} bytes"
        raise OSError(msg)
    return key


class EventCipher(Cipher):
    """eventsourcing ``Cipher`` (``CIPHER_TOPIC``) that binds every state to its event.

    Implements :class:`services.shared.mapper.EventBinding`.
    """

    def __init__(self, environment: Environment) -> None:
        encoded = environment.get(CIPHER_KEY)
        context = environment.get(CIPHER_CONTEXT)
        if not encoded:
            msg = f"'{CIPHER_KEY}' not in env"
            raise OSError(msg)
        if not context:
            msg = f"'{CIPHER_CONTEXT}' not in env: the log's identity is part of every ciphertext"
            raise OSError(msg)
        self._key = decode_key(encoded)
        self.context = context

    def encrypt_event(
        self, plaintext: bytes, originator_id: Any, originator_version: int, topic: str
    ) -> bytes:
        """Encrypt a state bound to this log and the given event."""
        aad = associated_data(self.context, originator_id, originator_version, topic)
        return seal_state(self._key, aad, plaintext)

    def decrypt_event(
        self, ciphertext: bytes, originator_id: Any, originator_version: int, topic: str
    ) -> bytes:
        """Decrypt a state stored as the given event (:class:`EventIntegrityError` if not)."""
        aad = associated_data(self.context, originator_id, originator_version, topic)
        return open_state(self._key, aad, ciphertext)

    def encrypt(self, plaintext: bytes) -> bytes:  # noqa: ARG002
        msg = "EventCipher needs the event's identity: use BoundMapper"
        raise TypeError(msg)

    def decrypt(self, ciphertext: bytes) -> bytes:  # noqa: ARG002
        msg = "EventCipher needs the event's identity: use BoundMapper"
        raise TypeError(msg)
