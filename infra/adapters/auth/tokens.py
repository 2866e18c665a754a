"""Bearer access tokens for the API: JWTs (RFC 9068) checked against the provider's keys.

An API client sends ``Authorization: Bearer <jwt>``, an access token its school's provider
issued for Vangnet's API audience. :class:`BearerValidator` accepts it only when all of these
hold: the header says ``typ: at+jwt`` (so an ID token, meant for the client itself, cannot be
replayed at the API); the algorithm is one of RS256/PS256/ES256 (never ``none``, never HMAC —
an HMAC "signed" with the provider's public key is a classic forgery); the signature verifies
with a key from the provider's JWKS; ``iss`` is the expected issuer; ``aud`` contains the
expected audience; ``exp`` is in the future and ``nbf``/``iat`` not (small leeway for clock
skew); and ``sub`` is present.

Every refusal raises :class:`InvalidToken` with a short English reason; never any token content
(claims may hold names and e-mail addresses).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from infra.adapters.auth.discovery import SIGNING_ALGORITHMS, ProviderDirectory, ProviderError

#: Longer than any real access token; refuse before parsing anything.
MAX_TOKEN_LENGTH = 16 * 1024
#: Accepted header ``typ`` values (compared case-insensitively; RFC 9068 §2.1).
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})


class InvalidToken(Exception):
    """A bearer token was refused. ``reason`` is short English, safe to log and return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(InvalidToken):
    """The provider's keys could not be fetched: not the client's fault (answer 503, not 401)."""


def _b64_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWT, NOT verified (``None`` if it is not one).

    Only for choosing which provider to verify the token with; never trust what it says.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = _b64_json(parts[1])
    except (ValueError, UnicodeError):
        return None
    return payload if isinstance(payload, dict) else None


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a token claims, NOT verified: used only to pick the provider to check with."""
    claims = unverified_claims(token)
    issuer = claims.get("iss") if claims else None
    return issuer if isinstance(issuer, str) and issuer else None


def audiences(claims: dict[str, Any]) -> list[str]:
    """The ``aud`` claim as a list (it may be one string or a list of strings)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


_CLAIM_REASONS = {
    "iss": "wrong issuer",
    "aud": "wrong audience",
    "exp": "token expired",
    "nbf": "token not yet valid",
    "iat": "token issued in the future",
    "sub": "subject missing",
}


def claim_error_reason(error: ClaimError) -> str:
    """A short reason for a joserfc claim error (names the claim, never its value)."""
    if isinstance(error, ExpiredTokenError):
        return "token expired"
    if isinstance(error, MissingClaimError):
        return f"claim missing: {error.claim}"
    return _CLAIM_REASONS.get(error.claim, f"invalid claim: {error.claim}")


async def verified_jwt(
    token: str,
    *,
    issuer: str,
    directory: ProviderDirectory,
    algorithms: tuple[str, ...] = SIGNING_ALGORITHMS,
) -> jwt.Token:
    """Verify a compact JWT's signature with ``issuer``'s keys (refetched once on a new kid).

    Claims are not checked here, only the signature and that the algorithm is allowed.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("token too long")
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise InvalidToken("malformed token") from None
    if header.get("alg") not in algorithms:
        raise InvalidToken("algorithm not allowed")
    try:
        keys = await directory.keyset(issuer)
        kid = header.get("kid")
        if not _has_key(keys, kid):
            keys = await directory.keyset(issuer, unknown_kid=True)
            if not _has_key(keys, kid):
                raise InvalidToken("unknown key id")
    except ProviderError as error:
        raise ProviderUnavailable(f"provider keys unavailable: {error.reason}") from None
    try:
        return jwt.decode(token, keys, algorithms=list(algorithms))
    except BadSignatureError:
        raise InvalidToken("bad signature") from None
    except InvalidKeyIdError:
        raise InvalidToken("unknown key id") from None
    except JoseError:
        raise InvalidToken("token could not be verified") from None
    except (ValueError, TypeError):
        raise InvalidToken("malformed token") from None


def _has_key(keys: KeySet, kid: Any) -> bool:
    if kid is None:
        # Without a key id only a one-key set is unambiguous (joserfc picks that key).
        return len(keys.keys) == 1
    return isinstance(kid, str) and any(key.kid == kid for key in keys.keys)


class BearerValidator:
    """Validates bearer access tokens; one per process (it caches the providers' keys)."""

    def __init__(
        self,
        directory: ProviderDirectory | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        leeway: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory or ProviderDirectory(transport=transport)
        self.leeway = leeway
        self.clock = clock

    async def aclose(self) -> None:
        """Close the HTTP client (at app shutdown)."""
        await self.directory.aclose()

    async def validate(self, token: str, *, issuer: str, audience: str) -> dict[str, Any]:
        """The verified claims of ``token``, or :class:`InvalidToken` saying why not."""
        verified = await verified_jwt(token, issuer=issuer, directory=self.directory)
        typ = verified.header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("not an access token (typ must be at+jwt)")
        claims = dict(verified.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(self.clock()),
            leeway=self.leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ClaimError as error:
            raise InvalidToken(claim_error_reason(error)) from None
        return claims
