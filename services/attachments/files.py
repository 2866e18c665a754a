"""An attachment's bytes, encrypted for storage, and where they are kept (a port).

Each file has a key of its own, created in the school's pupil-key store for the case
(:class:`~services.casework.sealing.PupilKeys`, with the attachment id in the participant's
place). Erasing the case's pupil data destroys every key of the case, these included: the stored
ciphertext then opens no more, wherever a copy of it went (backups, the WAL). The ciphertext is
bound to school, case and attachment (AES-GCM associated data), so a row copied elsewhere fails.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


@dataclass(frozen=True)
class StoredFile:
    """One attachment as stored: its ids, the id of its key, and the ciphertext."""

    attachment_id: UUID
    case_id: UUID
    key_id: UUID
    ciphertext: bytes


class AttachmentStore(Protocol):
    """Where encrypted attachments live (PostgreSQL: ``infra.adapters.attachments.store``)."""

    def put(self, stored: StoredFile) -> None: ...

    def get(self, attachment_id: UUID) -> StoredFile | None: ...

    def delete(self, attachment_id: UUID) -> None: ...

    def of_case(self, case_id: UUID) -> list[StoredFile]: ...


class InMemoryAttachmentStore:
    """:class:`AttachmentStore` in a dict (unit tests)."""

    def __init__(self) -> None:
        self.files: dict[UUID, StoredFile] = {}

    def put(self, stored: StoredFile) -> None:
        self.files[stored.attachment_id] = stored

    def get(self, attachment_id: UUID) -> StoredFile | None:
        return self.files.get(attachment_id)

    def delete(self, attachment_id: UUID) -> None:
        self.files.pop(attachment_id, None)

    def of_case(self, case_id: UUID) -> list[StoredFile]:
        return [f for f in self.files.values() if f.case_id == case_id]


def _aad(school_id: UUID, case_id: UUID, attachment_id: UUID) -> bytes:
    return b"attachment" + school_id.bytes + case_id.bytes + attachment_id.bytes


def encrypt(
    key: bytes, school_id: UUID, case_id: UUID, attachment_id: UUID, content: bytes
) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, content, _aad(school_id, case_id, attachment_id))


def decrypt(key: bytes, school_id: UUID, stored: StoredFile) -> bytes | None:
    """The plaintext, or ``None`` when the ciphertext does not open with ``key`` here."""
    raw = stored.ciphertext
    try:
        return AESGCM(key).decrypt(
            raw[:_NONCE], raw[_NONCE:], _aad(school_id, stored.case_id, stored.attachment_id)
        )
    except InvalidTag:
        return None
