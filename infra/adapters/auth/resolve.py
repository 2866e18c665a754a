"""From verified claims to a :class:`~infra.adapters.auth.principal.Principal`.

After login (ID-token claims) or on an API call (access-token claims) the claims are mapped to
Vangnet roles by the school's rules (:func:`tenants.login.map_claims`). The platform operator
is separate: their provider is configured in settings, and only the ``groups`` claim value
``settings.operator_group`` makes someone an operator (no school rule can).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import anyio.to_thread

from infra.adapters.auth.principal import Principal, first_role
from infra.adapters.auth.tokens import BearerValidator, InvalidToken, audiences, unverified_claims
from infra.config.settings import Settings
from services.access.roles import Role
from services.people.directory import PersonInactive
from tenants.login import InvalidLoginConfig, map_claims
from tenants.registry import School

logger = logging.getLogger("vangnet.auth")

#: Header an API client sends to choose the school when several trust its token.
SCHOOL_HEADER = "X-Vangnet-School"
#: Header an API client sends to act in one of its roles (applied by the caller).
ROLE_HEADER = "X-Vangnet-Role"


class NoRole(InvalidToken):
    """The token is valid but its claims map to no role here (answer 403, not 401)."""


class SchoolDirectory(Protocol):
    """What :func:`principal_from_bearer` needs of :class:`tenants.registry.Registry`."""

    def schools_for_issuer(self, issuer: str) -> list[School]:
        """The schools whose login names ``issuer``."""
        ...


def subject_hash(issuer: str, sub: str) -> str:
    """A short, stable pseudonym of a person for logs (never log names or e-mail)."""
    return hashlib.sha256(f"{issuer}\x00{sub}".encode()).hexdigest()[:16]


def _display_name(claims: Mapping[str, Any]) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    return ""


def _subject(claims: Mapping[str, Any]) -> str | None:
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def principal_for_school(
    school: School, issuer: str, claims: Mapping[str, Any]
) -> Principal | None:
    """The person at ``school`` the claims describe, or ``None`` when no rule grants a role.

    ``issuer`` must be the school's configured issuer (the claims were verified against it).
    """
    login = school.login
    sub = _subject(claims)
    if login is None or login.issuer != issuer or sub is None:
        return None
    roles = map_claims(claims, login.rules)
    if not roles:
        return None
    return Principal(
        user_id=sub,
        issuer=issuer,
        display_name=_display_name(claims),
        school_id=school.id,
        school_slug=school.slug,
        board_id=school.board_id,
        roles=roles,
        role=first_role(roles),
        subject=sub,
    )


def _groups(claims: Mapping[str, Any]) -> list[str]:
    groups = claims.get("groups")
    if isinstance(groups, str):
        return [groups]
    if isinstance(groups, list):
        return [g for g in groups if isinstance(g, str)]
    return []


def principal_for_operator(settings: Settings, claims: Mapping[str, Any]) -> Principal | None:
    """A platform operator, when the claims' ``groups`` has ``settings.operator_group``.

    The claims must come from ``settings.operator_issuer`` (verified by the caller).
    """
    sub = _subject(claims)
    if settings.operator_issuer is None or sub is None:
        return None
    if settings.operator_group not in _groups(claims):
        return None
    return Principal(
        user_id=sub,
        issuer=settings.operator_issuer,
        display_name=_display_name(claims),
        school_id=None,
        school_slug=None,
        board_id=None,
        roles=(Role.OPERATOR,),
        role=Role.OPERATOR,
        subject=sub,
    )


class PeopleAdmission(Protocol):
    """What :func:`principal_from_bearer` needs of the staff directory
    (:class:`infra.entrypoints.web.auth.gate.PeopleGate`)."""

    async def admit_async(
        self, school: School, principal: Principal, claims: Mapping[str, Any]
    ) -> Principal:
        """The principal as the school's person (just in time); ``PersonInactive`` when the
        person is deactivated or removed."""
        ...


async def principal_from_bearer(
    token: str,
    *,
    registry: SchoolDirectory,
    validator: BearerValidator,
    school_slug_hint: str | None,
    settings: Settings | None = None,
    people: PeopleAdmission | None = None,
) -> Principal:
    """The principal a bearer access token stands for, or :class:`InvalidToken` (401) /
    :class:`NoRole` (403).

    The token's unverified ``iss`` and ``aud`` only pick the candidates: schools whose login
    names that issuer and whose ``api_audience`` is in ``aud`` (and the operator's provider,
    when ``settings`` names it); the token is then verified against the chosen one. When
    several schools trust the same provider and audience (e.g. one board-wide tenant),
    ``school_slug_hint`` (the ``X-Vangnet-School`` header) must pick one.
    """
    unverified = unverified_claims(token)
    issuer = unverified.get("iss") if unverified else None
    if not isinstance(issuer, str) or not issuer:
        raise InvalidToken("malformed token")
    aud = audiences(unverified or {})

    schools = await anyio.to_thread.run_sync(registry.schools_for_issuer, issuer)
    if school_slug_hint:
        # The hinted school first: reading a school's login costs a lookup (School.login), and
        # a board-wide provider is trusted by every school of the board (50 lookups a request).
        schools = [s for s in schools if s.slug == school_slug_hint]
    candidates = [s for s in schools if s.login is not None and s.login.api_audience in aud]

    if school_slug_hint:
        chosen = candidates
        if not chosen:
            raise InvalidToken("this school does not accept this token")
        return await _school_principal(chosen[0], token, validator, settings, people)

    operator_client = settings.operator_client_id if settings else None
    if settings and settings.operator_issuer == issuer and operator_client in aud:
        claims = await validator.validate(token, issuer=issuer, audience=str(operator_client))
        principal = principal_for_operator(settings, claims)
        if principal is not None:
            return principal
        if not candidates:
            raise NoRole("no operator role for this token")

    if not candidates:
        raise InvalidToken("no school trusts this token's issuer and audience")
    if len(candidates) > 1:
        raise InvalidToken(f"several schools trust this token: send {SCHOOL_HEADER}")
    return await _school_principal(candidates[0], token, validator, settings, people)


async def _school_principal(
    school: School,
    token: str,
    validator: BearerValidator,
    settings: Settings | None,
    people: PeopleAdmission | None = None,
) -> Principal:
    login = school.login
    assert login is not None  # candidates all have a login configuration
    if settings is not None:
        # A stored issuer the deployment no longer allows is not asked for keys.
        try:
            settings.login_policy.check_issuer(login.issuer)
        except InvalidLoginConfig as error:
            logger.error(
                "bearer token refused (school %s): issuer not allowed (%s)",
                school.slug,
                error.reason,
            )
            raise InvalidToken("this school's identity provider is not allowed here") from None
    claims = await validator.validate(token, issuer=login.issuer, audience=login.api_audience)
    principal = principal_for_school(school, login.issuer, claims)
    if principal is None:
        raise NoRole("no role at this school for this token")
    if people is None:
        return principal
    try:
        return await people.admit_async(school, principal, claims)
    except PersonInactive:
        logger.warning(
            "bearer token refused, person deactivated (school %s, subject %s)",
            school.slug,
            subject_hash(principal.issuer, principal.subject),
        )
        raise
