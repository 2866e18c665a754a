"""The whole login flow between our OIDC client and our development provider, in one app.

The app here mounts the development provider (``/dev-idp``), the login routes and a probe route,
with the same kinds of middleware the real app uses (server-side sessions with rotation, CSRF).
The "browser" is an httpx client on the app's ASGI interface; the app's own back-channel calls to
the provider (discovery, JWKS, token) go through a second ASGI transport to the same app. No
network, no browser. The registry is in memory except in the PostgreSQL test at the end.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from html import unescape
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from infra.adapters.auth.discovery import ProviderDirectory
from infra.adapters.auth.oidc import LoginFailed, OidcClients, OidcProvider
from infra.adapters.auth.resolve import principal_from_bearer
from infra.adapters.auth.sessions import RotatingSessionConfig
from infra.adapters.auth.tokens import BearerValidator, InvalidToken
from infra.config.settings import Settings
from infra.entrypoints.web.auth.devidp import (
    DEV_CLIENT_ID,
    DEV_USER_GRANT,
    DevUser,
    demo_login_config,
    demo_user_id,
    demo_users,
    dev_identity_provider,
)
from infra.entrypoints.web.auth.routes import LOGIN_ROUTES
from infra.entrypoints.web.csrf import SessionCsrfMiddleware, csrf_token_for
from services.access.roles import Role
from services.shared.actor import SYSTEM, acting_as
from tenants.registry import Registry

T = TypeVar("T")

BASE = "http://127.0.0.1:8000"
ISSUER = BASE + "/dev-idp"
CALLBACK = BASE + "/auth/callback"
SESSION_COOKIE = "vangnet_session"
TEMPLATES = Path(__file__).resolve().parents[2] / "infra" / "entrypoints" / "web" / "templates"
CONTACT = demo_user_id("school-a", Role.CONTACT_PERSON)
COORDINATOR = demo_user_id("school-a", Role.COORDINATOR)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=None,
        data_dir=tmp_path,
        master_key=bytes(32),
        public_url=BASE,
        secret_key=b"k" * 32,
        dev_idp=True,
        operator_issuer=ISSUER,
        operator_client_id=DEV_CLIENT_ID,
        operator_secret_ref="dev:",
    )


class _NoDirectory:
    """The login flow without a staff directory (this harness has no database): the principal
    as the claims make it. The directory's part of a login: test_people_login.py."""

    async def admit_async(self, school: Any, principal: Any, claims: Any) -> Any:
        return principal


class Harness:
    """The app, its collaborators and a cookie-keeping "browser"."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = make_settings(tmp_path)
        self.registry = Registry(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        with acting_as(SYSTEM):
            board = self.registry.register_board("Bestuur", "bestuur")
            school_a = self.registry.register_school(board.id, "School A", "school-a", "w")
            self.registry.register_school(board.id, "School B", "school-b", "w")
        self.registry.configure_login(
            school_a.id,
            demo_login_config(self.settings, "school-a"),
            policy=self.settings.login_policy,
        )
        self.school_a = self.registry.school(school_a.id)
        users = [
            *demo_users([("school-a", "School A")], operator_group="vangnet-operators"),
            DevUser("nobody", "Zonder Groep", "nobody@elders.example"),
        ]
        self.idp = dev_identity_provider(self.settings, users)
        self.store = MemoryStore()
        self.app = self._app()
        # The app's calls to the provider are answered in-process (as in the demo); anything
        # else would be a bug here, so the fallback refuses.
        offline = httpx.MockTransport(lambda request: httpx.Response(599))
        transport = self.idp.local_transport(fallback=offline)
        # The development provider is on 127.0.0.1: allowed, as the dev settings say.
        loopback = self.settings.login_policy.loopback_issuers
        self.oidc = OidcClients(
            ProviderDirectory(transport=transport, loopback=loopback), transport=transport
        )
        self.validator = BearerValidator(ProviderDirectory(transport=transport, loopback=loopback))
        self.app.state.oidc = self.oidc
        self.app.state.tokens = self.validator

    def _app(self) -> Litestar:
        @get("/probe", sync_to_thread=False)
        def probe(request: Request[Any, Any, Any]) -> dict[str, Any]:
            return {"principal": request.session.get("principal")}

        return Litestar(
            route_handlers=[*LOGIN_ROUTES, self.idp.router(), probe],
            middleware=[
                RotatingSessionConfig(key=SESSION_COOKIE, store="sessions").middleware,
                SessionCsrfMiddleware(self.settings.secret_key, SESSION_COOKIE),
            ],
            stores=StoreRegistry({"sessions": self.store}),
            template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
            state=State(
                {
                    "settings": self.settings,
                    "registry": self.registry,
                    "dev_idp": self.idp,
                    "people": _NoDirectory(),
                }
            ),
        )

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE, follow_redirects=False
        )


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def location(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    return response.headers["location"]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def authorize_redirect(browser: httpx.AsyncClient, path: str) -> str:
    """GET ``path`` on our app; returns the URL the provider sends the browser back to."""
    to_idp = location(await browser.get(path))
    assert to_idp.startswith(ISSUER + "/authorize?")
    return location(await browser.get(to_idp))


async def log_in(browser: httpx.AsyncClient, sub: str, next_path: str = "/") -> httpx.Response:
    callback = await authorize_redirect(
        browser, f"/login/school-a?login_hint={sub}&next={next_path}"
    )
    assert callback.startswith(CALLBACK + "?")
    return await browser.get(callback)


async def principal(browser: httpx.AsyncClient) -> Any:
    return (await browser.get("/probe")).json()["principal"]


# --- the happy paths ------------------------------------------------------------------------


def test_login_with_hint_rotates_the_session(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            to_idp = location(await browser.get("/login/school-a?login_hint=" + CONTACT))
            before = browser.cookies.get(SESSION_COOKIE)
            assert before  # the login in progress lives in the session
            params = query(to_idp)
            assert params["code_challenge_method"] == "S256"
            assert params["client_id"] == DEV_CLIENT_ID
            assert params["redirect_uri"] == CALLBACK
            assert {"state", "nonce", "code_challenge"} <= set(params)
            callback = location(await browser.get(to_idp))
            assert query(callback)["iss"] == ISSUER

            response = await browser.get(callback)
            assert location(response) == "/"
            after = browser.cookies.get(SESSION_COOKIE)
            assert after
            assert after != before  # a new session id at login
            assert await harness.store.get(before) is None  # the old session is gone
            who = await principal(browser)
            assert who["user_id"] == CONTACT
            assert who["school_slug"] == "school-a"
            assert who["roles"] == ["contact_person"]
            assert who["board_id"] == str(harness.school_a.board_id)

    run(scenario())


def test_anonymous_requests_get_no_session(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            discovery = await browser.get("/dev-idp/.well-known/openid-configuration")
            assert discovery.json()["issuer"] == ISSUER
            assert (await browser.get("/login")).status_code == 200
            assert SESSION_COOKIE not in browser.cookies
            assert await harness.store.exists("anything") is False
            assert harness.store._store == {}  # nothing was written

    run(scenario())


def test_a_planted_session_id_is_useless_after_login(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as attacker:
            await attacker.get("/login/school-a")  # gets a session id with a pending login
            planted = attacker.cookies[SESSION_COOKIE]
        async with harness.browser() as victim:
            victim.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1")
            await log_in(victim, CONTACT)
            assert victim.cookies[SESSION_COOKIE] != planted
        async with harness.browser() as attacker:
            attacker.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1")
            assert await principal(attacker) is None

    run(scenario())


def test_login_through_the_choice_page(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            to_idp = location(await browser.get("/login/school-a?next=/cases/1"))
            page = await browser.get(to_idp)
            assert page.status_code == 200
            text = unescape(page.text)
            assert "Ontwikkel-inlogserver — alleen voor ontwikkeling, niet voor echte gegevens" in (
                text
            )
            assert "Aanspreekpunt pesten — School A" in text
            request_id = re.search(r'name="request" value="([^"]+)"', page.text)
            assert request_id is not None
            # The provider's own form: no CSRF token, and Litestar's CSRF middleware lets it be.
            chosen = await browser.post(
                "/dev-idp/authorize", data={"request": request_id.group(1), "sub": COORDINATOR}
            )
            assert chosen.status_code == 303
            response = await browser.get(location(chosen))
            assert location(response) == "/cases/1"
            assert (await principal(browser))["role"] == "coordinator"
            # The choice is one-time.
            again = await browser.post(
                "/dev-idp/authorize", data={"request": request_id.group(1), "sub": COORDINATOR}
            )
            assert again.status_code == 400

    run(scenario())


def test_login_page_lists_schools_with_login(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            page = await browser.get("/login")
            assert page.status_code == 200
            assert '<option value="school-a">School A</option>' in page.text
            assert "school-b" not in page.text  # no login configured
            assert "Inloggen als platformbeheerder" in page.text
            chosen = await browser.get("/login?school=school-a&next=/x")
            assert location(chosen) == "/login/school-a?next=%2Fx"
            missing = await browser.get("/login/school-b")
            assert missing.status_code == 404
            assert "nog niet ingesteld" in missing.text
            unknown = await browser.get("/login/no-such-school")
            assert unknown.status_code == 404

    run(scenario())


def test_operator_login(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            callback = await authorize_redirect(browser, "/login/operator?login_hint=demo-operator")
            assert location(await browser.get(callback)) == "/"
            who = await principal(browser)
            assert who["roles"] == ["operator"]
            assert who["school_id"] is None
        async with harness.browser() as browser:
            # A school user at the operator's provider is not an operator.
            callback = await authorize_redirect(browser, f"/login/operator?login_hint={CONTACT}")
            assert (await browser.get(callback)).status_code == 403

    run(scenario())


def test_open_redirects_are_refused(harness: Harness) -> None:
    async def scenario() -> None:
        for evil in ("//evil.example", "https://evil.example", "/\\evil.example", "evil"):
            async with harness.browser() as browser:
                response = await log_in(browser, CONTACT, next_path=evil)
                assert location(response) == "/"

    run(scenario())


def test_no_role_is_refused_without_personal_data_in_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            response = await log_in(browser, "nobody")
            assert response.status_code == 403
            assert "Geen toegang" in response.text
            assert await principal(browser) is None

    with caplog.at_level(logging.INFO, logger="vangnet.auth"):
        run(scenario())
    # Our log only (the test's own httpx client logs the URLs it fetches).
    messages = " ".join(r.getMessage() for r in caplog.records if r.name == "vangnet.auth")
    assert "school school-a" in messages
    assert "subject " in messages
    for personal in ("nobody", "Zonder Groep", "elders.example"):
        assert personal not in messages


def test_role_switch_and_logout_need_csrf(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            # A user with two roles at school A.
            harness.idp.users["two"] = DevUser(
                "two",
                "Twee Rollen",
                "two@school-a.example",
                groups=("school-a/coordinator", "school-a/teacher"),
            )
            # The token of the session before login (a login in progress) ...
            await authorize_redirect(browser, "/login/school-a?login_hint=two")
            before = csrf_token_for(harness.settings.secret_key, browser.cookies[SESSION_COOKIE])
            await log_in(browser, "two")
            assert (await principal(browser))["role"] == "coordinator"
            refused = await browser.post("/rol", data={"role": "teacher"})
            assert refused.status_code == 403  # no CSRF token
            # ... is worthless after it: the session id, and so the token, changed at login.
            stale = await browser.post(
                "/rol", data={"role": "teacher"}, headers={"x-csrftoken": before}
            )
            assert stale.status_code == 403
            token = csrf_token_for(harness.settings.secret_key, browser.cookies[SESSION_COOKIE])
            assert token != before
            headers = {"x-csrftoken": token}
            switched = await browser.post("/rol", data={"role": "teacher"}, headers=headers)
            assert location(switched) == "/"
            assert (await principal(browser))["role"] == "teacher"
            not_mine = await browser.post("/rol", data={"role": "board"}, headers=headers)
            assert not_mine.status_code == 400
            assert (await principal(browser))["role"] == "teacher"
            out = await browser.post("/logout", headers=headers)
            assert location(out) == "/login"
            assert await principal(browser) is None

    run(scenario())


# --- refusals in the callback ---------------------------------------------------------------


def test_wrong_state_is_refused(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            callback = await authorize_redirect(browser, "/login/school-a?login_hint=" + CONTACT)
            forged = callback.replace("state=", "state=x")
            assert (await browser.get(forged)).status_code == 400
            no_state = re.sub(r"[?&]state=[^&]*", "", callback).replace("callback&", "callback?")
            assert (await browser.get(no_state)).status_code == 400
            assert await principal(browser) is None
            # Someone else's state (another browser's login) does not work here either.
            async with harness.browser() as other:
                theirs = await authorize_redirect(other, "/login/school-a?login_hint=" + CONTACT)
            assert (await browser.get(theirs)).status_code == 400

    run(scenario())


@pytest.mark.parametrize("iss", [None, "http://127.0.0.1:9999/evil", ISSUER + "/"])
def test_missing_or_foreign_iss_is_refused(harness: Harness, iss: str | None) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            callback = await authorize_redirect(browser, "/login/school-a?login_hint=" + CONTACT)
            params = query(callback)
            if iss is None:
                del params["iss"]
            else:
                params["iss"] = iss
            response = await browser.get("/auth/callback", params=params)
            assert response.status_code == 400
            assert await principal(browser) is None
            # The state was used up by the refused attempt.
            assert (await browser.get(callback)).status_code == 400

    run(scenario())


def test_provider_error_is_refused(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as browser:
            callback = await authorize_redirect(browser, "/login/school-a?login_hint=" + CONTACT)
            params = query(callback)
            params.pop("code")
            params["error"] = "access_denied"
            assert (await browser.get("/auth/callback", params=params)).status_code == 400

    run(scenario())


# --- the client against the provider directly ------------------------------------------------


async def code_for(harness: Harness, session: dict[str, Any], sub: str) -> dict[str, str]:
    """Begin a login in ``session`` and let the provider answer for ``sub``."""
    url = await harness.oidc.begin(
        session, provider=provider(harness), redirect_uri=CALLBACK, login_hint=sub
    )
    async with harness.browser() as browser:
        return query(location(await browser.get(url)))


def provider(harness: Harness) -> OidcProvider:
    return OidcProvider(ISSUER, DEV_CLIENT_ID, harness.idp.client_secret)


def complete(harness: Harness, session: dict[str, Any], params: dict[str, str]) -> Any:
    return harness.oidc.complete(
        session, provider=provider(harness), params=params, redirect_uri=CALLBACK
    )


def test_replayed_code_is_refused(harness: Harness) -> None:
    async def scenario() -> None:
        session: dict[str, Any] = {}
        params = await code_for(harness, session, CONTACT)
        claims, _next = await complete(harness, session, params)
        assert claims["sub"] == CONTACT
        with pytest.raises(LoginFailed, match="unknown or already used state"):
            await complete(harness, session, params)
        # The same code under a fresh state (an attacker's new login) is refused by the provider.
        fresh = await code_for(harness, session, CONTACT)
        with pytest.raises(LoginFailed, match="code exchange refused: invalid_grant"):
            await complete(harness, session, {**fresh, "code": params["code"]})

    run(scenario())


def test_nonce_mismatch_is_refused(harness: Harness) -> None:
    async def scenario() -> None:
        session: dict[str, Any] = {}
        params = await code_for(harness, session, CONTACT)
        session["oidc"][params["state"]]["nonce"] = "another-nonce"
        with pytest.raises(LoginFailed, match="nonce mismatch"):
            await complete(harness, session, params)

    run(scenario())


def test_wrong_pkce_verifier_is_refused(harness: Harness) -> None:
    async def scenario() -> None:
        session: dict[str, Any] = {}
        params = await code_for(harness, session, CONTACT)
        session["oidc"][params["state"]]["code_verifier"] = "x" * 64
        with pytest.raises(LoginFailed, match="invalid_grant"):
            await complete(harness, session, params)

    run(scenario())


def test_wrong_client_secret_is_refused(harness: Harness) -> None:
    async def scenario() -> None:
        session: dict[str, Any] = {}
        params = await code_for(harness, session, CONTACT)
        wrong = OidcProvider(ISSUER, DEV_CLIENT_ID, "not-the-secret")
        with pytest.raises(LoginFailed, match="invalid_client"):
            await harness.oidc.complete(
                session, provider=wrong, params=params, redirect_uri=CALLBACK
            )

    run(scenario())


def test_expired_code_is_refused(harness: Harness) -> None:
    async def scenario() -> None:
        session: dict[str, Any] = {}
        params = await code_for(harness, session, CONTACT)
        real_clock = harness.idp.clock
        harness.idp.clock = lambda: real_clock() + 61
        with pytest.raises(LoginFailed, match="invalid_grant"):
            await complete(harness, session, params)

    run(scenario())


def test_client_secret_post_is_accepted(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as http:
            response = await http.post(
                "/dev-idp/token",
                data={
                    "grant_type": DEV_USER_GRANT,
                    "sub": CONTACT,
                    "client_id": DEV_CLIENT_ID,
                    "client_secret": harness.idp.client_secret,
                },
            )
            assert response.status_code == 200, response.text
            assert response.headers["cache-control"] == "no-store"
            body = response.json()
            assert body["token_type"] == "Bearer"
            claims = await harness.validator.validate(
                body["access_token"], issuer=ISSUER, audience=DEV_CLIENT_ID
            )
            assert claims["sub"] == CONTACT
            bad = await http.post(
                "/dev-idp/token",
                data={"grant_type": DEV_USER_GRANT, "sub": CONTACT, "client_id": DEV_CLIENT_ID},
            )
            assert bad.status_code == 401

    run(scenario())


# --- bearer tokens from the development provider -----------------------------------------------


def test_minted_access_token_resolves_to_a_principal(harness: Harness) -> None:
    async def scenario() -> None:
        token = harness.idp.mint_access_token(COORDINATOR)
        who = await principal_from_bearer(
            token,
            registry=harness.registry,
            validator=harness.validator,
            school_slug_hint=None,
            settings=harness.settings,
        )
        assert who.school_slug == "school-a"
        assert who.role is Role.COORDINATOR
        operator = await principal_from_bearer(
            harness.idp.mint_access_token("demo-operator"),
            registry=harness.registry,
            validator=harness.validator,
            school_slug_hint=None,
            settings=harness.settings,
        )
        assert operator.role is Role.OPERATOR
        # An ID token is no access token.
        id_token = harness.idp.mint_id_token(COORDINATOR, nonce="n")
        with pytest.raises(InvalidToken, match="typ"):
            await harness.validator.validate(id_token, issuer=ISSUER, audience=DEV_CLIENT_ID)

    run(scenario())


def test_userinfo(harness: Harness) -> None:
    async def scenario() -> None:
        async with harness.browser() as http:
            token = harness.idp.mint_access_token(CONTACT)
            ok = await http.get("/dev-idp/userinfo", headers={"authorization": f"Bearer {token}"})
            assert ok.json()["groups"] == ["school-a/contact_person"]
            id_token = harness.idp.mint_id_token(CONTACT, nonce=None)
            bad = await http.get(
                "/dev-idp/userinfo", headers={"authorization": f"Bearer {id_token}"}
            )
            assert bad.status_code == 401

    run(scenario())


def test_authorize_refuses_bad_requests(harness: Harness) -> None:
    async def scenario() -> None:
        good = {
            "response_type": "code",
            "client_id": DEV_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "state": "s",
            "nonce": "n",
            "code_challenge": "c" * 43,
            "code_challenge_method": "S256",
        }
        async with harness.browser() as http:
            assert (await http.get("/dev-idp/authorize", params=good)).status_code == 200
            evil = {**good, "redirect_uri": "https://evil.example/cb"}
            page = await http.get("/dev-idp/authorize", params=evil)
            assert page.status_code == 400  # shown, never redirected to an unknown URI
            for broken in (
                {"code_challenge_method": "plain"},
                {"code_challenge": ""},
                {"nonce": ""},
                {"response_type": "token"},
                {"scope": "profile"},
            ):
                response = await http.get("/dev-idp/authorize", params={**good, **broken})
                target = location(response)
                assert target.startswith(CALLBACK)
                assert "error=" in target

    run(scenario())


# --- PostgreSQL: the registry command and the CLI ------------------------------------------------


@pytest.mark.integration
def test_login_config_on_postgres(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from infra.bootstrap.container import Container
    from infra.entrypoints.cli import EXIT_REFUSED, main
    from tests.conftest import TEST_MASTER_KEY_B64
    from tests.integration.readside import new_school

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_SECRET_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")
    with Container.open(Settings.from_env()) as container:
        slug = new_school(container).slug

    def vangnet(argv: list[str]) -> int:
        return main(argv)

    issuer = "https://login.example/" + slug
    assert (
        vangnet(
            [
                "tenants",
                "set-login",
                "--school",
                slug,
                "--issuer",
                issuer,
                "--client-id",
                "vangnet",
                "--secret-ref",
                "env:VANGNET_IDP_SECRET_SCHOOL",
                "--rule",
                "group:apc=coordinator",
                "--rule",
                "email_domain:school.example=teacher",
            ]
        )
        == 0
    )
    assert "2 rules" in capsys.readouterr().out
    assert vangnet(["tenants", "show-login", "--school", slug]) == 0
    shown = capsys.readouterr().out
    assert "env:VANGNET_IDP_SECRET_SCHOOL" in shown
    assert "group:apc=coordinator" in shown
    assert "email_domain:school.example=teacher" in shown

    with Container.open(Settings.from_env()) as container:
        schools = container.registry.schools_for_issuer(issuer)
        assert [s.slug for s in schools] == [slug]
        login = schools[0].login
        assert login is not None
        assert login.api_audience == "vangnet"
        assert slug in [s.slug for s in container.registry.schools_with_login()]

    # Secrets cannot be pointed at from the CLI either: refused, named, nothing stored.

    (tmp_path / "master.key").write_text(TEST_MASTER_KEY_B64 + "\n")
    for flag, value, said in [
        ("--secret-ref", f"file:{tmp_path}/master.key", "VANGNET_SECRETS_DIR"),
        ("--secret-ref", "file:/proc/self/environ", "VANGNET_SECRETS_DIR"),
        ("--secret-ref", "env:VANGNET_MASTER_KEY", "VANGNET_IDP_SECRET_"),
        ("--issuer", "http://idp.attacker.example", "https"),
    ]:
        options = {
            "--issuer": "https://other.example/x",
            "--secret-ref": "env:VANGNET_IDP_SECRET_X",
        }
        options[flag] = value
        argv = ["tenants", "set-login", "--school", slug, "--client-id", "vangnet"]
        argv += [part for pair in options.items() for part in pair]
        assert main(argv) == EXIT_REFUSED
        err = capsys.readouterr().err
        assert said in err
        assert TEST_MASTER_KEY_B64 not in err
    with Container.open(Settings.from_env()) as container:
        stored = container.registry.school_by_slug(slug).login
        assert stored is not None
        assert stored.issuer == issuer
