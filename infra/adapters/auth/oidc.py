"""The OpenID Connect login flow (authorization code + PKCE), with Authlib's httpx client.

DESIGN.md §7: authorization code flow with PKCE (S256), ``state``, ``nonce`` and issuer checks.
Authlib has no Litestar integration (STACK-NOTES), so this module holds the few steps
ourselves and uses Authlib's ``AsyncOAuth2Client`` for building the authorization URL (PKCE
challenge) and for the code exchange (client authentication):

1. :meth:`OidcClients.begin` makes a fresh ``state``, ``nonce`` and PKCE ``code_verifier``,
   keeps them in the (server-side) session under ``session["oidc"]`` keyed by ``state`` (so two
   tabs can log in at once), and returns the provider's authorization URL.
2. :meth:`OidcClients.complete` takes the callback's query parameters: the ``state`` must be
   one we issued (it is removed at once: one use only, also when a later check fails); the
   RFC 9207 ``iss`` parameter must name the provider we sent the user to (and must be present
   when the provider says it sends it) — this stops mix-up attacks between the many schools'
   providers; the code is exchanged with the ``code_verifier``; and the ID token must be signed
   by one of the provider's keys and carry the right ``iss``, ``aud`` (our client id), ``nonce``
   and a future ``exp``.

Failures raise :class:`LoginFailed` with a short English reason for the log; the user sees a
Dutch page. Reasons never contain claims, codes or tokens.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import ClaimError, JoseError

from infra.adapters.auth.discovery import (
    SIGNING_ALGORITHMS,
    ProviderDirectory,
    ProviderError,
)
from infra.adapters.auth.tokens import (
    InvalidToken,
    ProviderUnavailable,
    claim_error_reason,
    verified_jwt,
)

with warnings.catch_warnings():
    # Authlib >= 1.8 prefers the separate ``httpx2`` package and warns when it falls back to
    # ``httpx``; Vangnet pins httpx, which Authlib 1.9 still supports. Authlib installs an
    # "always" filter for its warning class on import, so ours must come after that import.
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
    from authlib.oidc.core import CodeIDToken

#: Session key of the logins in progress (``{state: {...}}``).
SESSION_KEY = "oidc"
#: A login not completed within this many seconds is forgotten.
PENDING_TTL_SECONDS = 600
#: At most this many logins in progress per session (oldest dropped first).
MAX_PENDING = 5
#: Error codes from the provider are echoed into our log only when they look like one.
_ERROR_CODE_RE = re.compile(r"^[a-z_]{1,40}$")


class LoginFailed(Exception):
    """A login could not be completed. ``reason`` is short English, safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OidcProvider:
    """What the login flow needs of a provider: its issuer and our client there."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "profile", "email")


@dataclass(frozen=True)
class PendingLogin:
    """A login between :meth:`OidcClients.begin` and :meth:`OidcClients.complete`."""

    state: str
    nonce: str
    code_verifier: str
    issuer: str
    client_id: str
    next_path: str
    context: dict[str, str]
    created_at: float

    def to_session(self) -> dict[str, Any]:
        """The JSON-able form kept in ``session["oidc"][state]``."""
        return {
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "next": self.next_path,
            "context": dict(self.context),
            "created_at": self.created_at,
        }

    @classmethod
    def from_session(cls, state: str, data: Mapping[str, Any]) -> PendingLogin:
        """Read back :meth:`to_session`'s form."""
        return cls(
            state=state,
            nonce=str(data["nonce"]),
            code_verifier=str(data["code_verifier"]),
            issuer=str(data["issuer"]),
            client_id=str(data["client_id"]),
            next_path=str(data.get("next") or "/"),
            context={str(k): str(v) for k, v in dict(data.get("context") or {}).items()},
            created_at=float(data["created_at"]),
        )


def safe_next(path: str | None) -> str:
    """``path`` if it is a local path (``/...``, not ``//`` or ``/\\``), else ``/``.

    Anything else could send the user to another site after login (an open redirect).
    """
    if (
        not path
        or not path.startswith("/")
        or path.startswith(("//", "/\\"))
        or any(ch in path for ch in "\\\r\n\t")
        or len(path) > 2000
    ):
        return "/"
    return path


class OidcClients:
    """The login flow for any number of providers (metadata and keys cached per issuer).

    ``transport`` is used for every call to a provider (discovery, JWKS, token endpoint); tests
    pass an ``httpx.MockTransport`` or ``httpx.ASGITransport``. ``clock`` returns epoch seconds.
    """

    def __init__(
        self,
        directory: ProviderDirectory | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        leeway: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.directory = directory or ProviderDirectory(transport=transport, timeout=timeout)
        self.leeway = leeway
        self.clock = clock

    async def aclose(self) -> None:
        """Close the HTTP client (at app shutdown)."""
        await self.directory.aclose()

    async def metadata(self, issuer: str) -> dict[str, Any]:
        """The provider's discovery document (cached), or :class:`LoginFailed`."""
        try:
            return await self.directory.metadata(issuer)
        except ProviderError as error:
            raise LoginFailed(f"provider unavailable: {error.reason}") from None

    def _client(self, provider: OidcProvider, redirect_uri: str, **kwargs: Any) -> Any:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            scope=" ".join(provider.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            transport=self.transport,
            timeout=self.timeout,
            follow_redirects=False,
            **kwargs,
        )

    async def begin(
        self,
        session: MutableMapping[str, Any],
        *,
        provider: OidcProvider,
        redirect_uri: str,
        login_hint: str | None = None,
        next_path: str = "/",
        context: Mapping[str, str] | None = None,
    ) -> str:
        """Start a login: remember it in ``session`` and return the authorization URL.

        ``context`` is kept with the login for the caller (e.g. which school is logging in)
        and read back with :func:`pending_login` in the callback.
        """
        metadata = await self.metadata(provider.issuer)
        endpoint = metadata.get("authorization_endpoint")
        if not isinstance(endpoint, str) or not self.directory.allows(endpoint):
            raise LoginFailed("provider has no usable authorization_endpoint")
        pending = PendingLogin(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),  # 86 characters (RFC 7636: 43-128)
            issuer=provider.issuer,
            client_id=provider.client_id,
            next_path=safe_next(next_path),
            context=dict(context or {}),
            created_at=self.clock(),
        )
        extra: dict[str, str] = {"nonce": pending.nonce}
        if login_hint:
            extra["login_hint"] = login_hint
        async with self._client(provider, redirect_uri) as client:
            url, _state = client.create_authorization_url(
                endpoint, state=pending.state, code_verifier=pending.code_verifier, **extra
            )
        _store_pending(session, pending, now=self.clock())
        return str(url)

    async def complete(
        self,
        session: MutableMapping[str, Any],
        *,
        provider: OidcProvider,
        params: Mapping[str, str],
        redirect_uri: str,
    ) -> tuple[dict[str, Any], str]:
        """Finish a login from the callback's query ``params``: (verified ID-token claims, next).

        ``provider`` must be the one the login began with (look it up via
        :func:`pending_login`'s ``context``); the client secret is never kept in the session.
        """
        pending = pop_pending_login(session, params.get("state"))
        if pending is None:
            raise LoginFailed("unknown or already used state")
        if self.clock() - pending.created_at > PENDING_TTL_SECONDS:
            raise LoginFailed("login took too long")
        if (provider.issuer, provider.client_id) != (pending.issuer, pending.client_id):
            raise LoginFailed("callback for another provider than the login began with")
        error = params.get("error")
        if error:
            error_code = error if _ERROR_CODE_RE.match(error) else "unknown"
            raise LoginFailed(f"provider returned an error: {error_code}")

        metadata = await self.metadata(provider.issuer)
        # RFC 9207: the authorization response names its issuer. Compare exactly; if the
        # provider announces the parameter, a response without it is refused (a mix-up attack
        # would strip it).
        if "iss" in params:
            if params["iss"] != provider.issuer:
                raise LoginFailed("authorization response from another issuer")
        elif metadata.get("authorization_response_iss_parameter_supported") is True:
            raise LoginFailed("authorization response without iss")
        code = params.get("code")
        if not code:
            raise LoginFailed("authorization response without code")

        token = await self._exchange(provider, metadata, code, pending, redirect_uri)
        claims = await self._verify_id_token(provider, metadata, token, pending)
        return claims, pending.next_path

    async def _exchange(
        self,
        provider: OidcProvider,
        metadata: Mapping[str, Any],
        code: str,
        pending: PendingLogin,
        redirect_uri: str,
    ) -> dict[str, Any]:
        endpoint = metadata.get("token_endpoint")
        if not isinstance(endpoint, str) or not self.directory.allows(endpoint):
            raise LoginFailed("provider has no usable token_endpoint")
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" in methods:
            method = "client_secret_basic"
        elif "client_secret_post" in methods:
            method = "client_secret_post"
        else:
            raise LoginFailed("provider supports no client-secret authentication")
        try:
            async with self._client(
                provider, redirect_uri, token_endpoint_auth_method=method
            ) as client:
                token = await client.fetch_token(
                    endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
        except OAuthError as exc:
            code_name = str(getattr(exc, "error", "") or "")
            code_name = code_name if _ERROR_CODE_RE.match(code_name) else "unknown"
            raise LoginFailed(f"code exchange refused: {code_name}") from None
        except (httpx.HTTPError, ValueError):
            raise LoginFailed("code exchange failed") from None
        if not isinstance(token, Mapping) or not isinstance(token.get("id_token"), str):
            raise LoginFailed("token response without id_token")
        return dict(token)

    async def _verify_id_token(
        self,
        provider: OidcProvider,
        metadata: Mapping[str, Any],
        token: Mapping[str, Any],
        pending: PendingLogin,
    ) -> dict[str, Any]:
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in SIGNING_ALGORITHMS if a in offered) or ("RS256",)
        try:
            verified = await verified_jwt(
                str(token["id_token"]),
                issuer=provider.issuer,
                directory=self.directory,
                algorithms=algorithms,
            )
        except ProviderUnavailable as error:
            raise LoginFailed(error.reason) from None
        except InvalidToken as error:
            raise LoginFailed(f"ID token refused: {error.reason}") from None
        typ = verified.header.get("typ")
        if isinstance(typ, str) and typ.lower() in ("at+jwt", "application/at+jwt"):
            raise LoginFailed("ID token refused: an access token was returned as ID token")
        claims = CodeIDToken(
            dict(verified.claims),
            verified.header,
            {
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
                "exp": {"essential": True},
                "sub": {"essential": True},
            },
            {
                "nonce": pending.nonce,
                "client_id": provider.client_id,
                "access_token": token.get("access_token"),
            },
        )
        try:
            claims.validate(now=int(self.clock()), leeway=self.leeway)
        except ClaimError as error:
            reason = "nonce mismatch" if error.claim == "nonce" else claim_error_reason(error)
            raise LoginFailed(f"ID token refused: {reason}") from None
        except JoseError:
            raise LoginFailed("ID token refused") from None
        # Belt and braces: the nonce must be present and equal (constant-time compare).
        if not hmac.compare_digest(str(claims.get("nonce", "")), pending.nonce):
            raise LoginFailed("ID token refused: nonce mismatch")
        return dict(claims)

    async def end_session_url(
        self, issuer: str, *, client_id: str, post_logout_redirect_uri: str
    ) -> str | None:
        """The provider's RP-initiated logout URL, if it has one (``None`` otherwise)."""
        try:
            metadata = await self.directory.metadata(issuer)
        except ProviderError:
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str) or not self.directory.allows(endpoint):
            return None
        query = httpx.QueryParams(
            {"client_id": client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        )
        return str(httpx.URL(endpoint).copy_merge_params(query))


def _pending_map(session: MutableMapping[str, Any]) -> dict[str, Any]:
    value = session.get(SESSION_KEY)
    return dict(value) if isinstance(value, Mapping) else {}


def _store_pending(session: MutableMapping[str, Any], pending: PendingLogin, *, now: float) -> None:
    logins = {
        state: data
        for state, data in _pending_map(session).items()
        if isinstance(data, Mapping)
        and now - float(data.get("created_at", 0)) <= PENDING_TTL_SECONDS
    }
    logins[pending.state] = pending.to_session()
    newest = sorted(logins.items(), key=lambda item: float(item[1]["created_at"]))[-MAX_PENDING:]
    # Assign a new dict (not mutate in place) so the session backend sees the change.
    session[SESSION_KEY] = dict(newest)


def pending_login(session: Mapping[str, Any], state: str | None) -> PendingLogin | None:
    """The login in progress for ``state``, without consuming it (to pick the provider)."""
    value = session.get(SESSION_KEY)
    if not state or not isinstance(value, Mapping):
        return None
    data = value.get(state)
    if not isinstance(data, Mapping):
        return None
    try:
        return PendingLogin.from_session(state, data)
    except (KeyError, TypeError, ValueError):
        return None


def pop_pending_login(session: MutableMapping[str, Any], state: str | None) -> PendingLogin | None:
    """The login in progress for ``state``, removed from the session (a state works once)."""
    pending = pending_login(session, state)
    if pending is not None:
        logins = _pending_map(session)
        logins.pop(pending.state, None)
        session[SESSION_KEY] = logins
    return pending
