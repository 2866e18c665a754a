"""The keys and the outside sink of the logs' tamper evidence, one per process.

Everything here is derived from the master key (HKDF, :func:`infra.adapters.crypto.derive_key`), so
nothing new is stored anywhere and nothing of it is in the database:

- a **chain key** per chain (``chain/<schema>.<table>``): keys the links of a log's hash chain
  and of its access log (:mod:`infra.adapters.postgres.chain`,
  :mod:`infra.adapters.audit.access_log`);
- the **checkpoint signing key** (``checkpoints/ed25519``): an Ed25519 key that signs every
  checkpoint (:mod:`infra.adapters.audit.checkpoints`). Its public half verifies them; its *key id*
  (the
  first 8 bytes of the public key's SHA-256, in hex) is written with each one.

The :class:`AuditTrail` also holds the **sink** that receives the outside copy of every
checkpoint (:mod:`infra.adapters.audit.sink`). :class:`infra.bootstrap.container.Container`
installs one per
process (like the shared pool), so the access log and the checkpoint code find it with
:func:`current_trail`.
"""

from __future__ import annotations

import hashlib
import threading

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from infra.adapters.crypto import derive_key, unwrap_key
from infra.adapters.postgres.cipher import PLATFORM_CONTEXT, school_context
from infra.adapters.postgres.store import LogKeys
from projections.db import PLATFORM_SCHEMA
from services.audit.checkpoints import CheckpointSink
from services.audit.verify import ACCESS_LOG
from tenants.registry import School

#: The events tables of the two kinds of log (``<application name>_events``); the access log's
#: chain is named by the verification rules (``ACCESS_LOG``, services.audit.verify).
SCHOOL_EVENTS = "casework_events"
PLATFORM_EVENTS = "platform_events"
#: HKDF purpose of the registry's own event cipher key (as :mod:`tenants.provisioning` uses it).
PLATFORM_KEY_PURPOSE = "platform"


def derive_chain_key(master_key: bytes, schema: str, table: str) -> bytes:
    """The key of one chain (``table``: an events table, or the access log)."""
    return derive_key(master_key, f"chain/{schema}.{table}")


class CheckpointSigner:
    """Signs and verifies checkpoints (Ed25519, key derived from the master key)."""

    def __init__(self, master_key: bytes) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(
            derive_key(master_key, "checkpoints/ed25519")
        )
        self.public_key = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.public_key).hexdigest()[:16]

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``message``."""
        try:
            self._private.public_key().verify(signature, message)
        except InvalidSignature:
            return False
        return True


class AuditTrail:
    """The process's tamper-evidence keys and checkpoint sink."""

    def __init__(self, master_key: bytes, sink: CheckpointSink) -> None:
        self._master_key = master_key
        self.sink = sink
        self.signer = CheckpointSigner(master_key)
        self._chain_keys: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def chain_key(self, schema: str, table: str) -> bytes:
        """The key of one chain (``table`` is the events table, or the access log)."""
        with self._lock:
            key = self._chain_keys.get((schema, table))
            if key is None:
                key = derive_chain_key(self._master_key, schema, table)
                self._chain_keys[(schema, table)] = key
            return key

    def school_log(self, school: School) -> LogKeys:
        """A school's log (unwraps its data key)."""
        return LogKeys(
            label=school.slug,
            schema=school.schema_name,
            events_table=SCHOOL_EVENTS,
            context=school_context(school.id),
            data_key=unwrap_key(self._master_key, school.wrapped_data_key, school.id.bytes),
            chain_key=self.chain_key(school.schema_name, SCHOOL_EVENTS),
            reads_key=self.chain_key(school.schema_name, ACCESS_LOG),
        )

    def platform_log(self) -> LogKeys:
        """The platform registry's log."""
        return LogKeys(
            label="platform",
            schema=PLATFORM_SCHEMA,
            events_table=PLATFORM_EVENTS,
            context=PLATFORM_CONTEXT,
            data_key=derive_key(self._master_key, PLATFORM_KEY_PURPOSE),
            chain_key=self.chain_key(PLATFORM_SCHEMA, PLATFORM_EVENTS),
        )


class TrailNotInstalledError(RuntimeError):
    """No audit trail is installed: open a ``Container`` (or call :func:`install_trail`)."""


class _Installed:
    lock = threading.Lock()
    trail: AuditTrail | None = None


def install_trail(trail: AuditTrail) -> None:
    """Make ``trail`` the process's audit trail (replaces any other)."""
    with _Installed.lock:
        _Installed.trail = trail


def uninstall_trail(trail: AuditTrail) -> None:
    """Forget ``trail`` if it is the installed one."""
    with _Installed.lock:
        if _Installed.trail is trail:
            _Installed.trail = None


def current_trail() -> AuditTrail:
    """The installed audit trail."""
    trail = _Installed.trail
    if trail is None:
        raise TrailNotInstalledError(TrailNotInstalledError.__doc__)
    return trail
