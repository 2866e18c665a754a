"""The JSON API: a case handled through it, errors as problem details, bearer tokens refused.

Each school trusts its own (fake, in-process) identity provider; tokens are real RS256 JWTs
validated against the provider's keys, exactly as in production.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar.testing import TestClient

from infra.bootstrap.container import Container
from infra.entrypoints.web.context import today as school_today
from services.access.roles import Role
from tests.integration.web import (
    METRICS_TOKEN,
    FakeIssuer,
    Issuers,
    World,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    school_group,
    web_client,
)

PROBLEM = "application/problem+json"


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    world: World
    issuer_a: FakeIssuer
    issuer_b: FakeIssuer

    def as_(self, role: Role, school: str = "a") -> dict[str, str]:
        if school == "a":
            return bearer(self.issuer_a, self.world.school_a, role)
        return bearer(self.issuer_b, self.world.school_b, role)


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    world = make_world(container, "api")
    # Issuers unique per test: the database (and its registry) is shared by the session.
    issuer_a = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    issuer_b = FakeIssuer(f"https://idp.test/{world.school_b.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer_a)
    configure_fake_login(container, world.school_b, issuer_b)
    with web_client(container, http_transport=Issuers(issuer_a, issuer_b).transport) as client:
        yield Api(client, world, issuer_a, issuer_b)


def report(api: Api, role: Role = Role.CONTACT_PERSON, school: str = "a") -> str:
    response = api.client.post(
        "/api/cases",
        json={"reporter_kind": "target_pupil", "summary": "Fictieve melding (test)"},
        headers=api.as_(role, school),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def act(api: Api, case_id: str, action: str, body: dict[str, Any], **kw: Any) -> Any:
    return api.client.post(
        f"/api/cases/{case_id}/{action}",
        json=body,
        headers=kw.pop("headers", None) or api.as_(Role.CONTACT_PERSON),
    )


def test_a_case_through_the_api(api: Api) -> None:
    # A report comes in; the contact person is its owner.
    case_id = report(api)
    today = school_today().isoformat()
    # Intake, then the situation is mapped.
    assert act(api, case_id, "hold-intake", {"held_on": today, "summary": "Gesprek"}).is_success
    r = act(
        api,
        case_id,
        "map-situation",
        {"forms": ["verbal"], "frequency": "weekly", "impact": "moderate"},
    )
    assert r.status_code == 200, r.text
    # Planning a step before consent is refused with a problem naming the rule; nothing stored.
    r = act(api, case_id, "plan-step", {"kind": "talk_with_actor", "description": "Gesprek"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] == "consent_missing"
    # Consent first, then the step.
    r = act(
        api,
        case_id,
        "give-consent",
        {"given_by": "pupil_and_parents", "covers": ["talk_with_actor"]},
    )
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    r = act(api, case_id, "plan-step", {"kind": "talk_with_actor", "description": "Gesprek"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == v + 1
    # A command made against an older version is a conflict (409), never an overwrite.
    r = act(api, case_id, "add-note", {"text": "late", "expected_version": v})
    assert r.status_code == 409
    assert r.json()["code"] == "stale_version"
    # The case view follows (read-your-writes through the worker).
    deadline = time.monotonic() + 10
    while True:
        detail = api.client.get(f"/api/cases/{case_id}", headers=api.as_(Role.CONTACT_PERSON))
        assert detail.status_code == 200
        if detail.json()["version"] == v + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert detail.json()["version"] == v + 1


def test_invalid_body_is_a_problem(api: Api) -> None:
    case_id = report(api)
    r = act(api, case_id, "hold-intake", {"held_on": "not a date"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] == "validation"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(issuer: FakeIssuer, group: str, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "sub": "test-user",
        "aud": issuer.audience,
        "iat": now,
        "exp": now + 300,
        "groups": [group],
    }
    claims.update(over)
    return claims


def _bad_tokens(issuer: FakeIssuer, group: str) -> dict[str, str]:
    good = issuer.token("test-user", [group])
    head, payload, sig = good.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered["groups"] = [group.replace("contact_person", "coordinator")]
    # joserfc refuses to build an HMAC key from a public key: sign by hand, as an attacker would.
    public_pem = issuer.key.as_pem(private=False)
    hs_input = (
        _b64({"alg": "HS256", "typ": "at+jwt", "kid": "test-1"})
        + "."
        + _b64(_claims(issuer, group))
    )
    hs_mac = hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest()
    other = RSAKey.generate_key(2048, parameters={"kid": "unknown"})
    return {
        "alg none": _b64({"alg": "none", "typ": "at+jwt"})
        + "."
        + _b64(_claims(issuer, group))
        + ".",
        "wrong issuer": jwt.encode(
            {"alg": "RS256", "typ": "at+jwt", "kid": "test-1"},
            _claims(issuer, group, iss="https://idp.test/elsewhere"),
            issuer.key,
        ),
        "wrong audience": issuer.token("test-user", [group], aud="other-api"),
        "expired": issuer.token("test-user", [group], exp=int(time.time()) - 3600),
        "unknown key id": jwt.encode(
            {"alg": "RS256", "typ": "at+jwt", "kid": "unknown"}, _claims(issuer, group), other
        ),
        "HS256 with the public key": hs_input
        + "."
        + base64.urlsafe_b64encode(hs_mac).rstrip(b"=").decode(),
        "tampered payload": f"{head}.{_b64(tampered)}.{sig}",
        "ID token instead of access token": jwt.encode(
            {"alg": "RS256", "typ": "JWT", "kid": "test-1"}, _claims(issuer, group), issuer.key
        ),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "alg none",
        "wrong issuer",
        "wrong audience",
        "expired",
        "unknown key id",
        "HS256 with the public key",
        "tampered payload",
        "ID token instead of access token",
        "garbage",
    ],
)
def test_bad_tokens_are_401(api: Api, kind: str) -> None:
    group = school_group(api.world.school_a, Role.CONTACT_PERSON)
    token = _bad_tokens(api.issuer_a, group)[kind]
    r = api.client.get("/api/cases", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, (kind, r.text)
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_no_token_is_401_and_session_cookies_do_not_open_the_api(api: Api) -> None:
    assert api.client.get("/api/cases").status_code == 401
    # A logged-in browser session opens the pages, never the API (which has no CSRF check).
    log_in(api.client, principal(api.world.school_a, Role.CONTACT_PERSON))
    assert api.client.get("/zaken").status_code == 200
    assert api.client.get("/api/cases").status_code == 401


def test_a_token_of_school_a_does_not_open_school_b(api: Api) -> None:
    headers = api.as_(Role.CONTACT_PERSON) | {"X-Vangnet-School": api.world.school_b.slug}
    assert api.client.get("/api/cases", headers=headers).status_code == 401


@pytest.mark.parametrize("role", [Role.DOMESTIC_VIOLENCE_OFFICER, Role.SAFETY_COORDINATOR])
def test_roles_without_case_content(api: Api, role: Role) -> None:
    case_id = report(api)
    headers = api.as_(role)
    assert api.client.get("/api/cases", headers=headers).status_code == 403
    r = api.client.get(f"/api/cases/{case_id}", headers=headers)
    assert r.status_code in (403, 404)
    assert "Fictieve melding" not in r.text
    r = act(api, case_id, "add-note", {"text": "x"}, headers=headers)
    assert r.status_code == 403
    assert api.client.get("/api/lessons", headers=headers).status_code == 403
    signals = api.client.get("/api/signals", headers=headers)
    # Seed 001: the veiligheidscoördinator gathers input: the signals, which carry no names.
    assert signals.status_code == (200 if role is Role.SAFETY_COORDINATOR else 403)
    assert "Fictieve melding" not in signals.text


def test_safety_coordinator_sees_school_statistics(api: Api) -> None:
    r = api.client.get("/api/stats/school", headers=api.as_(Role.SAFETY_COORDINATOR))
    assert r.status_code == 200
    assert isinstance(r.json(), list)


def test_openapi_lists_every_action(api: Api) -> None:
    from infra.entrypoints.web.actions import ACTIONS

    schema = api.client.get("/schema/openapi.json").json()
    for name in ACTIONS:
        assert f"/api/cases/{{case_id}}/{name}" in schema["paths"], name
    assert "/api/cases" in schema["paths"]


def test_health_and_metrics(api: Api) -> None:
    r = api.client.get("/health/ready")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"
    assert api.client.get("/health/live").json() == {"status": "ok"}
    api.client.get("/api/cases", headers=api.as_(Role.CONTACT_PERSON))
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    metrics = api.client.get("/metrics", headers=scrape).text
    assert "vangnet_requests_total" in metrics
    # Route templates, never concrete ids.
    case_id = report(api)
    api.client.get(f"/api/cases/{case_id}", headers=api.as_(Role.CONTACT_PERSON))
    metrics = api.client.get("/metrics", headers=scrape).text
    assert 'path="/api/cases/{case_id}"' in metrics
    assert case_id not in metrics


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong-token"},
        {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
        {"Authorization": METRICS_TOKEN},
    ],
)
def test_metrics_need_the_scrape_token(api: Api, headers: dict[str, str]) -> None:
    # Not even a logged-in school user's access token opens /metrics.
    r = api.client.get("/metrics", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "vangnet_requests_total" not in r.text
    school_user = api.as_(Role.CONTACT_PERSON)
    assert api.client.get("/metrics", headers=school_user).status_code == 401


def test_metrics_without_a_token_setting_do_not_exist(container: Container) -> None:
    from tests.integration.web import web_settings

    settings = dataclasses.replace(web_settings(container), metrics_token=None)
    with web_client(container, worker=False, settings=settings) as client:
        r = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 404
    assert "vangnet_requests_total" not in r.text


def test_openapi_states_the_error_answers_of_every_operation(api: Api) -> None:
    schema = api.client.get("/schema/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    problem_ref = {"$ref": "#/components/schemas/ProblemDetails"}
    checked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            expected = {"400", "401", "403", "503"}
            if "requestBody" in operation:
                expected |= {"413", "415"}
            if "{case_id}" in path:
                expected.add("404")
            if operation.get("tags") == ["case actions"]:
                expected |= {"409", "422"}
            assert expected <= set(operation["responses"]), where
            for status in expected:
                content = operation["responses"][status]["content"]
                assert content == {"application/problem+json": {"schema": problem_ref}}, where
            assert operation["security"] == [{"bearer": []}], where
            checked += 1
    assert checked >= 40
    # Bodies list their vocabularies and bounds.
    bodies = schema["components"]["schemas"]
    assert bodies["MapSituationBody"]["properties"]["forms"]["minItems"] == 1
    assert bodies["Frequency"]["enum"] == ["once", "sometimes", "weekly", "daily"]
    note = bodies["AddNoteBody"]["properties"]
    assert note["text"]["maxLength"] == 10_000
    assert "pattern" in note["text"]
    assert note["expected_version"]["oneOf"][0]["minimum"] == 1
