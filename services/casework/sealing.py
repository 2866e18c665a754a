"""Pupil-identifying fields sealed with a per-pupil key (DESIGN.md §5, issue #5).

The domain stays plain: a ``ParticipantAdded`` event carries ``pupil_ref``, ``display_name`` and
``group`` as strings. Only on the way to storage does :class:`SealingMapper` replace each of those
fields with ``{"sealed": <key id>, "ct": <base64 AES-GCM>}``, encrypted with a key of its own for
that participant. The event as a whole is then encrypted with the school's data key as before.

Destroying a participant's key (retention expiry, erasure request) erases the pupil: the stored
bytes, and so the hash chain over them, never change, and the case still replays; the sealed
fields then read as :data:`ERASED`.

Events stored before sealing existed hold plain strings in those fields and are read unchanged:
they are *not* covered by erasure.

Where the keys live is a port (:class:`PupilKeys`): PostgreSQL in production
(:mod:`infra.privacy.keys`), :class:`InMemoryPupilKeys` in unit tests.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any, Protocol, TypeGuard
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, StoredEvent, Transcoder

from services.casework.domain import Case
from services.shared.mapper import BoundMapper

#: What an erased pupil field reads as (shown as such in the UI, the case file and exports).
ERASED = "[gewist]"

#: Event type -> its pupil-identifying fields.
SEALED_FIELDS: Mapping[type[Any], tuple[str, ...]] = {
    Case.ParticipantAdded: ("pupil_ref", "display_name", "group"),
}

_NONCE = 12


class PupilKeys(Protocol):
    """Where per-pupil keys live. A destroyed key is gone for good."""

    def new_key(self, case_id: UUID, participant_id: UUID) -> tuple[UUID, bytes]:
        """Create and store a fresh key for one participant of one case: (key id, key)."""
        ...

    def key(self, key_id: UUID) -> bytes | None:
        """The key, or ``None`` when it was destroyed (or never existed)."""
        ...

    def destroy_case(self, case_id: UUID) -> int:
        """Destroy the keys of every participant of a case; returns how many were destroyed."""
        ...


class InMemoryPupilKeys:
    """:class:`PupilKeys` in a dict (unit tests, the in-memory event store)."""

    def __init__(self) -> None:
        self.keys: dict[UUID, tuple[UUID, bytes]] = {}

    def new_key(self, case_id: UUID, participant_id: UUID) -> tuple[UUID, bytes]:  # noqa: ARG002
        key_id, key = uuid4(), AESGCM.generate_key(bit_length=256)
        self.keys[key_id] = (case_id, key)
        return key_id, key

    def key(self, key_id: UUID) -> bytes | None:
        found = self.keys.get(key_id)
        return found[1] if found else None

    def destroy_case(self, case_id: UUID) -> int:
        doomed = [k for k, (c, _) in self.keys.items() if c == case_id]
        for key_id in doomed:
            del self.keys[key_id]
        return len(doomed)


def _aad(key_id: UUID, field_name: str) -> bytes:
    # Bound to the key and the field: a sealed value moved to another field does not open.
    return key_id.bytes + field_name.encode("ascii")


def seal(key_id: UUID, key: bytes, field_name: str, value: str) -> dict[str, str]:
    nonce = secrets.token_bytes(_NONCE)
    ct = AESGCM(key).encrypt(nonce, value.encode("utf-8"), _aad(key_id, field_name))
    return {"sealed": key_id.hex, "ct": base64.b64encode(nonce + ct).decode("ascii")}


def is_sealed(value: object) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and "sealed" in value and "ct" in value


def unseal(key: bytes | None, field_name: str, value: dict[str, str]) -> str:
    """The plaintext of a sealed field, or :data:`ERASED` when its key was destroyed."""
    key_id = UUID(hex=value["sealed"])
    if key is None:
        return ERASED
    raw = base64.b64decode(value["ct"])
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(key_id, field_name))
    except InvalidTag:
        # A damaged value must not stop a replay; it reads as erased (and carries no data).
        return ERASED
    return plain.decode("utf-8")


class SealingMapper(BoundMapper):
    """eventsourcing ``Mapper`` that seals pupil fields on write and unseals them on read (and,
    like every Vangnet mapper, encrypts each event for its identity:
    :mod:`services.shared.mapper`)."""

    def __init__(
        self,
        transcoder: Transcoder,
        pupil_keys: PupilKeys,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self.pupil_keys = pupil_keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        fields = SEALED_FIELDS.get(type(domain_event))
        if not fields:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        key_id, key = self.pupil_keys.new_key(
            state["originator_id"], state.get("participant_id") or uuid4()
        )
        for name in fields:
            state[name] = seal(key_id, key, name, str(state[name]))
        sealed_event = object.__new__(type(domain_event))
        object.__setattr__(sealed_event, "__dict__", state)
        return super().to_stored_event(sealed_event)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        fields = SEALED_FIELDS.get(type(domain_event))
        if not fields:
            return domain_event
        state = vars(domain_event)
        keys: dict[str, bytes | None] = {}  # one lookup per event, not per field
        for name in fields:
            value = state.get(name)
            if is_sealed(value):
                key_hex = value["sealed"]
                if key_hex not in keys:
                    keys[key_hex] = self.pupil_keys.key(UUID(hex=key_hex))
                state[name] = unseal(keys[key_hex], name, value)
        return domain_event
