"""The operator sets a school's login: provider and the rules that map claims to roles."""

from __future__ import annotations

from infra.container import Container
from tenants.roles import Role
from tests.integration.test_pages import browser
from tests.integration.web import make_world, principal


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
                "secret_ref": "env:SCHOOL_SECRET",
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
                "secret_ref": "env:SCHOOL_SECRET",
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
                "secret_ref": "env:SCHOOL_SECRET",
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
