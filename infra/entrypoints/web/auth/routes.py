"""Login pages and the OpenID Connect callback (Litestar controller).

Paths: ``GET /login`` (choose your school), ``GET /login/{slug}`` and ``GET /login/operator``
(off to the provider), ``GET /auth/callback`` (back from it), ``POST /logout``, ``POST /rol``
(act in another of your roles). Collaborators come from ``request.app.state``: ``settings``
(:class:`~infra.config.settings.Settings`), ``registry`` (:class:`~tenants.registry.Registry`, sync:
called in a thread), ``oidc`` (:class:`~infra.adapters.auth.oidc.OidcClients`) and ``dev_idp``
(:class:`~infra.entrypoints.web.auth.devidp.DevIdentityProvider` or ``None``).

Session keys: ``session["oidc"]`` (logins in progress, :mod:`infra.adapters.auth.oidc`) and
``session["principal"]`` (:meth:`Principal.to_session`). At login the session gets a new id
(:func:`infra.adapters.auth.sessions.rotate_session`), so the app must use
:class:`~infra.adapters.auth.sessions.RotatingSessionConfig`.

Logs name the school's slug and a hash of (issuer, sub) only: never names or e-mail addresses.
A provider the deployment's policy does not allow (``Settings.login_policy``: a stored issuer or
secret reference that no longer passes) answers a Dutch page and logs the school's slug, the
field and the kind of refusal; the secret is never read, nothing is sent to the provider.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from infra.adapters.auth.oidc import (
    LoginFailed,
    OidcClients,
    OidcProvider,
    pending_login,
    safe_next,
)
from infra.adapters.auth.principal import Principal
from infra.adapters.auth.resolve import principal_for_operator, principal_for_school, subject_hash
from infra.adapters.auth.secrets import SecretError, resolve_secret
from infra.adapters.auth.sessions import rotate_session
from infra.config.settings import Settings
from infra.entrypoints.web.auth.devidp import dev_client_secret
from infra.entrypoints.web.auth.gate import PeopleGate
from services.access.roles import Role
from services.people.directory import PersonInactive
from services.shared.errors import NotFound
from tenants.login import InvalidLoginConfig
from tenants.registry import Registry, School

logger = logging.getLogger("vangnet.auth")

#: Session key of the logged-in principal.
PRINCIPAL_KEY = "principal"
CALLBACK_PATH = "/auth/callback"
OPERATOR_TARGET = "operator"
MAX_LOGIN_HINT = 256

AnyRequest = Request[Any, Any, Any]
#: The ``next`` query parameter: where to go after login (checked by ``safe_next``).
NextQuery = Annotated[str | None, QueryParameter(name="next")]


def _settings(request: AnyRequest) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _registry(request: AnyRequest) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _oidc(request: AnyRequest) -> OidcClients:
    oidc: OidcClients = request.app.state.oidc
    return oidc


def _people(request: AnyRequest) -> PeopleGate:
    people: PeopleGate = request.app.state.people
    return people


def _dev_secret(request: AnyRequest) -> str | None:
    """The development provider's client secret when it runs (what ``dev:`` refers to)."""
    dev_idp = getattr(request.app.state, "dev_idp", None)
    if dev_idp is not None:
        return str(dev_idp.client_secret)
    settings = _settings(request)
    return dev_client_secret(settings) if settings.dev_idp else None


def callback_url(settings: Settings) -> str:
    """The redirect URI registered with every provider: ``<public_url>/auth/callback``."""
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def _error(title: str, message: str, status: int) -> Template:
    return Template(
        template_name="auth/error.html",
        context={"title": title, "message": message},
        status_code=status,
    )


def _provider_unavailable() -> Template:
    return _error(
        "Inloggen lukt nu niet",
        "De inlogdienst is op dit moment niet bereikbaar. Probeer het over een paar minuten "
        "opnieuw.",
        502,
    )


def _misconfigured() -> Template:
    return _error(
        "Inloggen is niet goed ingesteld",
        "Het inloggen is voor deze omgeving niet goed ingesteld. Neem contact op met de "
        "beheerder van Vangnet.",
        500,
    )


class LoginRefused(Exception):
    """The deployment's policy refuses this provider (its issuer or its secret reference), or
    the secret cannot be read. ``field`` and ``reason`` are safe to log; nothing else is."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _checked_provider(
    request: AnyRequest,
    *,
    issuer: str,
    client_id: str,
    secret_ref: str,
    scopes: tuple[str, ...] | None = None,
    fields: tuple[str, str] = ("issuer", "secret_ref"),
) -> OidcProvider:
    """The provider, once the policy allowed its issuer and its secret was read (in that order:
    no secret is read for a provider that may not be called)."""
    settings = _settings(request)
    issuer_field, secret_field = fields
    try:
        settings.login_policy.check_issuer(issuer, field=issuer_field)
    except InvalidLoginConfig as error:
        raise LoginRefused(issuer_field, error.reason or "malformed") from None
    try:
        secret = resolve_secret(
            secret_ref, settings, dev_secret=_dev_secret(request), field=secret_field
        )
    except SecretError as error:
        raise LoginRefused(secret_field, error.reason) from None
    if scopes is None:
        return OidcProvider(issuer, client_id, secret)
    return OidcProvider(issuer, client_id, secret, scopes)


async def _school_provider(request: AnyRequest, slug: str) -> tuple[School, OidcProvider]:
    """The school and its provider (``NotFound`` when unknown, ``LookupError`` without login,
    :class:`LoginRefused` when the policy refuses it or its secret cannot be read)."""
    school = await anyio.to_thread.run_sync(_registry(request).school_by_slug, slug)
    login = school.login
    if login is None:
        raise LookupError(slug)
    provider = _checked_provider(
        request,
        issuer=login.issuer,
        client_id=login.client_id,
        secret_ref=login.secret_ref,
        scopes=login.scopes,
    )
    return school, provider


def _operator_provider(request: AnyRequest) -> OidcProvider | None:
    settings = _settings(request)
    if not (settings.operator_issuer and settings.operator_client_id):
        return None
    return _checked_provider(
        request,
        issuer=settings.operator_issuer,
        client_id=settings.operator_client_id,
        secret_ref=settings.operator_secret_ref or "",
        fields=("VANGNET_OPERATOR_ISSUER", "VANGNET_OPERATOR_SECRET_REF"),
    )


class AuthController(Controller):
    """Login, callback, logout and role switch (pages; Dutch)."""

    path = ""
    include_in_schema = False
    # No login needed (this is the login); the role switch reads the session's principal itself.
    opt = {"public": True}

    @get("/login")
    async def login_page(
        self,
        request: AnyRequest,
        school: FromQuery[str | None] = None,
        next_path: NextQuery = None,
    ) -> Response[Any]:
        """Choose your school; with ``?school=slug`` (the form's submit) go log in there."""
        target = safe_next(next_path)
        if school:
            query = "" if target == "/" else "?" + urlencode({"next": target})
            return Redirect(f"/login/{quote(school, safe='')}{query}")
        schools = await anyio.to_thread.run_sync(_registry(request).schools_with_login)
        settings = _settings(request)
        return Template(
            template_name="auth/login.html",
            context={
                "schools": sorted(
                    ({"slug": s.slug, "name": s.name} for s in schools),
                    key=lambda s: s["name"].casefold(),
                ),
                "operator_login": bool(settings.operator_issuer and settings.operator_client_id),
                "next_path": target,
            },
        )

    @get("/login/operator")
    async def login_operator(
        self,
        request: AnyRequest,
        login_hint: FromQuery[str | None] = None,
        next_path: NextQuery = None,
    ) -> Response[Any]:
        """Off to the platform operator's provider."""
        try:
            provider = _operator_provider(request)
        except LoginRefused as error:
            _log_refused(OPERATOR_TARGET, error)
            return _misconfigured()
        if provider is None:
            return _error("Niet gevonden", "Inloggen als platformbeheerder is niet ingesteld.", 404)
        return await self._begin(
            request, provider, {"target": OPERATOR_TARGET}, login_hint, next_path
        )

    @get("/login/{slug:str}")
    async def login_school(
        self,
        request: AnyRequest,
        slug: FromPath[str],
        login_hint: FromQuery[str | None] = None,
        next_path: NextQuery = None,
    ) -> Response[Any]:
        """Off to the school's provider."""
        try:
            _school, provider = await _school_provider(request, slug)
        except NotFound:
            return _error("Niet gevonden", "Deze school is niet bekend in Vangnet.", 404)
        except LookupError:
            return _error(
                "Inloggen nog niet mogelijk",
                "Voor deze school is inloggen nog niet ingesteld.",
                404,
            )
        except LoginRefused as error:
            _log_refused(f"school {slug}", error)
            return _misconfigured()
        context = {"target": "school", "school": slug}
        return await self._begin(request, provider, context, login_hint, next_path)

    async def _begin(
        self,
        request: AnyRequest,
        provider: OidcProvider,
        context: dict[str, str],
        login_hint: str | None,
        next_path: str | None,
    ) -> Response[Any]:
        hint = login_hint if login_hint and len(login_hint) <= MAX_LOGIN_HINT else None
        try:
            url = await _oidc(request).begin(
                request.session,
                provider=provider,
                redirect_uri=callback_url(_settings(request)),
                login_hint=hint,
                next_path=safe_next(next_path),
                context=context,
            )
        except LoginFailed as error:
            logger.warning("login could not start (%s): %s", _who(context), error.reason)
            return _provider_unavailable()
        return Redirect(url)

    @get(CALLBACK_PATH)
    async def callback(self, request: AnyRequest) -> Response[Any]:
        """Back from the provider: verify, map the claims, start a fresh session."""
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        pending = pending_login(request.session, params.get("state"))
        if pending is None:
            logger.info("login callback with an unknown or used state")
            return _error(
                "Inloggen verlopen",
                "Dit inlogverzoek is verlopen of al gebruikt. Log opnieuw in.",
                400,
            )
        context = pending.context
        school: School | None = None
        try:
            if context.get("target") == OPERATOR_TARGET:
                provider = _operator_provider(request)
                if provider is None:
                    raise LookupError(OPERATOR_TARGET)
            else:
                school, provider = await _school_provider(request, context.get("school", ""))
        except (NotFound, LookupError):
            return _error("Niet gevonden", "Inloggen is hier niet (meer) ingesteld.", 404)
        except LoginRefused as error:
            _log_refused(_who(context), error)
            return _misconfigured()

        try:
            claims, next_path = await _oidc(request).complete(
                request.session,
                provider=provider,
                params=params,
                redirect_uri=callback_url(_settings(request)),
            )
        except LoginFailed as error:
            logger.warning("login failed (%s): %s", _who(context), error.reason)
            if error.reason.startswith("provider unavailable"):
                return _provider_unavailable()
            return _error(
                "Inloggen mislukt",
                "Het inloggen kon niet worden afgerond. Probeer het opnieuw.",
                400,
            )

        principal: Principal | None
        if school is None:
            principal = principal_for_operator(_settings(request), claims)
        else:
            principal = principal_for_school(school, provider.issuer, claims)
        if principal is not None and school is not None:
            # The school's staff directory: the person is found or created, and refreshed.
            try:
                principal = await _people(request).admit_async(school, principal, claims)
            except PersonInactive:
                logger.warning(
                    "login refused, person deactivated (%s, subject %s)",
                    _who(context),
                    subject_hash(provider.issuer, str(claims.get("sub", ""))),
                )
                return Template(
                    template_name="auth/no_access.html",
                    context={"school_name": school.name, "deactivated": True},
                    status_code=403,
                )
        if principal is None:
            logger.warning(
                "login refused, no role maps (%s, subject %s)",
                _who(context),
                subject_hash(provider.issuer, str(claims.get("sub", ""))),
            )
            return Template(
                template_name="auth/no_access.html",
                context={"school_name": school.name if school else None},
                status_code=403,
            )
        # A new session id at login: a session id planted before login is worthless after it.
        rotate_session(request, {PRINCIPAL_KEY: principal.to_session()})
        logger.info(
            "login (%s, subject %s, roles %s)",
            _who(context),
            subject_hash(principal.issuer, principal.subject or principal.user_id),
            ",".join(principal.roles),
        )
        return Redirect(safe_next(next_path))

    @post("/logout")
    async def logout(self, request: AnyRequest) -> Response[Any]:
        """End the Vangnet session (the provider's own session is left alone on purpose: a
        teacher logging out of Vangnet should not be logged out of the school's mail)."""
        request.clear_session()
        return Redirect("/login", status_code=303)

    @post("/rol")
    async def switch_role(self, request: AnyRequest) -> Response[Any]:
        """Act in another of your own roles (form field ``role``; optional ``next``)."""
        data = request.session.get(PRINCIPAL_KEY)
        if not isinstance(data, dict):
            return Redirect("/login", status_code=303)
        principal = Principal.from_session(data)
        form = await request.form()
        try:
            role = Role(str(form.get("role", "")))
            switched = principal.acting_as(role)
        except ValueError:
            return _error("Onbekende rol", "Deze rol heeft u niet.", 400)
        request.session[PRINCIPAL_KEY] = switched.to_session()
        logger.info(
            "role switched (%s, subject %s, role %s)",
            principal.school_slug or OPERATOR_TARGET,
            subject_hash(principal.issuer, principal.subject or principal.user_id),
            role,
        )
        return Redirect(safe_next(str(form.get("next", "") or "/")), status_code=303)


def _log_refused(who: str, error: LoginRefused) -> None:
    logger.error(
        "login refused (%s): %s not allowed or unreadable (%s)", who, error.field, error.reason
    )


def _who(context: dict[str, str]) -> str:
    if context.get("target") == OPERATOR_TARGET:
        return OPERATOR_TARGET
    return "school " + context.get("school", "?")


#: What the app mounts.
LOGIN_ROUTES = [AuthController]
