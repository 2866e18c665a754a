"""OpenID provider metadata and signing keys, fetched once and cached per issuer.

Both the login flow (:mod:`infra.adapters.auth.oidc`, ID tokens) and the API
(:mod:`infra.adapters.auth.tokens`,
bearer access tokens) need a provider's discovery document
(``{issuer}/.well-known/openid-configuration``) and its JWKS. :class:`ProviderDirectory` fetches
them with one shared ``httpx.AsyncClient`` (injectable: tests pass a ``MockTransport`` or an ASGI
transport), keeps them for an hour, and refetches the keys early when a token names a key id we
do not know (a provider rotated its keys) — at most once per ``refetch_interval`` per issuer, so
tokens with made-up key ids cannot make us hammer the provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tenants.login import url_refusal

#: Refuse provider documents larger than this (a discovery document or JWKS is a few KB).
MAX_DOCUMENT_BYTES = 512 * 1024
#: Signature algorithms Vangnet accepts from providers (asymmetric only: no HS*, never none).
SIGNING_ALGORITHMS: tuple[str, ...] = ("RS256", "PS256", "ES256")


class ProviderError(Exception):
    """A provider's metadata or keys could not be fetched or were unusable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_allowed_url(url: str, *, loopback: bool = False) -> bool:
    """Whether Vangnet may call ``url`` at a provider: https to a public host; this machine
    (also over plain http) only with ``loopback`` (development and tests). The one rule of
    :func:`tenants.login.url_refusal`, for issuers and every endpoint their documents name."""
    return url_refusal(url, loopback=loopback) is None


@dataclass
class _Entry:
    metadata: dict[str, Any]
    metadata_at: float
    keys: KeySet | None = None
    keys_at: float = 0.0
    forced_at: float | None = None  # last refetch caused by an unknown key id


class ProviderDirectory:
    """Cached discovery metadata and JWKS per issuer.

    ``http``: an ``httpx.AsyncClient`` to use (not closed by us); else one is made with
    ``transport`` (tests) and closed by :meth:`aclose`. ``clock`` returns seconds (monotonic).
    ``loopback``: providers on this machine are allowed (``LoginPolicy.loopback_issuers``).
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        ttl: float = 3600.0,
        refetch_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        loopback: bool = False,
    ) -> None:
        self.loopback = loopback
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            transport=transport, timeout=timeout, follow_redirects=False
        )
        self.transport = transport
        self.timeout = timeout
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.clock = clock
        self._entries: dict[str, _Entry] = {}

    def allows(self, url: str) -> bool:
        """Whether a provider URL (issuer or endpoint) may be called (:func:`is_allowed_url`)."""
        return is_allowed_url(url, loopback=self.loopback)

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client used for every provider call."""
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP client if this directory made it."""
        if self._own_http:
            await self._http.aclose()

    async def metadata(self, issuer: str) -> dict[str, Any]:
        """The provider's discovery document (its ``issuer`` checked against ``issuer``)."""
        return (await self._entry(issuer)).metadata

    async def keyset(self, issuer: str, *, unknown_kid: bool = False) -> KeySet:
        """The provider's signing keys.

        ``unknown_kid``: a token named a key id not in the cached set; refetch now unless that
        was already done within ``refetch_interval`` seconds (then the cached set is returned).
        """
        entry = await self._entry(issuer)
        now = self.clock()
        stale = entry.keys is None or now - entry.keys_at >= self.ttl
        may_force = entry.forced_at is None or now - entry.forced_at >= self.refetch_interval
        if unknown_kid and not stale and may_force:
            entry.forced_at = now
            stale = True
        if stale:
            try:
                entry.keys = await self._fetch_keys(entry.metadata)
                entry.keys_at = now
            except ProviderError:
                if entry.keys is None:
                    raise
                # Keep verifying with the keys we have while the provider is unreachable;
                # try again after a retry interval rather than on every request.
                entry.keys_at = now - self.ttl + self.refetch_interval
        assert entry.keys is not None  # fetched above when missing
        return entry.keys

    def forget(self, issuer: str) -> None:
        """Drop everything cached for ``issuer`` (e.g. after its configuration changed)."""
        self._entries.pop(issuer, None)

    async def _entry(self, issuer: str) -> _Entry:
        entry = self._entries.get(issuer)
        now = self.clock()
        if entry is None or now - entry.metadata_at >= self.ttl:
            try:
                metadata = await self._fetch_metadata(issuer)
            except ProviderError:
                if entry is None:
                    raise
                entry.metadata_at = now - self.ttl + self.refetch_interval  # stale, retry later
                return entry
            if entry is not None and entry.metadata.get("jwks_uri") == metadata.get("jwks_uri"):
                entry.metadata, entry.metadata_at = metadata, now
            else:
                entry = _Entry(metadata=metadata, metadata_at=now)
                self._entries[issuer] = entry
        return entry

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        if not self.allows(url):
            raise ProviderError(f"{what} URL is not allowed (https to a public host)")
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError:
            raise ProviderError(f"{what} could not be fetched") from None
        if response.status_code != 200:
            raise ProviderError(f"{what} answered HTTP {response.status_code}")
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ProviderError(f"{what} is too large")
        try:
            data = response.json()
        except ValueError:
            raise ProviderError(f"{what} is not JSON") from None
        if not isinstance(data, dict):
            raise ProviderError(f"{what} is not a JSON object")
        return data

    async def _fetch_metadata(self, issuer: str) -> dict[str, Any]:
        if not self.allows(issuer):
            raise ProviderError("issuer is not allowed (https to a public host)")
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        metadata = await self._get_json(url, "discovery document")
        # OpenID Connect Discovery §4.3: the document must name exactly the issuer we asked for,
        # or a provider could vouch for tokens of another.
        if metadata.get("issuer") != issuer:
            raise ProviderError("discovery document names another issuer")
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not self.allows(jwks_uri):
            raise ProviderError("discovery document has no usable jwks_uri")
        return metadata

    async def _fetch_keys(self, metadata: dict[str, Any]) -> KeySet:
        data = await self._get_json(str(metadata["jwks_uri"]), "JWKS")
        raw_keys = data.get("keys")
        if not isinstance(raw_keys, list):
            raise ProviderError("JWKS has no keys")
        # Only public signing keys: a symmetric ("oct") key in a JWKS would be a provider error,
        # and encryption keys are not for verifying signatures.
        usable = [
            key
            for key in raw_keys
            if isinstance(key, dict)
            and key.get("kty") in ("RSA", "EC")
            and key.get("use", "sig") == "sig"
            and "d" not in key
        ]
        try:
            return KeySet.import_key_set({"keys": usable})
        except (JoseError, ValueError, TypeError):
            raise ProviderError("JWKS has no usable signing keys") from None
