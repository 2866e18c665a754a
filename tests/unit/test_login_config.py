"""A school's login configuration: validation, JSON round trip, the registry events and turning
claims into a principal (in memory; no network, no database). Where issuers and secret
references may point: tests/unit/test_secret_policy.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from infra.adapters.auth.resolve import (
    NoRole,
    principal_for_operator,
    principal_for_school,
    principal_from_bearer,
    subject_hash,
)
from infra.adapters.auth.tokens import BearerValidator, InvalidToken
from infra.config.settings import Settings
from services.access.roles import Role
from services.shared.actor import SYSTEM, Actor, acting_as
from services.shared.errors import PermissionDenied
from tenants.login import (
    DEFAULT_SCOPES,
    ClaimRule,
    InvalidLoginConfig,
    LoginConfig,
    LoginPolicy,
    parse_rule,
    validate_login,
)
from tenants.registry import Registry, School

ISSUER = "https://login.example/tenant-1/v2.0"
#: A production deployment's policy with a secrets directory.
POLICY = LoginPolicy(secrets_dir="/run/secrets")
#: Development and tests: providers on this machine, and the development provider's secret.
DEV_POLICY = LoginPolicy(loopback_issuers=True, dev_secret=True)


def config(**overrides: Any) -> LoginConfig:
    options: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": "vangnet-client",
        "secret_ref": "env:VANGNET_IDP_SECRET_SCHOOL",
        "policy": POLICY,
        "rules": [parse_rule("group:apc=coordinator"), parse_rule("group:ap=contact_person")],
    }
    options.update(overrides)
    return validate_login(**options)


# --- validation ----------------------------------------------------------------------------


def test_defaults_and_round_trip() -> None:
    login = config()
    assert login.api_audience == "vangnet-client"  # defaults to the client id
    assert login.scopes == DEFAULT_SCOPES
    assert LoginConfig.from_json(login.to_json()) == login
    other = config(api_audience="api://vangnet", scopes=["openid", "groups", "openid"])
    assert other.api_audience == "api://vangnet"
    assert other.scopes == ("openid", "groups")
    assert LoginConfig.from_json(other.to_json()) == other


def test_duplicate_rules_are_dropped() -> None:
    rule = parse_rule("group:apc=coordinator")
    assert config(rules=[rule, rule]).rules == (rule,)


@pytest.mark.parametrize(
    "issuer",
    [
        "https://accounts.google.com",
        "https://login.microsoftonline.com/0000/v2.0",
        "https://idp.example/trailing/",
    ],
)
def test_issuers_accepted(issuer: str) -> None:
    assert config(issuer=issuer).issuer == issuer  # kept exactly: tokens must match it


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8000/dev-idp", "http://localhost:3000"])
def test_loopback_issuers_only_in_development(issuer: str) -> None:
    assert config(issuer=issuer, policy=DEV_POLICY).issuer == issuer
    with pytest.raises(InvalidLoginConfig, match="this machine"):
        config(issuer=issuer)


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("http://idp.example", "https"),
        ("ftp://idp.example", "https"),
        ("idp.example", "https"),
        ("", "URL"),
        ("https://idp.example/?x=1", "query"),
        ("https://user:pw@idp.example", "user information"),
        ("https://idp.example/" + "x" * 600, "URL"),
    ],
)
def test_issuers_refused(issuer: str, message: str) -> None:
    with pytest.raises(InvalidLoginConfig, match=message):
        config(issuer=issuer)


@pytest.mark.parametrize("ref", ["env:VANGNET_IDP_SECRET_SCHOOL", "file:/run/secrets/school"])
def test_secret_refs_accepted(ref: str) -> None:
    assert config(secret_ref=ref).secret_ref == ref


def test_dev_secret_only_with_the_development_provider() -> None:
    assert config(secret_ref="dev:", policy=DEV_POLICY).secret_ref == "dev:"
    with pytest.raises(InvalidLoginConfig, match="development identity provider"):
        config(secret_ref="dev:")


@pytest.mark.parametrize("ref", ["s3cr3t-value", "env:", "env:1BAD", "dev:x", "vault:x"])
def test_secret_refs_refused_without_echo(ref: str) -> None:
    with pytest.raises(InvalidLoginConfig, match="never the secret itself") as info:
        config(secret_ref=ref)
    assert (info.value.field, info.value.reason) == ("secret_ref", "malformed")
    for part in ("s3cr3t", "1BAD", "vault"):
        assert part not in info.value.message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_id": ""}, "client_id"),
        ({"client_id": "has space"}, "client_id"),
        ({"api_audience": "a b"}, "api_audience"),
        ({"scopes": ["profile"]}, "must include openid"),
        ({"scopes": ["openid", "bad scope"]}, "scope tokens"),
        ({"rules": [parse_rule(f"group:g{i}=teacher") for i in range(101)]}, "at most 100"),
    ],
)
def test_other_fields_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidLoginConfig, match=message):
        config(**overrides)


def test_from_json_loads_a_stored_config_the_policy_no_longer_allows() -> None:
    # Stored before the rules: it loads (the school's page still shows it) and fails at use.
    stored = {
        **config().to_json(),
        "issuer": "http://127.0.0.1:9000",
        "secret_ref": "env:VANGNET_MASTER_KEY",
    }
    loaded = LoginConfig.from_json(stored)
    assert (loaded.issuer, loaded.secret_ref) == ("http://127.0.0.1:9000", "env:VANGNET_MASTER_KEY")
    with pytest.raises(InvalidLoginConfig):
        POLICY.check(loaded)


def test_from_json_refuses_bad_documents() -> None:
    with pytest.raises(InvalidLoginConfig):
        LoginConfig.from_json({"issuer": ISSUER})
    with pytest.raises(InvalidLoginConfig, match="rules must be a list"):
        LoginConfig.from_json({**config().to_json(), "rules": "group:x=teacher"})
    data = config().to_json()
    data["rules"] = [{"kind": "group", "value": "x", "role": "operator"}]
    with pytest.raises(InvalidLoginConfig, match="operator"):
        LoginConfig.from_json(data)


# --- registry ------------------------------------------------------------------------------


@pytest.fixture
def registry() -> Registry:
    return Registry(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def add_school(registry: Registry, slug: str, board_slug: str = "bestuur") -> School:
    with acting_as(SYSTEM):
        try:
            board = registry.board_by_slug(board_slug)
        except Exception:
            board = registry.register_board("Bestuur " + board_slug, board_slug)
        return registry.register_school(board.id, "School " + slug, slug, "wrapped")


def test_configure_login_records_an_event(registry: Registry) -> None:
    school = add_school(registry, "de-regenboog")
    assert registry.school(school.id).login is None
    operator = Actor("op-1", Role.OPERATOR)
    registry.configure_login(school.id, config(), policy=POLICY, actor=operator)
    stored = registry.school(school.id)
    assert stored.login == config()
    event = list(registry.events.get(school.id))[-1]
    assert type(event).__name__ == "LoginConfigured"
    assert (event.actor_id, event.actor_role) == ("op-1", "operator")
    assert "VANGNET_IDP_SECRET_SCHOOL" in str(event.login)  # the reference, never a secret


def test_only_the_operator_configures_login(registry: Registry) -> None:
    school = add_school(registry, "het-anker")
    for role in (Role.COORDINATOR, Role.CONTACT_PERSON, Role.MANAGEMENT, Role.BOARD):
        with pytest.raises(PermissionDenied, match="may not configure a school's login"):
            registry.configure_login(school.id, config(), policy=POLICY, actor=Actor("u", role))
    assert registry.school(school.id).login is None


def test_configure_login_revalidates_hand_built_config(registry: Registry) -> None:
    school = add_school(registry, "zuid")
    sneaky = LoginConfig(
        issuer=ISSUER,
        client_id="c",
        secret_ref="env:VANGNET_IDP_SECRET_X",
        rules=(ClaimRule("group", "x", Role.OPERATOR),),  # built by hand: not validated
    )
    with pytest.raises(InvalidLoginConfig, match="operator"):
        registry.configure_login(school.id, sneaky, policy=POLICY)
    ok_ref = "env:VANGNET_IDP_SECRET_X"
    bad_issuer = LoginConfig(issuer="http://evil.example", client_id="c", secret_ref=ok_ref)
    with pytest.raises(InvalidLoginConfig, match="https"):
        registry.configure_login(school.id, bad_issuer, policy=POLICY)
    # Built by hand past validate_login: the registry applies the policy itself.
    master_key = LoginConfig(issuer=ISSUER, client_id="c", secret_ref="env:VANGNET_MASTER_KEY")
    with pytest.raises(InvalidLoginConfig) as info:
        registry.configure_login(school.id, master_key, policy=POLICY)
    assert info.value.reason == "env_outside_prefix"
    environ = LoginConfig(issuer=ISSUER, client_id="c", secret_ref="file:/proc/self/environ")
    with pytest.raises(InvalidLoginConfig) as info:
        registry.configure_login(school.id, environ, policy=POLICY)
    assert info.value.reason == "file_outside_dir"
    assert registry.school(school.id).login is None


def test_schools_for_issuer_follows_changes(registry: Registry) -> None:
    a = add_school(registry, "school-a")
    b = add_school(registry, "school-b")
    assert registry.schools_for_issuer(ISSUER) == []
    registry.configure_login(b.id, config(), policy=POLICY)
    registry.configure_login(a.id, config(), policy=POLICY)
    assert [s.slug for s in registry.schools_for_issuer(ISSUER)] == ["school-a", "school-b"]
    assert [s.slug for s in registry.schools_with_login()] == ["school-a", "school-b"]
    other = "https://other.example"
    registry.configure_login(a.id, config(issuer=other), policy=POLICY)
    assert [s.slug for s in registry.schools_for_issuer(ISSUER)] == ["school-b"]
    assert [s.slug for s in registry.schools_for_issuer(other)] == ["school-a"]
    add_school(registry, "school-c")  # no login: not listed
    assert len(registry.schools_with_login()) == 2
    assert registry.schools_for_issuer("https://nobody.example") == []


# --- claims -> principal -------------------------------------------------------------------


def settings(**overrides: Any) -> Settings:
    options: dict[str, Any] = {
        "database_url": None,
        "data_dir": Path("/nonexistent"),
        "master_key": bytes(32),
        "operator_issuer": "https://operator.example",
        "operator_client_id": "vangnet-operator",
        "operator_secret_ref": "env:VANGNET_IDP_SECRET_OP",
    }
    options.update(overrides)
    return Settings(**options)


def test_principal_for_school(registry: Registry) -> None:
    school = add_school(registry, "de-regenboog")
    registry.configure_login(school.id, config(), policy=POLICY)
    school = registry.school(school.id)
    claims = {"sub": "abc", "name": "Juf Demo", "groups": ["ap", "apc"], "email": "x@y.example"}
    principal = principal_for_school(school, ISSUER, claims)
    assert principal is not None
    assert principal.user_id == "abc"
    assert principal.display_name == "Juf Demo"
    assert (principal.school_id, principal.school_slug) == (school.id, "de-regenboog")
    assert principal.board_id == school.board_id
    assert principal.roles == (Role.CONTACT_PERSON, Role.COORDINATOR)
    assert principal.role is Role.CONTACT_PERSON
    assert principal_for_school(school, ISSUER, {"sub": "abc", "groups": ["other"]}) is None
    assert principal_for_school(school, "https://other.example", claims) is None
    assert principal_for_school(school, ISSUER, {"groups": ["ap"]}) is None  # no sub


def test_principal_for_operator() -> None:
    claims = {"sub": "op", "name": "Beheer", "groups": ["vangnet-operators"]}
    principal = principal_for_operator(settings(), claims)
    assert principal is not None
    assert principal.roles == (Role.OPERATOR,)
    assert principal.school_id is None
    assert principal.board_id is None
    assert principal_for_operator(settings(), {"sub": "op", "groups": ["staff"]}) is None
    assert principal_for_operator(settings(operator_issuer=None), claims) is None


def test_subject_hash_is_stable_and_opaque() -> None:
    digest = subject_hash(ISSUER, "user-123")
    assert digest == subject_hash(ISSUER, "user-123")
    assert digest != subject_hash("https://other.example", "user-123")
    assert "user-123" not in digest
    assert len(digest) == 16


# --- bearer -> principal (the validator is faked; tests/unit/test_tokens.py covers it) -----


class FakeValidator(BearerValidator):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def validate(self, token: str, *, issuer: str, audience: str) -> dict[str, Any]:
        from infra.adapters.auth.tokens import unverified_claims

        self.calls.append((issuer, audience))
        claims = unverified_claims(token) or {}
        if claims.get("iss") != issuer:
            raise InvalidToken("wrong issuer")
        return claims


def fake_token(claims: dict[str, Any]) -> str:
    import base64
    import json

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return b64({"alg": "RS256"}) + "." + b64(claims) + ".sig"


def test_principal_from_bearer_picks_the_school(registry: Registry) -> None:
    a = add_school(registry, "school-a")
    b = add_school(registry, "school-b")
    registry.configure_login(a.id, config(api_audience="api-a"), policy=POLICY)
    registry.configure_login(b.id, config(api_audience="api-b"), policy=POLICY)
    validator = FakeValidator()

    def resolve(claims: dict[str, Any], hint: str | None = None) -> Any:
        return asyncio.run(
            principal_from_bearer(
                fake_token(claims), registry=registry, validator=validator, school_slug_hint=hint
            )
        )

    token_claims = {"iss": ISSUER, "sub": "u", "aud": "api-b", "groups": ["apc"]}
    principal = resolve(token_claims)
    assert principal.school_slug == "school-b"
    assert validator.calls == [(ISSUER, "api-b")]
    with pytest.raises(InvalidToken, match="does not accept"):
        resolve(token_claims, hint="school-a")
    with pytest.raises(InvalidToken, match="no school trusts"):
        resolve({**token_claims, "aud": "api-c"})
    with pytest.raises(NoRole):
        resolve({**token_claims, "groups": ["nothing"]})
    with pytest.raises(InvalidToken, match="malformed"):
        asyncio.run(
            principal_from_bearer(
                "garbage", registry=registry, validator=validator, school_slug_hint=None
            )
        )


def test_principal_from_bearer_needs_the_header_when_several_schools_match(
    registry: Registry,
) -> None:
    ids: dict[str, UUID] = {}
    for slug in ("school-a", "school-b"):
        ids[slug] = add_school(registry, slug).id
        registry.configure_login(ids[slug], config(api_audience="board-api"), policy=POLICY)
    validator = FakeValidator()
    token = fake_token({"iss": ISSUER, "sub": "u", "aud": "board-api", "groups": ["ap"]})

    with pytest.raises(InvalidToken, match="send X-Vangnet-School"):
        asyncio.run(
            principal_from_bearer(
                token, registry=registry, validator=validator, school_slug_hint=None
            )
        )
    principal = asyncio.run(
        principal_from_bearer(
            token, registry=registry, validator=validator, school_slug_hint="school-b"
        )
    )
    assert principal.school_id == ids["school-b"]


def test_principal_from_bearer_operator(registry: Registry) -> None:
    validator = FakeValidator()
    op_claims = {
        "iss": "https://operator.example",
        "sub": "op",
        "aud": "vangnet-operator",
        "groups": ["vangnet-operators"],
    }

    def resolve(claims: dict[str, Any]) -> Any:
        return asyncio.run(
            principal_from_bearer(
                fake_token(claims),
                registry=registry,
                validator=validator,
                school_slug_hint=None,
                settings=settings(),
            )
        )

    assert resolve(op_claims).role is Role.OPERATOR
    with pytest.raises(NoRole, match="operator"):
        resolve({**op_claims, "groups": ["staff"]})
    with pytest.raises(InvalidToken, match="no school trusts"):
        resolve({**op_claims, "aud": "something-else"})
