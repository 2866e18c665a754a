"""A person of a school's staff, as an event-sourced aggregate (see README.md).

Persons live in the school's own log beside its cases. Every event says who made the change:
the person at their own login (``actor_role = "self"``), the school's SCIM client
(``actor_id = "scim"``), or an operator. That is given explicitly (:class:`ChangedBy`), not read
from the request's acting user: a login or a provisioning call has no acting user of the case
kind. Event names are a permanent contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.access.roles import Role
from services.shared.errors import InvalidInput, WrongState
from services.shared.text import clean_text

#: Longest display name, e-mail address, userName and externalId.
MAX_NAME = 200
MAX_IDENTIFIER = 256

#: Sources of a change (``PersonRegistered.source`` and friends).
LOGIN = "login"
SCIM = "scim"
OPERATOR = "operator"


@dataclass(frozen=True)
class ChangedBy:
    """Who made a directory change: an id (a person id, ``scim``, an operator's id) and the
    capacity (a role value, ``self`` or ``directory_sync``)."""

    actor_id: str
    actor_role: str


SCIM_CLIENT = ChangedBy("scim", "directory_sync")


@dataclass(frozen=True)
class Profile:
    """What a person is called and how to reach them; what SCIM calls them (all optional but
    the display name)."""

    display_name: str
    email: str = ""
    user_name: str = ""
    external_id: str = ""

    def cleaned(self) -> Profile:
        """The profile with every value through the one rule for text, bounded."""
        return Profile(
            display_name=clean_text(self.display_name, "display_name", max_len=MAX_NAME),
            email=clean_text(self.email, "email", required=False, max_len=MAX_IDENTIFIER),
            user_name=clean_text(
                self.user_name, "user_name", required=False, max_len=MAX_IDENTIFIER
            ),
            external_id=clean_text(
                self.external_id, "external_id", required=False, max_len=MAX_IDENTIFIER
            ),
        )

    def to_json(self) -> dict[str, str]:
        return {
            "display_name": self.display_name,
            "email": self.email,
            "user_name": self.user_name,
            "external_id": self.external_id,
        }


def role_values(roles: tuple[Role, ...] | list[Role]) -> list[str]:
    """Roles as stored: each once, in :class:`Role` order (so equal sets compare equal)."""
    given = set(roles)
    if Role.OPERATOR in given:
        raise InvalidInput("a person of a school cannot be a platform operator", field="roles")
    return [r.value for r in Role if r in given]


class Person(Aggregate):
    """One member of staff of one school."""

    class Event(Aggregate.Event):
        actor_id: str
        actor_role: str

    class PersonRegistered(Event, Aggregate.Created):
        school_id: UUID
        source: str
        profile: dict[str, str]
        roles: list[str]
        issuer: str | None
        subject: str | None
        given_roles: list[str] | None

    class PersonProfileChanged(Event):
        profile: dict[str, str]

    class PersonRolesChanged(Event):
        """``roles``: the Vangnet roles; ``given_roles``: the values the school's directory
        sent (SCIM ``roles``), kept as sent; ``None``: unchanged."""

        roles: list[str]
        source: str
        given_roles: list[str] | None

    class PersonLoginLinked(Event):
        """The person's login identity (set at their first login, or taken over by a
        re-provisioned record)."""

        issuer: str
        subject: str

    class PersonLoginReleased(Event):
        """The login identity moved to another (re-provisioned) record of the same person."""

    class PersonDeactivated(Event):
        source: str

    class PersonReactivated(Event):
        source: str

    class PersonRemoved(Event):
        """Deleted by the school's directory (SCIM DELETE): deactivated, no longer in SCIM; the
        name stays for the history of the cases the person acted in."""

        source: str

    # --- creation --------------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        school_id: UUID,
        profile: Profile,
        roles: tuple[Role, ...],
        by: ChangedBy,
        source: str,
        issuer: str | None = None,
        subject: str | None = None,
        person_id: UUID | None = None,
        given_roles: tuple[str, ...] | None = None,
    ) -> Person:
        """A new person (``person_id``: chosen by the caller, e.g. the demo; else random;
        ``given_roles``: the role values the school's directory sent, as sent)."""
        kwargs: dict[str, Any] = {}
        if person_id is not None:
            kwargs["id"] = person_id
        return cls._create(
            cls.PersonRegistered,
            school_id=school_id,
            source=source,
            profile=profile.cleaned().to_json(),
            roles=role_values(roles),
            issuer=issuer,
            subject=subject,
            given_roles=None if given_roles is None else list(given_roles),
            actor_id=by.actor_id,
            actor_role=by.actor_role,
            **kwargs,
        )

    @event(PersonRegistered)
    def __init__(
        self,
        *,
        school_id: UUID,
        source: str,
        profile: dict[str, str],
        roles: list[str],
        issuer: str | None,
        subject: str | None,
        given_roles: list[str] | None,
        actor_id: str,
        actor_role: str,
    ) -> None:
        self.school_id = school_id
        self.given_roles = None if given_roles is None else tuple(given_roles)
        self.provisioned = source != LOGIN  # created ahead of a first login (SCIM, operator)
        self.profile = Profile(**profile)
        self.roles = tuple(Role(r) for r in roles)
        self.issuer = issuer
        self.subject = subject
        self.active = True
        self.removed = False

    # --- changes -----------------------------------------------------------------------------

    def _must_not_be_removed(self) -> None:
        if self.removed:
            msg = f"person {self.id} was removed from the directory"
            raise WrongState(msg, reason="person_removed")

    def change_profile(self, profile: Profile, *, by: ChangedBy) -> bool:
        """Record a new profile; ``False`` (nothing recorded) when it is the same."""
        self._must_not_be_removed()
        cleaned = profile.cleaned()
        if cleaned == self.profile:
            return False
        self._change_profile(
            profile=cleaned.to_json(), actor_id=by.actor_id, actor_role=by.actor_role
        )
        return True

    @event(PersonProfileChanged)
    def _change_profile(self, profile: dict[str, str], actor_id: str, actor_role: str) -> None:
        self.profile = Profile(**profile)

    def change_roles(
        self,
        roles: tuple[Role, ...],
        *,
        by: ChangedBy,
        source: str,
        given_roles: tuple[str, ...] | None = None,
    ) -> bool:
        """Record the roles the school's rules now give (and, from the school's directory, the
        values it sent); ``False`` when unchanged."""
        self._must_not_be_removed()
        values = role_values(roles)
        same_given = given_roles is None or given_roles == self.given_roles
        if values == [r.value for r in self.roles] and same_given:
            return False
        self._change_roles(
            roles=values,
            source=source,
            given_roles=None if given_roles is None else list(given_roles),
            actor_id=by.actor_id,
            actor_role=by.actor_role,
        )
        return True

    @event(PersonRolesChanged)
    def _change_roles(
        self,
        roles: list[str],
        source: str,
        given_roles: list[str] | None,
        actor_id: str,
        actor_role: str,
    ) -> None:
        self.roles = tuple(Role(r) for r in roles)
        if given_roles is not None:
            self.given_roles = tuple(given_roles)

    def link_login(self, issuer: str, subject: str, *, by: ChangedBy) -> None:
        """Give the person their login identity (first login, or taken over)."""
        self._must_not_be_removed()
        if not self.active:
            msg = f"person {self.id} is deactivated"
            raise WrongState(msg, reason="person_inactive")
        self._link_login(
            issuer=issuer, subject=subject, actor_id=by.actor_id, actor_role=by.actor_role
        )

    @event(PersonLoginLinked)
    def _link_login(self, issuer: str, subject: str, actor_id: str, actor_role: str) -> None:
        self.issuer = issuer
        self.subject = subject

    def release_login(self, *, by: ChangedBy) -> None:
        """Hand the login identity over to another record (see README: linking)."""
        if self.subject is None:
            return
        self._release_login(actor_id=by.actor_id, actor_role=by.actor_role)

    @event(PersonLoginReleased)
    def _release_login(self, actor_id: str, actor_role: str) -> None:
        self.issuer = None
        self.subject = None

    def set_active(self, active: bool, *, by: ChangedBy, source: str) -> bool:
        """Deactivate or reactivate; ``False`` when it already was."""
        self._must_not_be_removed()
        if active == self.active:
            return False
        if active:
            self._reactivate(source=source, actor_id=by.actor_id, actor_role=by.actor_role)
        else:
            self._deactivate(source=source, actor_id=by.actor_id, actor_role=by.actor_role)
        return True

    @event(PersonDeactivated)
    def _deactivate(self, source: str, actor_id: str, actor_role: str) -> None:
        self.active = False

    @event(PersonReactivated)
    def _reactivate(self, source: str, actor_id: str, actor_role: str) -> None:
        self.active = True

    def remove(self, *, by: ChangedBy, source: str) -> None:
        """Removed by the school's directory: deactivated for good (see README)."""
        self._must_not_be_removed()
        self._remove(source=source, actor_id=by.actor_id, actor_role=by.actor_role)

    @event(PersonRemoved)
    def _remove(self, source: str, actor_id: str, actor_role: str) -> None:
        self.active = False
        self.removed = True

    @property
    def may_log_in(self) -> bool:
        return self.active and not self.removed


#: The directory's event catalogue (every event type a person can record).
EVENT_TYPES: tuple[type[Person.Event], ...] = tuple(
    v
    for name, v in vars(Person).items()
    if isinstance(v, type) and issubclass(v, Person.Event) and name not in {"Event", "Created"}
)
