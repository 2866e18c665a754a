"""Checkpoints as the rules see them: one signed head of one chain, what its signature covers,
and why one does not verify.

A keyed chain cannot be recomputed by someone who lacks the key, but it can be *cut*: deleting
the newest events with their links leaves a shorter chain that is still consistent. A checkpoint
pins a head (position and hash) as it was at a moment; it is signed, and also appended to an
*outside copy* the database cannot reach (:class:`CheckpointSink`). Storing them, signing keys
and the outside copy's files are adapters (``infra/adapters/audit/``).

Kinds: ``checkpoint``; ``created`` (a log made with the keyed chain, at position 0); ``sealed``
(a log written before the keyed chain was (re-)sealed: tamper-evident from then on, not from
when it was written). Schemes: ``hmac-sha256`` (keyed, signed) and ``sha256`` (rows from before
the keyed chain: unsigned, kept as history, never compared).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

KIND_CHECKPOINT = "checkpoint"
KIND_CREATED = "created"
KIND_SEALED = "sealed"
#: Recorded by ``vangnet privacy seal-old`` after it sealed the pupil fields and free text of
#: events written before sealing existed: the head of the rewritten chain. Checkpoints recorded
#: before it name hashes of the chain as it was; those are kept beside the chain.
KIND_RESEALED = "resealed"
KINDS = frozenset({KIND_CHECKPOINT, KIND_CREATED, KIND_SEALED, KIND_RESEALED})
SCHEME = "hmac-sha256"
LEGACY_SCHEME = "sha256"
FORMAT = 1
_SIGNED_LABEL = b"vangnet checkpoint v1\x00"


class Signer(Protocol):
    """Signs and verifies checkpoints (a port: Ed25519 from the master key in production)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes:
        """The signature of ``message``."""
        ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``message``."""
        ...


@dataclass(frozen=True)
class SinkLine:
    """One line of a log's outside copy: its number, and its JSON (``None``: unreadable)."""

    number: int
    record: dict[str, Any] | None


class CheckpointSink(Protocol):
    """Where the outside copies of checkpoints go (a port: a directory in production)."""

    def append(self, log: str, record: dict[str, Any]) -> None:
        """Append one record durably (raises ``OSError`` when it cannot)."""
        ...

    def read(self, log: str) -> list[SinkLine]:
        """Every line recorded for ``log``, oldest first."""
        ...

    def where(self, log: str) -> str:
        """Where ``log``'s copy lives (for messages)."""
        ...


@dataclass(frozen=True)
class Checkpoint:
    """One signed head of one chain."""

    log: str
    chain: str
    position: int
    hash: bytes
    kind: str
    recorded_at: datetime
    scheme: str = SCHEME
    key_id: str | None = None
    signature: bytes | None = None

    def fields(self) -> dict[str, Any]:
        """What the signature covers (and the outside copy holds, with the signature)."""
        return {
            "v": FORMAT,
            "log": self.log,
            "chain": self.chain,
            "position": self.position,
            "hash": self.hash.hex(),
            "kind": self.kind,
            "scheme": self.scheme,
            "recorded_at": _utc(self.recorded_at),
            "key": self.key_id,
        }

    def message(self) -> bytes:
        """The bytes the signature covers."""
        return _SIGNED_LABEL + json.dumps(
            self.fields(), sort_keys=True, separators=(",", ":")
        ).encode("ascii")

    def record(self) -> dict[str, Any]:
        """The outside copy's line."""
        assert self.signature is not None
        return {**self.fields(), "sig": base64.b64encode(self.signature).decode("ascii")}

    @property
    def when(self) -> str:
        """The time it was recorded, for messages (UTC, to the second)."""
        return f"{self.recorded_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def sign(
    signer: Signer,
    log_name: str,
    chain: str,
    position: int,
    hash_: bytes,
    kind: str,
    recorded_at: datetime | None = None,
) -> Checkpoint:
    """A new signed checkpoint (the time to the microsecond, as the database keeps it)."""
    unsigned = Checkpoint(
        log=log_name,
        chain=chain,
        position=position,
        hash=hash_,
        kind=kind,
        recorded_at=(recorded_at or datetime.now(UTC)).astimezone(UTC),
        key_id=signer.key_id,
    )
    return replace(unsigned, signature=signer.sign(unsigned.message()))


def signature_problem(signer: Signer, checkpoint: Checkpoint) -> str | None:
    """Why ``checkpoint``'s signature does not verify (``None``: it does)."""
    if checkpoint.signature is None:
        return "it is not signed"
    if checkpoint.key_id != signer.key_id:
        return (
            f"it was signed with another key ({checkpoint.key_id}; this master key signs as "
            f"{signer.key_id})"
        )
    if not signer.verify(checkpoint.message(), checkpoint.signature):
        return "its signature does not verify: it was forged, or changed after it was signed"
    return None


def from_record(record: dict[str, Any]) -> Checkpoint | None:
    """A checkpoint from an outside copy's line (``None``: not a well-formed line)."""
    try:
        if record["v"] != FORMAT or record["kind"] not in KINDS:
            return None
        return Checkpoint(
            log=str(record["log"]),
            chain=str(record["chain"]),
            position=int(record["position"]),
            hash=bytes.fromhex(str(record["hash"])),
            kind=str(record["kind"]),
            recorded_at=datetime.fromisoformat(str(record["recorded_at"])),
            scheme=str(record["scheme"]),
            key_id=str(record["key"]),
            signature=base64.b64decode(str(record["sig"]), validate=True),
        )
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
