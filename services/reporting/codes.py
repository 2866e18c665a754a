"""Follow-up codes of public reports (issue 14 §3).

A code is ``<case ref>.<secret>``: the case's id (base64url, 22 characters) so the case can be
found without an index, and 16 random bytes from :mod:`secrets` (128 bits, base64url). The case
keeps only ``HMAC-SHA256(server key, label || school id || case id || secret)``: the code itself
is shown once and stored nowhere, and a stolen event log does not give it away. Comparing is
constant-time (:func:`hmac.compare_digest`). Guessing is hopeless on two counts: the case id is
random (122 bits) and the secret another 128 bits; the web layer also limits attempts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from uuid import UUID

#: Random bytes of a code's secret part (128 bits).
SECRET_BYTES = 16
_LABEL = b"vangnet-reporter-code\x00"
_KEY_LABEL = b"vangnet-reporter-code-key\x00"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")


def code_key(secret_key: bytes) -> bytes:
    """The key that hashes follow-up codes, derived from the deployment's secret key (its own
    label: a CSRF token can never be a code's hash or the other way round)."""
    return hmac.new(secret_key, _KEY_LABEL, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class ParsedCode:
    case_id: UUID
    secret: str


def new_code(case_id: UUID) -> str:
    """A fresh follow-up code for ``case_id`` (show it once; store only :func:`code_hash`)."""
    return f"{_b64(case_id.bytes)}.{_b64(secrets.token_bytes(SECRET_BYTES))}"


def parse_code(code: str) -> ParsedCode | None:
    """The case and secret of ``code`` (spaces around it ignored); ``None`` when it is not
    shaped like a code at all."""
    code = code.strip()
    if not _SHAPE.fullmatch(code):
        return None
    ref, secret = code.split(".", 1)
    try:
        raw = base64.urlsafe_b64decode(ref + "==")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16:  # pragma: no cover - the shape already fixes the length
        return None
    return ParsedCode(UUID(bytes=raw), secret)


def code_hash(key: bytes, school_id: UUID, code: ParsedCode) -> str:
    """The keyed hash the case keeps (hex)."""
    message = _LABEL + school_id.bytes + code.case_id.bytes + code.secret.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(key: bytes, school_id: UUID, code: ParsedCode, stored: str | None) -> bool:
    """Whether ``code`` is the one whose hash is ``stored`` (constant time)."""
    expected = code_hash(key, school_id, code)
    return hmac.compare_digest(expected.encode(), (stored or "").encode())
