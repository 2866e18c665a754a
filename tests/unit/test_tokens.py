"""Bearer access-token validation (infra.adapters.auth.tokens) against a local provider.

The provider is a handful of locally generated keys served through an ``httpx.MockTransport``:
no network. Each way a forged or misdirected token must fail has its own test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from infra.adapters.auth.discovery import ProviderDirectory
from infra.adapters.auth.tokens import (
    BearerValidator,
    InvalidToken,
    ProviderUnavailable,
    unverified_claims,
    unverified_issuer,
)

T = TypeVar("T")

ISSUER = "https://idp.example/tenant"
AUDIENCE = "vangnet-api"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Clock:
    """A settable monotonic clock for the directory's rate limit."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Provider:
    """A fake OpenID provider: discovery + JWKS over a MockTransport, counting JWKS fetches."""

    def __init__(self) -> None:
        self.keys: list[RSAKey | ECKey] = [
            RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        ]
        self.jwks_fetches = 0
        self.discovery_issuer = ISSUER
        self.clock = Clock()
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503)
        if request.url.path == "/tenant/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.discovery_issuer,
                    "jwks_uri": "https://idp.example/tenant/keys",
                },
            )
        if request.url.path == "/tenant/keys":
            self.jwks_fetches += 1
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys]})
        return httpx.Response(404)

    def validator(self) -> BearerValidator:
        directory = ProviderDirectory(transport=httpx.MockTransport(self.handler), clock=self.clock)
        return BearerValidator(directory)

    def sign(
        self,
        claims: dict[str, Any] | None = None,
        *,
        key: RSAKey | ECKey | None = None,
        alg: str = "RS256",
        typ: str = "at+jwt",
        **overrides: Any,
    ) -> str:
        key = key or self.keys[0]
        header = {"alg": alg, "typ": typ, "kid": key.kid}
        return jwt.encode(header, claims or access_claims(**overrides), key, algorithms=[alg])


def access_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "client_id": "api-client",
        "groups": ["vangnet-apc"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def refused(provider: Provider, token: str, reason: str, **kwargs: str) -> None:
    options = {"issuer": ISSUER, "audience": AUDIENCE, **kwargs}
    with pytest.raises(InvalidToken) as info:
        run(provider.validator().validate(token, **options))
    assert info.value.reason == reason


@pytest.fixture
def provider() -> Provider:
    return Provider()


# --- accepted ------------------------------------------------------------------------------


def test_valid_access_token_is_accepted(provider: Provider) -> None:
    claims = run(provider.validator().validate(provider.sign(), issuer=ISSUER, audience=AUDIENCE))
    assert claims["sub"] == "user-1"
    assert claims["groups"] == ["vangnet-apc"]


def test_typ_may_be_the_media_type_and_aud_a_list(provider: Provider) -> None:
    token = provider.sign(typ="Application/AT+JWT", aud=["other", AUDIENCE])
    claims = run(provider.validator().validate(token, issuer=ISSUER, audience=AUDIENCE))
    assert claims["aud"] == ["other", AUDIENCE]


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_other_allowed_algorithms(provider: Provider, alg: str) -> None:
    key: RSAKey | ECKey
    if alg == "ES256":
        key = ECKey.generate_key("P-256", parameters={"kid": "ec1", "use": "sig"})
        provider.keys.append(key)
    else:
        key = provider.keys[0]
    token = provider.sign(key=key, alg=alg)
    claims = run(provider.validator().validate(token, issuer=ISSUER, audience=AUDIENCE))
    assert claims["sub"] == "user-1"


def test_small_clock_skew_is_tolerated(provider: Provider) -> None:
    now = int(time.time())
    token = provider.sign(exp=now - 10, iat=now + 10, nbf=now + 10)
    run(provider.validator().validate(token, issuer=ISSUER, audience=AUDIENCE))


# --- refused -------------------------------------------------------------------------------


def test_alg_none_is_refused(provider: Provider) -> None:
    token = b64({"alg": "none", "typ": "at+jwt"}) + "." + b64(access_claims()) + "."
    refused(provider, token, "algorithm not allowed")


def test_wrong_issuer_is_refused(provider: Provider) -> None:
    refused(provider, provider.sign(iss="https://evil.example"), "wrong issuer")


def test_token_checked_against_another_issuer_is_refused(provider: Provider) -> None:
    # The caller picks the provider; a token must carry exactly that issuer.
    token = provider.sign()
    directory = ProviderDirectory(transport=httpx.MockTransport(provider.handler))
    validator = BearerValidator(directory)
    provider.discovery_issuer = ISSUER + "/"
    with pytest.raises(InvalidToken, match="wrong issuer"):
        run(validator.validate(token, issuer=ISSUER + "/", audience=AUDIENCE))


def test_wrong_audience_is_refused(provider: Provider) -> None:
    refused(provider, provider.sign(aud="another-api"), "wrong audience")
    refused(provider, provider.sign(aud=["a", "b"]), "wrong audience")


def test_expired_token_is_refused(provider: Provider) -> None:
    now = int(time.time())
    refused(provider, provider.sign(exp=now - 3600, iat=now - 7200), "token expired")


def test_missing_exp_is_refused(provider: Provider) -> None:
    claims = access_claims()
    del claims["exp"]
    refused(provider, provider.sign(claims), "claim missing: exp")


def test_not_yet_valid_and_future_iat_are_refused(provider: Provider) -> None:
    later = int(time.time()) + 3600
    refused(provider, provider.sign(nbf=later), "token not yet valid")
    refused(provider, provider.sign(iat=later, exp=later + 300), "token issued in the future")


def test_missing_subject_is_refused(provider: Provider) -> None:
    claims = access_claims()
    del claims["sub"]
    refused(provider, provider.sign(claims), "claim missing: sub")
    refused(provider, provider.sign(sub=""), "subject missing")


def test_unknown_key_id_is_refused_after_one_refetch(provider: Provider) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
    validator = provider.validator()
    with pytest.raises(InvalidToken, match="unknown key id"):
        run(validator.validate(provider.sign(key=stranger), issuer=ISSUER, audience=AUDIENCE))
    assert provider.jwks_fetches == 2  # the first fetch, and exactly one refetch


def test_hs256_signed_with_the_public_key_is_refused(provider: Provider) -> None:
    # joserfc itself refuses to build such a key, so sign by hand, as an attacker would.
    public_pem = provider.keys[0].as_pem(private=False)
    signing_input = b64({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}) + "." + b64(access_claims())
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    refused(provider, token, "algorithm not allowed")


def test_tampered_payload_is_refused(provider: Provider) -> None:
    header, _, signature = provider.sign().split(".")
    forged = ".".join([header, b64(access_claims(sub="someone-else")), signature])
    refused(provider, forged, "bad signature")


def test_id_token_is_refused_at_the_api(provider: Provider) -> None:
    refused(provider, provider.sign(typ="JWT"), "not an access token (typ must be at+jwt)")
    header = {"alg": "RS256", "kid": "k1"}  # no typ at all
    token = jwt.encode(header, access_claims(), provider.keys[0], algorithms=["RS256"])
    refused(provider, token, "not an access token (typ must be at+jwt)")


def test_garbage_is_refused(provider: Provider) -> None:
    refused(provider, "not-a-jwt", "malformed token")
    refused(provider, "a.b.c", "malformed token")
    refused(provider, "x" * 20_000, "token too long")


def test_provider_naming_another_issuer_is_unavailable(provider: Provider) -> None:
    provider.discovery_issuer = "https://idp.example/other"
    with pytest.raises(ProviderUnavailable, match="discovery document names another issuer"):
        run(provider.validator().validate(provider.sign(), issuer=ISSUER, audience=AUDIENCE))


def test_http_issuer_is_refused_unless_local(provider: Provider) -> None:
    validator = BearerValidator(transport=httpx.MockTransport(lambda _r: httpx.Response(500)))
    with pytest.raises(ProviderUnavailable, match="https"):
        run(validator.validate(provider.sign(), issuer="http://idp.example", audience=AUDIENCE))


# --- key rotation ---------------------------------------------------------------------------


def test_key_rotation_refetches_once_and_is_rate_limited(provider: Provider) -> None:
    validator = provider.validator()

    async def scenario() -> None:
        await validator.validate(provider.sign(), issuer=ISSUER, audience=AUDIENCE)
        assert provider.jwks_fetches == 1

        # The provider rotates: a token signed with the new key triggers one refetch.
        new_key = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"})
        provider.keys = [new_key]
        claims = await validator.validate(
            provider.sign(key=new_key), issuer=ISSUER, audience=AUDIENCE
        )
        assert claims["sub"] == "user-1"
        assert provider.jwks_fetches == 2

        # Known keys need no fetch; a second unknown kid within 30 s causes no refetch.
        await validator.validate(provider.sign(key=new_key), issuer=ISSUER, audience=AUDIENCE)
        newer = RSAKey.generate_key(2048, parameters={"kid": "k3", "use": "sig"})
        provider.keys = [new_key, newer]
        with pytest.raises(InvalidToken, match="unknown key id"):
            await validator.validate(provider.sign(key=newer), issuer=ISSUER, audience=AUDIENCE)
        assert provider.jwks_fetches == 2

        # After the interval it refetches again and accepts the new key.
        provider.clock.now += 31
        await validator.validate(provider.sign(key=newer), issuer=ISSUER, audience=AUDIENCE)
        assert provider.jwks_fetches == 3

    run(scenario())


def test_cached_keys_are_kept_while_the_provider_is_down(provider: Provider) -> None:
    validator = provider.validator()

    async def scenario() -> None:
        await validator.validate(provider.sign(), issuer=ISSUER, audience=AUDIENCE)
        provider.down = True
        provider.clock.now += 7200  # metadata and keys are due for a refresh
        claims = await validator.validate(provider.sign(), issuer=ISSUER, audience=AUDIENCE)
        assert claims["sub"] == "user-1"
        fresh = Provider()  # never reached: nothing cached
        fresh.down = True
        with pytest.raises(ProviderUnavailable, match="HTTP 503"):
            await fresh.validator().validate(fresh.sign(), issuer=ISSUER, audience=AUDIENCE)

    run(scenario())


# --- unverified helpers --------------------------------------------------------------------


def test_unverified_issuer_reads_without_trusting(provider: Provider) -> None:
    assert unverified_issuer(provider.sign()) == ISSUER
    assert unverified_issuer(provider.sign(iss=None)) is None
    assert unverified_issuer("garbage") is None
    assert unverified_issuer("a.!!!.c") is None
    assert unverified_claims(b64({"alg": "x"}) + "." + b64({"iss": 3}) + ".") == {"iss": 3}
    assert unverified_issuer(b64({"alg": "x"}) + "." + b64({"iss": 3}) + ".") is None
