"""A development identity provider, mounted at ``/dev-idp`` — for the demo and tests ONLY.

DESIGN.md §7/§8: the embedded demo ships a development provider so that the real login code
(:mod:`infra.adapters.auth.oidc`: code flow, PKCE, state, nonce, RFC 9207 ``iss``) runs there too.
It
speaks just enough OpenID Connect for that: discovery, JWKS, ``/authorize`` (pick a demo user,
no password), ``/token`` (authorization code with PKCE S256, client_secret_basic or
client_secret_post; ID token and an RFC 9068 JWT access token) and ``/userinfo``.

Anyone who can reach it can log in as any demo user: :mod:`infra.config.settings` refuses it outside
the embedded database unless explicitly forced, and every page it shows says so in Dutch.
Authorization codes live in memory (one process); its RSA key is generated at start-up, so
tokens do not survive a restart.

Its own POST (the user-choice form, the token endpoint) carry no CSRF token: the router sets
``opt={"exclude_from_csrf": True}``, which Litestar's CSRF middleware honours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from litestar import Litestar, MediaType, Request, Response, Router, get, post
from litestar.response import Redirect

from infra.bootstrap.demo import DEMO_SCHOOLS
from infra.config.settings import Settings
from services.access.roles import ROLE_LABELS_NL, Role
from tenants.login import ClaimRule, LoginConfig, validate_login
from tenants.registry import slugify

#: Where the lead mounts the router (the issuer is ``<public_url>`` + this).
DEV_IDP_PATH = "/dev-idp"
CODE_TTL_SECONDS = 60
REQUEST_TTL_SECONDS = 600
ID_TOKEN_TTL_SECONDS = 300
DEV_USER_GRANT = "urn:vangnet:params:grant-type:dev-user"
#: The development provider's one client (the web app itself).
DEV_CLIENT_ID = "vangnet-dev"
#: The school roles demo users get (one user per role per school).
DEMO_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.OPERATOR)
BANNER = "Ontwikkel-inlogserver — alleen voor ontwikkeling, niet voor echte gegevens"


@dataclass(frozen=True)
class DevUser:
    """A demo user. ``label`` is shown on the choice page (e.g. the role in Dutch)."""

    sub: str
    name: str
    email: str
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class _AuthRequest:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str
    scope: str
    expires_at: float


@dataclass(frozen=True)
class _CodeGrant:
    request: _AuthRequest
    sub: str
    expires_at: float


class _OAuthError(Exception):
    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


class DevIdentityProvider:
    """The development provider: one client (``client_id``/``client_secret``), fixed users.

    ``issuer`` is ``<public_url>/dev-idp``. ``redirect_uris`` default to
    ``<public_url>/auth/callback``. Access tokens carry ``aud = api_audience``.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        api_audience: str,
        users: Iterable[DevUser],
        *,
        redirect_uris: Sequence[str] = (),
        access_token_ttl: int = 3600,
        signing_key: RSAKey | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_audience = api_audience or client_id
        self.users = {user.sub: user for user in users}
        base = self.issuer.removesuffix(DEV_IDP_PATH)
        self.redirect_uris = tuple(redirect_uris) or (base + "/auth/callback",)
        self.access_token_ttl = access_token_ttl
        self.key = signing_key or RSAKey.generate_key(
            2048, parameters={"kid": "dev-" + secrets.token_hex(4), "use": "sig", "alg": "RS256"}
        )
        self.clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, _AuthRequest] = {}
        self._codes: dict[str, _CodeGrant] = {}

    def __repr__(self) -> str:  # never show the secret
        return f"DevIdentityProvider(issuer={self.issuer!r}, client_id={self.client_id!r})"

    # --- documents ------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The discovery document."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", DEV_USER_GRANT],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "groups"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "name",
                "email",
                "email_verified",
                "groups",
                "roles",
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        return dict(KeySet([self.key]).as_dict(private=False))

    # --- tokens -------------------------------------------------------------------------------

    def _user_claims(self, user: DevUser) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "name": user.name,
            "email": user.email,
            "email_verified": True,
            "groups": list(user.groups),
        }
        if user.roles:
            claims["roles"] = list(user.roles)
        return claims

    def mint_access_token(
        self,
        sub: str,
        *,
        audience: str | None = None,
        expires_in: int | None = None,
        scope: str = "openid profile email",
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed RFC 9068 access token for demo user ``sub`` (``KeyError`` if unknown).

        For benchmarks and tests that call the API without a browser.
        """
        user = self.users[sub]
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.sub,
            "aud": audience or self.api_audience,
            "client_id": self.client_id,
            "iat": now,
            "exp": now + (expires_in or self.access_token_ttl),
            "jti": secrets.token_urlsafe(16),
            "scope": scope,
            **self._user_claims(user),
            **dict(extra_claims or {}),
        }
        header = {"alg": "RS256", "typ": "at+jwt", "kid": self.key.kid}
        return jwt.encode(header, claims, self.key, algorithms=["RS256"])

    def mint_id_token(self, sub: str, *, nonce: str | None, access_token: str | None = None) -> str:
        """A signed ID token for demo user ``sub`` (``aud`` = the client id)."""
        user = self.users[sub]
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.sub,
            "aud": self.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + ID_TOKEN_TTL_SECONDS,
            **self._user_claims(user),
        }
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            digest = hashlib.sha256(access_token.encode("ascii")).digest()
            claims["at_hash"] = _b64url(digest[: len(digest) // 2])
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key.kid}
        return jwt.encode(header, claims, self.key, algorithms=["RS256"])

    # --- authorization -------------------------------------------------------------------------

    def _check_client(self, client_id: str, redirect_uri: str) -> None:
        if client_id != self.client_id or redirect_uri not in self.redirect_uris:
            raise _OAuthError("invalid_client_or_redirect_uri")

    def start_authorization(self, params: Mapping[str, str]) -> _AuthRequest:
        """Validate an authorization request (``_OAuthError`` says why not)."""
        self._check_client(params.get("client_id", ""), params.get("redirect_uri", ""))
        if params.get("response_type") != "code":
            raise _OAuthError("unsupported_response_type")
        if "openid" not in params.get("scope", "").split():
            raise _OAuthError("invalid_scope")
        if not params.get("state") or not params.get("nonce"):
            raise _OAuthError("invalid_request")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            raise _OAuthError("invalid_request")
        return _AuthRequest(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            state=params["state"],
            nonce=params["nonce"],
            code_challenge=challenge,
            scope=params.get("scope", "openid"),
            expires_at=self.clock() + REQUEST_TTL_SECONDS,
        )

    def _remember_request(self, request: _AuthRequest) -> str:
        request_id = secrets.token_urlsafe(24)
        now = self.clock()
        with self._lock:
            self._requests = {k: v for k, v in self._requests.items() if v.expires_at > now}
            self._requests[request_id] = request
        return request_id

    def _take_request(self, request_id: str) -> _AuthRequest | None:
        with self._lock:
            request = self._requests.pop(request_id, None)
        if request is None or request.expires_at <= self.clock():
            return None
        return request

    def issue_code(self, request: _AuthRequest, sub: str) -> str:
        """A one-time code for ``sub``, valid for 60 seconds; returns the redirect URL."""
        code = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._codes = {k: v for k, v in self._codes.items() if v.expires_at > now}
            self._codes[code] = _CodeGrant(request, sub, now + CODE_TTL_SECONDS)
        query = httpx.QueryParams({"code": code, "state": request.state, "iss": self.issuer})
        return str(httpx.URL(request.redirect_uri).copy_merge_params(query))

    def error_redirect(self, request: _AuthRequest, error: str) -> str:
        """The redirect URL carrying an OAuth error back to the client."""
        query = httpx.QueryParams({"error": error, "state": request.state, "iss": self.issuer})
        return str(httpx.URL(request.redirect_uri).copy_merge_params(query))

    # --- token endpoint ------------------------------------------------------------------------

    def _authenticate_client(self, form: Mapping[str, str], authorization: str | None) -> None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                raise _OAuthError("invalid_client", 401) from None
            basic_id, _, basic_secret = decoded.partition(":")
            # RFC 6749 §2.3.1 form-encodes both; Authlib does not: accept either.
            client_id, secret = unquote(basic_id), unquote(basic_secret)
        if (
            client_id != self.client_id
            or secret is None
            or not hmac.compare_digest(secret.encode(), self.client_secret.encode())
        ):
            raise _OAuthError("invalid_client", 401)

    def token_response(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        """The token endpoint's answer (``_OAuthError`` for an error response)."""
        self._authenticate_client(form, authorization)
        grant_type = form.get("grant_type")
        if grant_type == DEV_USER_GRANT:
            # Development shortcut for benchmarks: an access token for a demo user, no browser.
            sub = form.get("sub", "")
            if sub not in self.users:
                raise _OAuthError("invalid_grant")
            return self._tokens(sub, nonce=None, with_id_token=False)
        if grant_type != "authorization_code":
            raise _OAuthError("unsupported_grant_type")
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # one use, even if refused
        if grant is None or grant.expires_at <= self.clock():
            raise _OAuthError("invalid_grant")
        if grant.request.client_id != self.client_id or form.get("redirect_uri") != (
            grant.request.redirect_uri
        ):
            raise _OAuthError("invalid_grant")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(
            s256(verifier), grant.request.code_challenge
        ):
            raise _OAuthError("invalid_grant")
        return self._tokens(grant.sub, nonce=grant.request.nonce, with_id_token=True)

    def _tokens(self, sub: str, *, nonce: str | None, with_id_token: bool) -> dict[str, Any]:
        access_token = self.mint_access_token(sub)
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.access_token_ttl,
        }
        if with_id_token:
            body["id_token"] = self.mint_id_token(sub, nonce=nonce, access_token=access_token)
        return body

    def userinfo(self, authorization: str | None) -> dict[str, Any]:
        """The user's claims for a valid access token of ours."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _OAuthError("invalid_token", 401)
        try:
            token = jwt.decode(authorization[7:].strip(), self.key, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                now=int(self.clock()),
                iss={"essential": True, "value": self.issuer},
                exp={"essential": True},
            ).validate(token.claims)
        except Exception:  # any failure means the same to the client: not a valid token
            raise _OAuthError("invalid_token", 401) from None
        user = self.users.get(str(token.claims.get("sub")))
        if user is None or str(token.header.get("typ", "")).lower() != "at+jwt":
            raise _OAuthError("invalid_token", 401)
        return {"sub": user.sub, **self._user_claims(user)}

    # --- pages ---------------------------------------------------------------------------------

    def choice_page(self, request_id: str) -> str:
        """The Dutch "choose a demo user" page."""
        buttons = []
        for user in self.users.values():  # in the order given (e.g. grouped by school)
            detail = user.label or ", ".join(user.groups + user.roles) or "geen groepen"
            buttons.append(
                f'<li><form method="post" action="{DEV_IDP_PATH}/authorize">'
                f'<input type="hidden" name="request" value="{html.escape(request_id)}">'
                f'<input type="hidden" name="sub" value="{html.escape(user.sub)}">'
                f'<button type="submit"><strong>{html.escape(user.name)}</strong> '
                f"— {html.escape(detail)}</button></form></li>"
            )
        body = (
            "<h1>Kies een gebruiker</h1>"
            "<p>Je logt in zonder wachtwoord, als een van deze demogebruikers.</p>"
            f"<ul>{''.join(buttons)}</ul>"
        )
        return _page("Inloggen (ontwikkeling)", body)

    def router(self) -> Router:
        """The Litestar router to mount (its path is :data:`DEV_IDP_PATH`)."""
        return _build_router(self)

    def local_transport(
        self, fallback: httpx.AsyncBaseTransport | None = None
    ) -> httpx.AsyncBaseTransport:
        """An httpx transport for the app's own calls to this provider (discovery, JWKS,
        token): requests under the issuer are answered in-process, anything else goes to
        ``fallback`` (default: the network).

        The app need not reach itself over HTTP at ``public_url`` (which fails when a proxy or
        a container's port mapping sits in between), and the calls skip the app's middleware.
        """
        app: Any = Litestar(route_handlers=[self.router()])  # httpx types ASGI apps narrowly
        local = httpx.ASGITransport(app=app)
        return _PrefixTransport(self.issuer + "/", local, fallback or httpx.AsyncHTTPTransport())


class _PrefixTransport(httpx.AsyncBaseTransport):
    """Sends requests whose URL starts with ``prefix`` to ``local``, the rest to ``fallback``."""

    def __init__(
        self,
        prefix: str,
        local: httpx.AsyncBaseTransport,
        fallback: httpx.AsyncBaseTransport,
    ) -> None:
        self.prefix = prefix
        self.local = local
        self.fallback = fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Route by URL prefix."""
        if str(request.url).startswith(self.prefix):
            return await self.local.handle_async_request(request)
        return await self.fallback.handle_async_request(request)

    async def aclose(self) -> None:
        """Close both transports."""
        await self.local.aclose()
        await self.fallback.aclose()


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} — {html.escape(BANNER)}</title>"
        '<meta name="robots" content="noindex"></head><body>'
        f'<p role="alert"><strong>{html.escape(BANNER)}</strong></p>'
        f"{body}</body></html>"
    )


_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _html(content: str, status: int = 200) -> Response[str]:
    return Response(content, media_type=MediaType.HTML, status_code=status, headers=_NO_STORE)


def _json(content: dict[str, Any], status: int = 200) -> Response[dict[str, Any]]:
    return Response(content, media_type=MediaType.JSON, status_code=status, headers=_NO_STORE)


def _error_page(message: str) -> Response[str]:
    return _html(_page("Fout", f"<h1>Inloggen lukt niet</h1><p>{html.escape(message)}</p>"), 400)


def _build_router(idp: DevIdentityProvider) -> Router:
    @get("/.well-known/openid-configuration", sync_to_thread=False)
    def discovery() -> Response[dict[str, Any]]:
        """OpenID Connect discovery document."""
        return _json(idp.metadata())

    @get("/jwks", sync_to_thread=False)
    def jwks() -> Response[dict[str, Any]]:
        """The public signing key."""
        return _json(idp.jwks())

    @get("/authorize", sync_to_thread=False)
    def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        """Authorization request: straight back with a code for ``login_hint``, else a page."""
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        try:
            auth_request = idp.start_authorization(params)
        except _OAuthError as error:
            if error.error == "invalid_client_or_redirect_uri":
                # Never redirect to an unregistered URI: show the error here instead.
                return _error_page("Onbekende client of redirect_uri.")
            if params.get("state"):
                fake = _AuthRequest("", params["redirect_uri"], params["state"], "", "", "", 0)
                return Redirect(idp.error_redirect(fake, error.error))
            return _error_page(f"Ongeldig verzoek ({error.error}).")
        hint = params.get("login_hint")
        if hint and hint in idp.users:
            return Redirect(idp.issue_code(auth_request, hint))
        return _html(idp.choice_page(idp._remember_request(auth_request)))

    @post("/authorize")
    async def choose(request: Request[Any, Any, Any]) -> Response[Any]:
        """The choice page's form: back to the client with a code for the chosen user."""
        form = await request.form()
        auth_request = idp._take_request(str(form.get("request", "")))
        if auth_request is None:
            return _error_page("Dit inlogverzoek is verlopen. Begin opnieuw bij Vangnet.")
        sub = str(form.get("sub", ""))
        if sub not in idp.users:
            return Redirect(idp.error_redirect(auth_request, "access_denied"), status_code=303)
        return Redirect(idp.issue_code(auth_request, sub), status_code=303)

    @post("/token")
    async def token(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Token endpoint (code + PKCE, or the development user grant)."""
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            return _json(idp.token_response(fields, request.headers.get("authorization")))
        except _OAuthError as error:
            return _json({"error": error.error}, error.status)

    @get("/userinfo", sync_to_thread=False)
    def userinfo(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """The user's claims for one of our access tokens."""
        try:
            return _json(idp.userinfo(request.headers.get("authorization")))
        except _OAuthError as error:
            return _json({"error": error.error}, error.status)

    return Router(
        path=DEV_IDP_PATH,
        route_handlers=[discovery, jwks, authorize, choose, token, userinfo],
        opt={"exclude_from_csrf": True, "public": True},
        include_in_schema=False,
    )


# --- wiring helpers for the demo and the app ----------------------------------------------------


def dev_issuer(settings: Settings) -> str:
    """The development provider's issuer: ``<public_url>/dev-idp``."""
    return settings.public_url.rstrip("/") + DEV_IDP_PATH


def dev_client_secret(settings: Settings) -> str:
    """The development client's secret, derived from the secret key (stable across restarts,
    so a benchmark with the same settings can use the token endpoint)."""
    return hmac.new(settings.secret_key, b"vangnet dev-idp client secret", "sha256").hexdigest()


def demo_group(slug: str, role: Role) -> str:
    """The ``groups`` value that makes a demo user ``role`` at school ``slug``."""
    return f"{slug}/{role.value}"


def demo_user_id(slug: str, role: Role) -> str:
    """The ``sub`` of a demo user: the same id the demo data uses
    (``infra.bootstrap.demo.demo_actor``)."""
    return f"demo-{slug}-{role.value}"


def demo_users(
    schools: Iterable[tuple[str, str]], *, operator_group: str | None = None
) -> list[DevUser]:
    """One demo user per school role per school (``schools``: (slug, name) pairs), plus a
    platform operator when ``operator_group`` is given. Fictitious names, ``.example`` mail."""
    users: list[DevUser] = []
    for slug, name in schools:
        for role in DEMO_ROLES:
            label = ROLE_LABELS_NL[role]
            users.append(
                DevUser(
                    sub=demo_user_id(slug, role),
                    name=f"Demo {label.lower()} ({name})",
                    email=f"{role.value.replace('_', '-')}@{slug}.example",
                    groups=(demo_group(slug, role),),
                    label=f"{label} — {name}",
                )
            )
    if operator_group:
        users.append(
            DevUser(
                sub="demo-operator",
                name="Demo platformbeheerder",
                email="beheer@vangnet.example",
                groups=(operator_group,),
                label="Platformbeheerder (alle scholen, geen dossiers)",
            )
        )
    return users


def demo_login_config(settings: Settings, slug: str) -> LoginConfig:
    """A school's login configuration against the development provider: each demo group maps
    to its role (``group:<slug>/<role>=<role>``), so a demo user of one school has no role at
    another."""
    rules = [ClaimRule("group", demo_group(slug, role), role) for role in DEMO_ROLES]
    return validate_login(
        issuer=dev_issuer(settings),
        client_id=DEV_CLIENT_ID,
        secret_ref="dev:",  # noqa: S106 - a reference to the dev provider's secret, not a secret
        policy=settings.login_policy,
        rules=rules,
    )


def dev_identity_provider(settings: Settings, users: Iterable[DevUser]) -> DevIdentityProvider:
    """The development provider for this app: issuer ``<public_url>/dev-idp``, client
    :data:`DEV_CLIENT_ID` (access tokens have that as audience too), redirect URI
    ``<public_url>/auth/callback``. Mount ``idp.router()`` and set ``app.state.dev_idp = idp``.
    """
    return DevIdentityProvider(
        issuer=dev_issuer(settings),
        client_id=DEV_CLIENT_ID,
        client_secret=dev_client_secret(settings),
        api_audience=DEV_CLIENT_ID,
        users=users,
    )


def default_demo_users(settings: Settings) -> list[DevUser]:
    """The demo users for the demo schools (``infra.bootstrap.demo.DEMO_SCHOOLS``) and an
    operator."""
    schools = [(slugify(name), name) for name in DEMO_SCHOOLS]
    return demo_users(schools, operator_group=settings.operator_group)


_SHARED: dict[str, DevIdentityProvider] = {}
_SHARED_LOCK = threading.Lock()


def shared_dev_identity_provider(settings: Settings) -> DevIdentityProvider:
    """This process's development provider with the demo users, one per issuer.

    The mounted router, ``app.state.dev_idp`` and a benchmark's :meth:`mint_access_token` must
    use the same instance: its signing key exists only in it.
    """
    with _SHARED_LOCK:
        idp = _SHARED.get(dev_issuer(settings))
        if idp is None:
            idp = dev_identity_provider(settings, default_demo_users(settings))
            _SHARED[idp.issuer] = idp
        return idp


def dev_idp_router(settings: Settings) -> Router:
    """The router of :func:`shared_dev_identity_provider` (mount it at the app's root)."""
    return shared_dev_identity_provider(settings).router()
