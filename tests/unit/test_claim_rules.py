"""Claim rules (tenants.login): the compact text form and mapping claims to roles."""

from __future__ import annotations

from typing import Any

import pytest

from services.access.roles import Role
from tenants.login import ClaimRule, InvalidLoginConfig, map_claims, parse_rule


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("group:vangnet-apc=coordinator", ClaimRule("group", "vangnet-apc", Role.COORDINATOR)),
        ("role:Mentor=teacher", ClaimRule("role", "Mentor", Role.TEACHER)),
        (
            "email_domain:School.Example=teacher",
            ClaimRule("email_domain", "school.example", Role.TEACHER),
        ),
        (
            "email_domain:@school.example=teacher",
            ClaimRule("email_domain", "school.example", Role.TEACHER),
        ),
        (
            "claim:eduPersonAffiliation:employee=teacher",
            ClaimRule("claim", "employee", Role.TEACHER, claim="eduPersonAffiliation"),
        ),
        # Values may contain ':' (URNs) and '=' (LDAP names): kind before the first ':',
        # role after the last '='.
        (
            "group:urn:mace:school:apc=coordinator",
            ClaimRule("group", "urn:mace:school:apc", Role.COORDINATOR),
        ),
        (
            "group:cn=apc,ou=staff=coordinator",
            ClaimRule("group", "cn=apc,ou=staff", Role.COORDINATOR),
        ),
        (
            " group:6f1c0e1a-0000-4000-8000-000000000001 = contact_person ",
            ClaimRule("group", "6f1c0e1a-0000-4000-8000-000000000001", Role.CONTACT_PERSON),
        ),
    ],
)
def test_parse_rule(text: str, rule: ClaimRule) -> None:
    assert parse_rule(text) == rule
    assert parse_rule(rule.to_text()) == rule
    assert ClaimRule.from_json(rule.to_json()) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vangnet-apc=coordinator", "KIND:VALUE=ROLE"),
        ("group:vangnet-apc", "KIND:VALUE=ROLE"),
        ("team:x=teacher", "unknown rule kind"),
        ("group:x=headmaster", "unknown role"),
        ("group:x=operator", "may not grant the operator role"),
        ("group:=teacher", "needs a value"),
        ("email_domain:not a domain=teacher", "domain name"),
        ("email_domain:localhost=teacher", "domain name"),
        ("claim:employee=teacher", "claim:NAME:VALUE=ROLE"),
        ("claim:email:x@school.example=teacher", "use an email_domain rule"),
        ("claim:bad name:x=teacher", "claim name"),
    ],
)
def test_parse_rule_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidLoginConfig, match=message):
        parse_rule(text)


def test_rule_from_json_refuses_unknown_fields_and_operator() -> None:
    with pytest.raises(InvalidLoginConfig, match="unknown fields: extra"):
        ClaimRule.from_json({"kind": "group", "value": "x", "role": "teacher", "extra": 1})
    with pytest.raises(InvalidLoginConfig, match="operator"):
        ClaimRule.from_json({"kind": "group", "value": "x", "role": "operator"})
    with pytest.raises(InvalidLoginConfig, match="only 'claim' rules name a claim"):
        ClaimRule.from_json({"kind": "group", "value": "x", "role": "teacher", "claim": "g"})


RULES = (
    parse_rule("group:vangnet-apc=coordinator"),
    parse_rule("group:vangnet-ap=contact_person"),
    parse_rule("role:Mentor=teacher"),
    parse_rule("email_domain:school.example=teacher"),
    parse_rule("claim:eduPersonAffiliation:staff=care_coordinator"),
)


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"groups": ["vangnet-apc"]}, (Role.COORDINATOR,)),
        ({"groups": "vangnet-apc"}, (Role.COORDINATOR,)),  # one group sent as a string
        ({"groups": ["vangnet-apc", "vangnet-ap"]}, (Role.CONTACT_PERSON, Role.COORDINATOR)),
        ({"groups": ["Vangnet-APC"]}, ()),  # group ids are case-sensitive
        ({"groups": ["vangnet-apc-old"]}, ()),  # whole values only, no prefixes
        ({"roles": ["Mentor"]}, (Role.TEACHER,)),
        ({"groups": ["Mentor"]}, ()),  # a role rule looks at roles, not groups
        ({"email": "j.jansen@school.example"}, (Role.TEACHER,)),
        ({"email": "J.Jansen@SCHOOL.example", "email_verified": True}, (Role.TEACHER,)),
        ({"email": "j.jansen@school.example", "email_verified": False}, ()),
        ({"email": "j@evil-school.example"}, ()),
        ({"email": "j@sub.school.example"}, ()),  # exactly the domain, no subdomains
        ({"email": "school.example"}, ()),
        ({"email": ["j@school.example"]}, ()),
        ({"eduPersonAffiliation": ["student", "staff"]}, (Role.CARE_COORDINATOR,)),
        ({"eduPersonAffiliation": "staff"}, (Role.CARE_COORDINATOR,)),
        ({"groups": [1, None, {"x": "vangnet-apc"}]}, ()),
        ({}, ()),
    ],
)
def test_map_claims(claims: dict[str, Any], roles: tuple[Role, ...]) -> None:
    assert map_claims(claims, RULES) == roles


def test_map_claims_is_deduplicated_and_independent_of_rule_order() -> None:
    claims = {
        "groups": ["vangnet-apc", "vangnet-ap"],
        "roles": ["Mentor"],
        "email": "x@school.example",
    }
    expected = (Role.CONTACT_PERSON, Role.COORDINATOR, Role.TEACHER)
    assert map_claims(claims, RULES) == expected
    assert map_claims(claims, tuple(reversed(RULES))) == expected


def test_map_claims_never_grants_operator_even_from_a_hand_built_rule() -> None:
    sneaky = ClaimRule("group", "admins", Role.OPERATOR)  # bypasses validation
    assert map_claims({"groups": ["admins"]}, [sneaky]) == ()
