"""The operator sets a school's login: provider and the rules that map claims to roles."""

from __future__ import annotations

import html
import logging

import httpx
import pytest

from infra.bootstrap.container import Container
from services.access.roles import Role
from services.shared.actor import SYSTEM
from tenants.login import LoginPolicy, validate_login
from tests.integration.test_pages import browser
from tests.integration.web import make_world, principal, web_client


def test_the_operator_sets_the_login_of_a_school(container: Container) -> None:
    world = make_world(container, "oplogin")
    school = world.school_a
    url = f"/beheer/scholen/{school.id}"
    with browser(container, principal(None, Role.OPERATOR)) as b:
        # Not set up yet: the page says nobody of the school can log in.
        assert "nog niet ingericht" in b.get(url)

        # A rule that is not a rule comes back with a Dutch message, and nothing is stored.
        response = b.post(
            f"{url}/login",
            {
                "issuer": "https://login.school.example/tenant",
                "client_id": "vangnet",
                "secret_ref": "env:VANGNET_IDP_SECRET_SCHOOL",
                "scopes": "openid profile email",
                "rules": "group:apc=coordinator\nonzin",
            },
        )
        assert response.status_code == 422
        assert "Regel 2" in response.text
        assert container.registry.school(school.id).login is None

        # Granting the operator role from a school is refused as well.
        response = b.post(
            f"{url}/login",
            {
                "issuer": "https://login.school.example/tenant",
                "client_id": "vangnet",
                "secret_ref": "env:VANGNET_IDP_SECRET_SCHOOL",
                "scopes": "openid",
                "rules": "group:beheer=operator",
            },
        )
        assert response.status_code == 422
        assert container.registry.school(school.id).login is None

        # Valid settings are stored and shown (the secret is only ever a reference).
        b.get(url)
        page = b.submit(
            f"{url}/login",
            {
                "issuer": "https://login.school.example/tenant",
                "client_id": "vangnet",
                "secret_ref": "env:VANGNET_IDP_SECRET_SCHOOL",
                "api_audience": "urn:vangnet:api",
                "scopes": "openid profile email groups",
                "rules": "group:apc=coordinator\nemail_domain:school.example=teacher",
            },
        )
        assert "De inloginstellingen zijn opgeslagen." in page
        login = container.registry.school(school.id).login
        assert login is not None
        assert login.issuer == "https://login.school.example/tenant"
        assert [r.to_text() for r in login.rules] == [
            "group:apc=coordinator",
            "email_domain:school.example=teacher",
        ]
        assert "group:apc=coordinator" in page

    # A coordinator of the school cannot change its login.
    with browser(container, principal(school, Role.COORDINATOR)) as c:
        assert c.client.get(url).status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "dutch"),
    [
        ("secret_ref", "file:{data_dir}/master.key", "geen map met geheimen"),
        ("secret_ref", "file:/proc/self/environ", "geen map met geheimen"),
        ("secret_ref", "env:VANGNET_MASTER_KEY", "begint met VANGNET_IDP_SECRET_"),
        ("secret_ref", "env:PATH", "begint met VANGNET_IDP_SECRET_"),
        ("secret_ref", "env:VANGNET_IDP_SECRET_", "begint met VANGNET_IDP_SECRET_"),
        ("issuer", "http://idp.attacker.example", "https://-adres"),
        ("issuer", "https://127.0.0.1:9000", "niet naar deze machine"),
        ("issuer", "https://169.254.169.254", "intern netwerkadres"),
    ],
)
def test_the_operator_cannot_point_a_login_at_secrets(
    container: Container, field: str, value: str, dutch: str
) -> None:
    # Repro (issue #10, 4): the master key, the process environment or any variable as the
    # client secret, or a provider of the operator's choosing: refused, in Dutch, not stored.
    world = make_world(container, "oppunt")
    school = world.school_a
    url = f"/beheer/scholen/{school.id}"
    form = {
        "issuer": "https://login.school.example/tenant",
        "client_id": "vangnet",
        "secret_ref": "env:VANGNET_IDP_SECRET_SCHOOL",
        "scopes": "openid",
        "rules": "group:apc=coordinator",
    }
    form[field] = value.format(data_dir=container.settings.data_dir)
    with browser(container, principal(None, Role.OPERATOR)) as b:
        b.get(url)
        response = b.post(f"{url}/login", form)
        assert response.status_code == 422
        assert dutch in html.unescape(response.text)
    assert container.registry.school(school.id).login is None


class Lines(logging.Handler):
    """The messages of one logger (pytest's caplog handler does not survive the app's own
    logging set-up at start-up)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_stored_login_that_no_longer_passes_fails_clearly_at_use(container: Container) -> None:
    # Stored before the rules existed (here: under a policy as loose as the old checks).
    world = make_world(container, "opoud")
    loose = LoginPolicy(secret_env_prefix="VANGNET_", loopback_issuers=True)
    provider_calls: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        provider_calls.append(str(request.url))
        return httpx.Response(404)

    cases = [
        (world.school_a, "https://idp.attacker.example", "env:VANGNET_MASTER_KEY", "secret_ref"),
        (world.school_b, "http://127.0.0.1:9/evil", "env:VANGNET_IDP_SECRET_X", "issuer"),
    ]
    for school, issuer, secret_ref, _ in cases:
        config = validate_login(
            issuer=issuer, client_id="vangnet", secret_ref=secret_ref, policy=loose
        )
        container.registry.configure_login(school.id, config, policy=loose, actor=SYSTEM)

    transport = httpx.MockTransport(provider)
    auth_log = logging.getLogger("vangnet.auth")
    lines = Lines()
    auth_log.addHandler(lines)
    try:
        with web_client(container, worker=False, http_transport=transport) as client:
            for school, _, _, field in cases:
                response = client.get(f"/login/{school.slug}", follow_redirects=False)
                assert response.status_code == 500
                assert "Inloggen is niet goed ingesteld" in response.text
                assert any(school.slug in line and field in line for line in lines.lines)
    finally:
        auth_log.removeHandler(lines)
    logged = " ".join(lines.lines)
    assert "(env_outside_prefix)" in logged
    assert "(loopback_not_allowed)" in logged
    assert "VANGNET_MASTER_KEY" not in logged
    assert provider_calls == []  # nothing was sent anywhere, not even a discovery request
