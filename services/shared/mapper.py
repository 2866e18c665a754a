"""The mapper of every Vangnet application: event states encrypted *for their event*.

eventsourcing's ``Mapper`` hands its cipher only the bytes to encrypt, so a ciphertext is not
bound to the event it belongs to. :class:`BoundMapper` hands a binding cipher (one that
implements :class:`EventBinding`, e.g. ``infra.adapters.postgres.cipher.EventCipher``) each event's
originator id, version and topic as well; the cipher adds the log's own identity. A state
that does not decrypt for the event it is stored as raises
:class:`~services.shared.errors.IntegrityViolation` — a domain error the edges report as an
integrity error, never as a generic failure.

With a cipher that does not bind (or none, as in the in-memory unit tests) it behaves like the
library's mapper. The read side's engine and the exports call ``to_domain_event`` like before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder

from services.shared.errors import IntegrityViolation


@runtime_checkable
class EventBinding(Protocol):
    """A cipher that binds each ciphertext to its event (associated data)."""

    def encrypt_event(
        self, plaintext: bytes, originator_id: Any, originator_version: int, topic: str
    ) -> bytes: ...

    def decrypt_event(
        self, ciphertext: bytes, originator_id: Any, originator_version: int, topic: str
    ) -> bytes:
        """The plaintext; raises ``ValueError`` when the ciphertext is not this event's."""
        ...


class BoundMapper(Mapper[UUID]):
    """``Mapper`` whose cipher (when it binds) encrypts each state for its event."""

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        binding = cipher if isinstance(cipher, EventBinding) else None
        # The base class encrypts without the event's identity: give it no cipher when ours
        # binds, and encrypt (decrypt) around it here.
        super().__init__(transcoder, compressor=compressor, cipher=None if binding else cipher)
        self.binding: EventBinding | None = binding

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if self.binding is None:
            return stored
        state = self.binding.encrypt_event(
            stored.state, stored.originator_id, stored.originator_version, stored.topic
        )
        return replace(stored, state=state)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        if self.binding is not None:
            try:
                plain = self.binding.decrypt_event(
                    stored_event.state,
                    stored_event.originator_id,
                    stored_event.originator_version,
                    stored_event.topic,
                )
            except ValueError:
                notification_id = getattr(stored_event, "id", None)
                at = f"#{notification_id} " if notification_id is not None else ""
                msg = (
                    f"stored event {at}(case {stored_event.originator_id}, version "
                    f"{stored_event.originator_version}) fails its integrity check: it was "
                    "changed, or copied there from elsewhere"
                )
                raise IntegrityViolation(
                    msg,
                    notification_id=notification_id,
                    originator_id=stored_event.originator_id,
                    originator_version=stored_event.originator_version,
                ) from None
            stored_event = replace(stored_event, state=plain)
        return super().to_domain_event(stored_event)
