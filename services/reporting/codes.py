"""Follow-up codes of public reports (issue 14 §3).

A code is sixteen characters a pupil can type, in groups of four: ``K7QM-2XWD-9HBT-R4EF``
(Crockford's base 32: digits and capitals without I, L, O and U; typed in lower case, with
spaces or without dashes, or with an O for a zero and an I or L for a one, it reads the same).
The first eight are the *handle* (40 bits), the last eight the *secret* (40 bits), both from
:mod:`secrets`. The case is found without an index: its id is derived from the handle with the
server's key (``HMAC-SHA256(key, label || school id || handle)``, as a UUID), so a case id seen on
a staff page gives no handle, and a handle without the key gives no case. The case keeps only
``HMAC-SHA256(server key, label || school id || case id || secret)``: the code itself is shown
once and stored nowhere, and a stolen event log does not give it away. Comparing is
constant-time (:func:`hmac.compare_digest`).

Guessing: a random handle names no case (one school's cases are a vanishing part of 2⁴⁰
handles), and with the right handle the secret is one of 2⁴⁰; the web layer allows 20 attempts
an hour per address and per case.

Codes issued before (``<case id, base64url>.<128-bit secret>``, 45 characters) keep working.
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

#: Crockford's base 32 (no I, L, O, U: nothing to mistake for another).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Characters of the handle and of the secret (5 bits each: 40 bits each).
PART_CHARS = 8
#: Random bytes of a legacy code's secret part (128 bits).
SECRET_BYTES = 16
_LABEL = b"vangnet-reporter-code\x00"
_KEY_LABEL = b"vangnet-reporter-code-key\x00"
_HANDLE_LABEL = b"vangnet-reporter-code-handle\x00"
_LEGACY_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")
#: What a typed code may look like before it is normalised (anything else is not a code).
_TYPED = re.compile(r"^[0-9A-Za-z \-]{16,40}$")
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def code_key(secret_key: bytes) -> bytes:
    """The key that hashes follow-up codes, derived from the deployment's secret key (its own
    label: a CSRF token can never be a code's hash or the other way round)."""
    return hmac.new(secret_key, _KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class ParsedCode:
    case_id: UUID
    secret: str


def case_id_of(key: bytes, school_id: UUID, handle: str) -> UUID:
    """The id of the case a handle names in a school (derived with the server's key)."""
    digest = hmac.new(key, _HANDLE_LABEL + school_id.bytes + handle.encode(), hashlib.sha256)
    return UUID(bytes=digest.digest()[:16], version=4)


def new_code(key: bytes, school_id: UUID) -> tuple[UUID, str]:
    """A fresh follow-up code and the id its case must get (show the code once; store only
    :func:`code_hash`)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(2 * PART_CHARS))
    code = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    parsed = parse_code(code, key, school_id)
    assert parsed is not None  # a fresh code always parses
    return parsed.case_id, code


def _normalised(code: str) -> str | None:
    """The sixteen characters of a typed code (case, spaces, dashes and look-alikes forgiven)."""
    if not _TYPED.fullmatch(code):
        return None
    plain = code.replace(" ", "").replace("-", "").upper().translate(_READS_AS)
    if len(plain) != 2 * PART_CHARS or any(c not in ALPHABET for c in plain):
        return None
    return plain


def parse_code(code: str, key: bytes, school_id: UUID) -> ParsedCode | None:
    """The case and secret of ``code`` in a school (spaces around it ignored); ``None`` when it
    is not shaped like a code at all."""
    code = code.strip()
    plain = _normalised(code)
    if plain is not None:
        handle, secret = plain[:PART_CHARS], plain[PART_CHARS:]
        return ParsedCode(case_id_of(key, school_id, handle), secret)
    if not _LEGACY_SHAPE.fullmatch(code):
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
