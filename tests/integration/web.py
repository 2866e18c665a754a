"""Helpers for tests of the web app: an app on the test container, sessions, principals."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from litestar.testing import TestClient

from infra.adapters.auth.principal import Principal
from infra.bootstrap.container import Container
from infra.bootstrap.views import ensure_school_views
from infra.config.settings import Settings
from infra.entrypoints.web.app import create_app, session_config
from infra.entrypoints.worker.inprocess import start_inprocess_worker
from services.access.roles import Role
from tenants.registry import School

BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class World:
    """One board with two schools (A and B) and their views."""

    school_a: School
    school_b: School


def make_world(container: Container, prefix: str = "web") -> World:
    """Slugs get a random suffix: the test database is shared by the whole session."""
    prefix = f"{prefix}-{uuid.uuid4().hex[:6]}"
    container.create_board(f"{prefix} board", slug=f"{prefix}-board")
    a = container.create_school(f"{prefix}-board", "School A", slug=f"{prefix}-a")
    b = container.create_school(f"{prefix}-board", "School B", slug=f"{prefix}-b")
    for school in (a, b):
        ensure_school_views(container, school.id)
    return World(school_a=a, school_b=b)


def principal(school: School | None, role: Role, user_id: str | None = None) -> Principal:
    """A logged-in person of ``school`` in ``role`` (the operator when ``school`` is None)."""
    return Principal(
        user_id=user_id or f"test-{school.slug if school else 'platform'}-{role}",
        issuer="http://127.0.0.1/test-idp",
        display_name=f"Test {role}",
        school_id=school.id if school else None,
        school_slug=school.slug if school else None,
        board_id=school.board_id if school else None,
        roles=(role,),
        role=role,
    )


#: The scrape token of the test app's /metrics (``Authorization: Bearer ...``).
METRICS_TOKEN = "test-metrics-token-0123456789abcdef"


def web_settings(container: Container) -> Settings:
    return dataclasses.replace(
        container.settings,
        secret_key=b"t" * 32,
        public_url=BASE_URL,
        dev_idp=False,
        metrics_token=METRICS_TOKEN,
    )


@contextmanager
def web_client(
    container: Container,
    *,
    worker: bool = True,
    http_transport: httpx.AsyncBaseTransport | None = None,
    settings: Settings | None = None,
) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A test client of the app on ``container`` (with an in-process worker by default, so
    the views follow the commands); ``settings`` default to :func:`web_settings`."""
    settings = settings or web_settings(container)
    handle = start_inprocess_worker(container) if worker else None
    try:
        app = create_app(settings, container=container, http_transport=http_transport)
        config = session_config(settings)
        with TestClient(app, base_url=BASE_URL, session_config=config) as client:
            yield client
    finally:
        if handle is not None:
            handle.wait_until_idle()
            handle.stop()


def admitted(client: TestClient, who: Principal) -> Principal:  # type: ignore[type-arg]
    """``who`` as the login callback makes them: a person of the school's staff directory
    (found or created by issuer and subject), unless already resolved or the operator."""
    return as_person(client.app.state.services.container, who)


def as_person(container: Container, who: Principal) -> Principal:
    """``who`` admitted to their school's staff directory, as a login does (see
    :func:`admitted`); the operator and already admitted principals unchanged."""
    from infra.entrypoints.web.auth.gate import PeopleGate
    from services.shared.errors import SchoolNotFound

    if who.school_id is None or who.person_id is not None:
        return who
    try:
        school = container.registry.school(who.school_id)
    except SchoolNotFound:
        # A session from before the school left (offboarding): it named a person then.
        return who.as_person(uuid.uuid4())
    claims = {"sub": who.user_id, "name": who.display_name}
    return PeopleGate(container).admit(school, who, claims)


def log_in(client: TestClient, who: Principal) -> Principal:  # type: ignore[type-arg]
    """Put ``who`` in the client's server-side session, as the login callback does (admitted
    to the school's staff directory first); returns the principal as stored."""
    who = admitted(client, who)
    client.set_session_data({"principal": who.to_session()})
    return who


def staff(container: Container, school: School, role: Role, name: str | None = None) -> str:
    """A person of ``school``'s staff directory in ``role`` (as if provisioned); their id."""
    from infra.entrypoints.web.auth.gate import PeopleGate
    from services.people.directory import Provisioned
    from services.people.domain import Profile

    directory = PeopleGate(container).directory(school)
    person = directory.provision(
        Provisioned(profile=Profile(display_name=name or f"Medewerker Test {role}"), roles=(role,))
    )
    return str(person.id)


class FakeIssuer:
    """An OpenID provider for API tests: discovery and JWKS over an ``httpx.MockTransport``
    (no network), and RFC 9068 access tokens signed with its RSA key."""

    def __init__(self, issuer: str = "https://idp.test/school", audience: str = "vangnet-api"):
        from joserfc.jwk import RSAKey

        self.issuer = issuer
        self.audience = audience
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig"})

    def handler(self, request: httpx.Request) -> httpx.Response:
        base = httpx.URL(self.issuer)
        if request.url.path == base.path.rstrip("/") + "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.issuer,
                    "jwks_uri": self.issuer.rstrip("/") + "/jwks",
                    "authorization_endpoint": self.issuer.rstrip("/") + "/authorize",
                    "token_endpoint": self.issuer.rstrip("/") + "/token",
                },
            )
        if request.url.path == base.path.rstrip("/") + "/jwks":
            return httpx.Response(200, json={"keys": [self.key.as_dict(private=False)]})
        return httpx.Response(404)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def token(self, sub: str, groups: list[str], *, ttl: int = 300, **claims: Any) -> str:
        from joserfc import jwt

        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "sub": sub,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "client_id": "vangnet-test",
            "groups": groups,
            **claims,
        }
        header = {"alg": "RS256", "typ": "at+jwt", "kid": "test-1"}
        return jwt.encode(header, payload, self.key)


class Issuers:
    """Several fake providers behind one mock transport (one per school in the API tests)."""

    def __init__(self, *issuers: FakeIssuer) -> None:
        self.issuers = issuers

    def handler(self, request: httpx.Request) -> httpx.Response:
        for issuer in self.issuers:
            if str(request.url).startswith(issuer.issuer.rstrip("/") + "/"):
                return issuer.handler(request)
        return httpx.Response(404)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def school_group(school: School, role: Role) -> str:
    return f"{school.slug}:{role.value}"


def configure_fake_login(container: Container, school: School, issuer: FakeIssuer) -> None:
    """Let ``issuer`` log people in at ``school``; group ``<slug>:<role>`` grants ``role``."""
    from services.shared.actor import SYSTEM
    from tenants.login import ClaimRule, validate_login

    rules = [
        ClaimRule("group", school_group(school, role), role)
        for role in Role
        if role != Role.OPERATOR
    ]
    policy = container.settings.login_policy
    config = validate_login(
        issuer=issuer.issuer,
        client_id="vangnet-test",
        secret_ref="env:VANGNET_IDP_SECRET_TEST_UNUSED",
        policy=policy,
        api_audience=issuer.audience,
        rules=rules,
    )
    container.registry.configure_login(school.id, config, policy=policy, actor=SYSTEM)


def bearer(
    issuer: FakeIssuer, school: School, role: Role, sub: str | None = None
) -> dict[str, str]:
    """Authorization header of a person of ``school`` in ``role``."""
    token = issuer.token(sub or f"test-{school.slug}-{role}", [school_group(school, role)])
    return {"Authorization": f"Bearer {token}"}
