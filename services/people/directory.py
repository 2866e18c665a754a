"""The staff directory's use cases: a login (just in time), and the school's provisioning client
(SCIM: create, replace, activate/deactivate, remove). See README.md for the rules.

Where persons are stored is the port :class:`PeopleStore` (``infra.adapters.people.store``): the
events
in the school's log and the index rows beside them, saved in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from services.access.roles import Role
from services.people.domain import (
    LOGIN,
    SCIM,
    SCIM_CLIENT,
    ChangedBy,
    Person,
    Profile,
)
from services.shared.errors import InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)

#: Claims a first login is matched on against a provisioned person's userName, in this order.
USER_NAME_CLAIMS = ("preferred_username", "upn", "email")
#: Claim matched against a provisioned person's externalId (Entra ID's object id).
EXTERNAL_ID_CLAIM = "oid"
#: What a person is called when the provider sends no name at all.
NO_NAME = "(naam onbekend)"


class PersonNotFound(NotFound):
    code = "person_not_found"


class PersonInactive(PermissionDenied):
    """The person is deactivated or removed: no login, no token."""

    code = "person_inactive"


class Taken(InvalidInput):
    """A unique value (userName, externalId, login identity) belongs to another person."""

    code = "taken"


class PeopleStore(Protocol):
    """Where one school's persons are kept (events and their index, in step)."""

    def load(self, person_id: UUID) -> Person | None:
        """The person of this school, or ``None``."""
        ...

    def save(self, *people: Person) -> None:
        """Store the persons' new events and their index rows in one transaction.
        :class:`Taken` (``field``: ``userName``, ``externalId``, ``login``) when a unique value
        is someone else's; nothing is stored then."""
        ...

    def by_login(self, issuer: str, subject: str) -> UUID | None:
        """The person with this login identity (removed ones too)."""
        ...

    def unlinked(self, user_names: Sequence[str], external_ids: Sequence[str]) -> list[UUID]:
        """Active, provisioned persons without a login identity whose userName is one of
        ``user_names`` (case-insensitively) or whose externalId is one of ``external_ids``."""
        ...


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) else ""


def name_from_claims(claims: Mapping[str, Any]) -> str:
    """The display name the claims give (``name``, else given + family name, else the e-mail
    or username), bounded and cleaned later by the profile."""
    name = _text(claims, "name")
    if not name:
        name = " ".join(p for p in (_text(claims, "given_name"), _text(claims, "family_name")) if p)
    return (name or _text(claims, "email") or _text(claims, "preferred_username") or NO_NAME)[:200]


def email_from_claims(claims: Mapping[str, Any]) -> str:
    """The e-mail address, unless the provider says it is not verified."""
    if claims.get("email_verified") is False:
        return ""
    return _text(claims, "email")[:256]


def link_keys(claims: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(userName candidates, externalId candidates) a first login is linked on."""
    names = []
    for claim in USER_NAME_CLAIMS:
        if claim == "email" and claims.get("email_verified") is False:
            continue
        value = _text(claims, claim)
        if value and value not in names:
            names.append(value)
    oid = _text(claims, EXTERNAL_ID_CLAIM)
    return names, [oid] if oid else []


@dataclass(frozen=True)
class Provisioned:
    """What the school's directory says of a person (a SCIM User, as the domain reads it).
    ``roles`` is ``None`` when the client sent no roles (then they are left as they are)."""

    profile: Profile
    roles: tuple[Role, ...] | None
    active: bool = True
    #: The role values as the directory sent them (kept, and answered back, as sent).
    given_roles: tuple[str, ...] | None = None


class Directory:
    """The use cases of one school's staff directory."""

    def __init__(self, store: PeopleStore, school_id: UUID) -> None:
        self.store = store
        self.school_id = school_id

    # --- login (just in time) -------------------------------------------------------------

    def sign_in(
        self, issuer: str, subject: str, claims: Mapping[str, Any], roles: tuple[Role, ...]
    ) -> Person:
        """The person a login (or a bearer token) of ``issuer``/``subject`` is, found or
        created, with name, e-mail and roles refreshed from the claims (``roles``: what the
        school's rules map the claims to). :class:`PersonInactive` when deactivated or
        removed and no re-provisioned record takes the identity over."""
        found = self.store.by_login(issuer, subject)
        person = self.store.load(found) if found is not None else None
        if person is not None and person.may_log_in:
            self._refresh(person, claims, roles, ChangedBy(str(person.id), "self"))
            self.store.save(person)
            return person
        takeover = self._provisioned_match(claims)
        if takeover is not None:
            by = ChangedBy(str(takeover.id), "self")
            changed = []
            if person is not None:
                person.release_login(by=by)  # the old record of the same person
                changed.append(person)
            takeover.link_login(issuer, subject, by=by)
            self._refresh(takeover, claims, roles, by)
            self.store.save(*changed, takeover)
            return takeover
        if person is not None:
            msg = f"person {person.id} is {'removed' if person.removed else 'deactivated'}"
            raise PersonInactive(msg, reason="removed" if person.removed else "deactivated")
        new = Person.register(
            school_id=self.school_id,
            profile=Profile(display_name=name_from_claims(claims), email=email_from_claims(claims)),
            roles=roles,
            by=ChangedBy("login", "self"),
            source=LOGIN,
            issuer=issuer,
            subject=subject,
        )
        self.store.save(new)
        return new

    def _provisioned_match(self, claims: Mapping[str, Any]) -> Person | None:
        user_names, external_ids = link_keys(claims)
        if not user_names and not external_ids:
            return None
        found = self.store.unlinked(user_names, external_ids)
        if len(found) != 1:
            if found:
                log.warning("login matches %d provisioned persons: none linked", len(found))
            return None
        return self.store.load(found[0])

    @staticmethod
    def _refresh(
        person: Person, claims: Mapping[str, Any], roles: tuple[Role, ...], by: ChangedBy
    ) -> None:
        current = person.profile
        person.change_profile(
            Profile(
                display_name=name_from_claims(claims)
                if name_from_claims(claims) != NO_NAME
                else current.display_name,
                email=email_from_claims(claims) or current.email,
                user_name=current.user_name,
                external_id=current.external_id,
            ),
            by=by,
        )
        person.change_roles(roles, by=by, source=LOGIN)

    # --- the school's provisioning client (SCIM) --------------------------------------------

    def person(self, person_id: UUID) -> Person:
        """A person of this school that SCIM can see (not removed), else
        :class:`PersonNotFound`."""
        person = self.store.load(person_id)
        if person is None or person.removed:
            raise PersonNotFound(f"person {person_id} not found")
        return person

    def provision(self, given: Provisioned, *, by: ChangedBy = SCIM_CLIENT) -> Person:
        """A new person, ahead of their first login."""
        person = Person.register(
            school_id=self.school_id,
            profile=given.profile,
            roles=given.roles or (),
            by=by,
            source=SCIM,
            given_roles=given.given_roles,
        )
        if not given.active:
            person.set_active(False, by=by, source=SCIM)
        self.store.save(person)
        return person

    def replace(
        self, person_id: UUID, given: Provisioned, *, by: ChangedBy = SCIM_CLIENT
    ) -> Person:
        """The person as the school's directory now says (PUT, and PATCH applied)."""
        person = self.person(person_id)
        person.change_profile(given.profile, by=by)
        if given.roles is not None:
            person.change_roles(given.roles, by=by, source=SCIM, given_roles=given.given_roles)
        person.set_active(given.active, by=by, source=SCIM)
        self.store.save(person)
        return person

    def set_active(
        self, person_id: UUID, active: bool, *, by: ChangedBy, source: str = SCIM
    ) -> Person:
        """Deactivate or reactivate (the operator, or the school's directory)."""
        person = self.person(person_id)
        person.set_active(active, by=by, source=source)
        self.store.save(person)
        return person

    def remove(self, person_id: UUID, *, by: ChangedBy = SCIM_CLIENT) -> None:
        """SCIM DELETE: deactivated for good, gone from SCIM (see README)."""
        person = self.person(person_id)
        person.remove(by=by, source=SCIM)
        self.store.save(person)
