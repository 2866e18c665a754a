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

Pupils of the school's register (:mod:`services.pupils`) have one key each, kept for as long as
the pupil is: their ``Pupil`` events are sealed with it, and a participant linked to a register
pupil (``ParticipantAdded.pupil_id``) is sealed twice: the pupil's number, name and group first
with the pupil's key, then, like ``pupil_id`` itself, with the participant's key. So destroying the
pupil's key erases them in every case at once (and in the register), and destroying the case's
participant keys (a case's erasure) erases them, and the link to the pupil, in that case only.

Where the keys live is a port (:class:`PupilKeys`): PostgreSQL in production
(:mod:`infra.privacy.keys`), :class:`InMemoryPupilKeys` in unit tests.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any, Protocol, TypeGuard
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, StoredEvent, Transcoder

from services.casework.domain import Case
from services.pupils.domain import IDENTIFYING, Pupil
from services.shared.mapper import BoundMapper

#: What an erased pupil field reads as (shown as such in the UI, the case file and exports).
ERASED = "[gewist]"

#: Event type -> its pupil-identifying fields.
SEALED_FIELDS: Mapping[type[Any], tuple[str, ...]] = {
    Case.ParticipantAdded: ("pupil_ref", "display_name", "group"),
}

#: Register event type -> its identifying fields, sealed with the pupil's own key.
PUPIL_SEALED_FIELDS: Mapping[type[Any], tuple[str, ...]] = {Pupil.PupilRegistered: IDENTIFYING}

#: The participant's link to the register (sealed with the participant's key).
LINK_FIELD = "pupil_id"
#: Marks a sealed value whose plaintext is itself a value sealed with the pupil's key.
_INNER = "in"

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

    def pupil_key(self, pupil_id: UUID) -> tuple[UUID, bytes]:
        """The key of one pupil of the register (created on first use): (key id, key)."""
        ...

    def destroy_pupil(self, pupil_id: UUID) -> int:
        """Destroy the key of one pupil of the register; returns how many were destroyed."""
        ...


class InMemoryPupilKeys:
    """:class:`PupilKeys` in a dict (unit tests, the in-memory event store)."""

    def __init__(self) -> None:
        self.keys: dict[UUID, tuple[UUID, bytes]] = {}
        self.pupils: dict[UUID, UUID] = {}  # pupil id -> key id

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

    def pupil_key(self, pupil_id: UUID) -> tuple[UUID, bytes]:
        found = self.pupils.get(pupil_id)
        if found is not None and found in self.keys:
            return found, self.keys[found][1]
        key_id, key = self.new_key(pupil_id, pupil_id)
        self.pupils[pupil_id] = key_id
        return key_id, key

    def destroy_pupil(self, pupil_id: UUID) -> int:
        key_id = self.pupils.pop(pupil_id, None)
        return 1 if key_id is not None and self.keys.pop(key_id, None) is not None else 0


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
        kind = type(domain_event)
        fields = SEALED_FIELDS.get(kind)
        pupil_fields = PUPIL_SEALED_FIELDS.get(kind)
        if not fields and not pupil_fields:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        if pupil_fields:
            key_id, key = self.pupil_keys.pupil_key(state["originator_id"])
            for name in pupil_fields:
                state[name] = seal(key_id, key, name, str(state[name]))
        else:
            key_id, key = self.pupil_keys.new_key(
                state["originator_id"], state.get("participant_id") or uuid4()
            )
            pupil_id = state.get(LINK_FIELD)
            inner: tuple[UUID, bytes] | None = None
            if pupil_id is not None:
                inner = self.pupil_keys.pupil_key(pupil_id)
                state[LINK_FIELD] = seal(key_id, key, LINK_FIELD, str(pupil_id))
            for name in fields or ():
                if inner is None:
                    state[name] = seal(key_id, key, name, str(state[name]))
                else:
                    sealed = seal(*inner, name, str(state[name]))
                    state[name] = {**seal(key_id, key, name, json.dumps(sealed)), _INNER: "1"}
        sealed_event = object.__new__(kind)
        object.__setattr__(sealed_event, "__dict__", state)
        return super().to_stored_event(sealed_event)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        kind = type(domain_event)
        fields = SEALED_FIELDS.get(kind) or PUPIL_SEALED_FIELDS.get(kind)
        if not fields:
            return domain_event
        state = vars(domain_event)
        keys: dict[str, bytes | None] = {}  # one lookup per key, not per field

        def opened(name: str, value: dict[str, str]) -> str:
            key_hex = value["sealed"]
            if key_hex not in keys:
                keys[key_hex] = self.pupil_keys.key(UUID(hex=key_hex))
            plain = unseal(keys[key_hex], name, value)
            if value.get(_INNER) and plain != ERASED:
                try:
                    inner = json.loads(plain)
                except ValueError:
                    return ERASED
                return opened(name, inner) if is_sealed(inner) else ERASED
            return plain

        for name in fields:
            value = state.get(name)
            if is_sealed(value):
                state[name] = opened(name, value)
        link = state.get(LINK_FIELD)
        if is_sealed(link):
            plain = opened(LINK_FIELD, link)
            try:
                state[LINK_FIELD] = None if plain == ERASED else UUID(plain)
            except ValueError:
                state[LINK_FIELD] = None
        return domain_event
