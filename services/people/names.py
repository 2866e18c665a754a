"""Names, never ids: the one way pages, the timeline, the case file and e-mails turn the person
ids events hold into what a reader sees, and the people a picker offers for a part.

Where persons are read is the port :class:`PeopleReader` (``infra.adapters.people.store``: the
directory's index table). A person who was deactivated or removed keeps their name in history
(with "niet meer actief"); an id the directory does not know (an old login id, a typo from before
the directory) reads as :data:`UNKNOWN_NAME`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.access.roles import ROLE_LABELS_NL, Role
from services.people.parts import Part, role_in_part, roles_for_part
from services.shared.actor import PUBLIC_REPORTER, RECEIPT_LINK, SYSTEM

#: What an id reads as when the directory does not know it.
UNKNOWN_NAME = "[onbekend]"
#: Added to the name of a deactivated or removed person.
INACTIVE_NL = "niet meer actief"

#: What the technical actors read as in history (they are no person: no role is added).
TECHNICAL_ACTORS = {
    SYSTEM.user_id: "Vangnet (automatisch)",
    PUBLIC_REPORTER.user_id: "Melder via het meldformulier",
    RECEIPT_LINK.user_id: "Ontvanger via de ontvangstlink",
}

#: The fields of events and of the case view that name a person (their values are person ids).
PERSON_FIELDS = frozenset({"owner_id", "assignee_id", "user_id", "coordinator_id", "actor_id"})

#: The longest search text a picker takes.
MAX_QUERY = 100
#: At most this many people are offered at once.
MAX_CANDIDATES = 200


@dataclass(frozen=True)
class PersonName:
    """What a reader may see of a person: a name, their roles, whether they are active."""

    person_id: str
    display_name: str
    roles: tuple[Role, ...] = ()
    active: bool = True

    @property
    def label(self) -> str:
        """The name as history shows it (a deactivated person still by name)."""
        return self.display_name if self.active else f"{self.display_name} ({INACTIVE_NL})"


class PeopleReader(Protocol):
    """Where the persons of one school are read for display (never a pupil)."""

    def names(self, person_ids: Collection[str]) -> Mapping[str, PersonName]:
        """The persons these ids name (person ids; older login ids too), removed ones
        included; unknown ids are left out."""
        ...

    def active_with_roles(
        self, roles: Collection[Role], query: str = "", limit: int = MAX_CANDIDATES
    ) -> list[PersonName]:
        """Active persons with one of ``roles`` whose name contains ``query``
        (case-insensitively), by name."""
        ...


@dataclass(frozen=True)
class Names:
    """Resolved names of a page, a file or an e-mail: ``names(id)`` is the label to show."""

    found: Mapping[str, PersonName] = field(default_factory=dict)

    def __call__(self, person_id: object) -> str:
        if person_id is None or person_id == "":
            return ""
        person = self.found.get(str(person_id))
        if person is not None:
            return person.label
        return TECHNICAL_ACTORS.get(str(person_id), UNKNOWN_NAME)

    def technical(self, actor_id: object) -> bool:
        """Whether ``actor_id`` is a technical actor (no person, so no role to show)."""
        key = str(actor_id or "")
        return key not in self.found and key in TECHNICAL_ACTORS

    def actor(self, actor_id: object, role: object) -> str:
        """Who did something, as history shows it: a person's name and the role they acted in;
        a technical actor (the system, the public report form) by what it is, when the directory
        knows no person by that id."""
        if self.technical(actor_id):
            return self(actor_id)
        try:
            role_label = ROLE_LABELS_NL[Role(str(role or ""))]
        except ValueError:
            role_label = str(role or "")
        return f"{self(actor_id)} ({role_label})" if role_label else self(actor_id)

    def person(self, person_id: object) -> PersonName | None:
        return self.found.get(str(person_id)) if person_id else None


def resolve(reader: PeopleReader, person_ids: Iterable[object]) -> Names:
    """The names of ``person_ids`` in one read (empty ids skipped)."""
    wanted = sorted({str(i) for i in person_ids if i})
    return Names(dict(reader.names(wanted)) if wanted else {})


def ids_in(value: Any) -> set[str]:
    """Every person id in a case view document or event data: the values of
    :data:`PERSON_FIELDS`, the engaged colleagues of steps, a complaint's supporters."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in PERSON_FIELDS and isinstance(item, str) and item:
                found.add(item)
            elif key == "engaged_user_ids" and isinstance(item, list):
                found.update(str(i) for i in item if i)
            elif key == "support" and isinstance(item, Mapping):
                found.update(str(k) for k in item)
            else:
                found |= ids_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= ids_in(item)
    return found


@dataclass(frozen=True)
class Candidate:
    """A person a picker offers for a part: the role they take it in (their first that can),
    and all their roles that can take it (an engaged colleague chooses one)."""

    person_id: str
    display_name: str
    roles: tuple[Role, ...]

    @property
    def role(self) -> Role:
        return self.roles[0]

    @property
    def role_label(self) -> str:
        return ", ".join(ROLE_LABELS_NL[r] for r in self.roles)

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.role_label})"


def candidates(
    reader: PeopleReader,
    part: Part,
    *,
    query: str = "",
    complaint_level: str | None = None,
    limit: int = MAX_CANDIDATES,
) -> list[Candidate]:
    """The active people of the school who may take ``part``, by name, with their roles that
    can take it (the first is the one recorded when none is chosen)."""
    allowed = roles_for_part(part, complaint_level=complaint_level)
    if not allowed:
        return []
    found = []
    for person in reader.active_with_roles(allowed, query.strip()[:MAX_QUERY], limit):
        first = role_in_part(person.roles, part, complaint_level=complaint_level)
        if first is None:
            continue
        rest = tuple(r for r in person.roles if r in allowed and r is not first)
        found.append(Candidate(person.person_id, person.display_name, (first, *rest)))
    return found
