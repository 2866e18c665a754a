"""The write side's one check of a person named in a command (see README.md).

``check_person`` is called by the command handler for every field that names a person; it
answers the person's id and the role they take the part in, or refuses with
:class:`~services.shared.errors.InvalidInput` naming the field. Which roles can take which part
is :mod:`services.people.parts`; where persons are found is the port :class:`PersonLookup`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from services.access.roles import Role
from services.people.domain import Person
from services.people.parts import Part, role_in_part, roles_for_part
from services.shared.errors import InvalidInput
from services.shared.text import clean_text


class PersonReason:
    """Why a named person was refused (``InvalidInput.reason``; stable words)."""

    NOT_A_PERSON_ID = "not_a_person_id"
    UNKNOWN = "unknown_person"
    INACTIVE = "inactive_person"
    WRONG_ROLE = "wrong_role"


@dataclass(frozen=True)
class PersonRef:
    """What the write side needs to know of a person: never a name."""

    person_id: UUID
    school_id: UUID
    roles: tuple[Role, ...]
    active: bool


class PersonLookup(Protocol):
    """Where the write side finds the persons of one school."""

    def person(self, person_id: UUID) -> PersonRef | None:
        """The person with this id *at this school*, or ``None``."""
        ...


class LogPeople:
    """:class:`PersonLookup` on the school's own log: the ``Person`` aggregate is loaded from
    the application the cases live in (exact, read-your-writes, no other wiring)."""

    def __init__(self, app: Application[UUID], school_id: UUID) -> None:
        self.app = app
        self.school_id = school_id

    def person(self, person_id: UUID) -> PersonRef | None:
        try:
            person: object = self.app.repository.get(person_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(person, Person) or person.school_id != self.school_id:
            return None
        return PersonRef(
            person_id=person.id,
            school_id=person.school_id,
            roles=person.roles,
            active=person.may_log_in,
        )


@dataclass(frozen=True)
class Named:
    """A checked person: their id (canonical form) and the role they take the part in."""

    person_id: UUID
    role: Role

    @property
    def id(self) -> str:
        return str(self.person_id)


def check_person(
    people: PersonLookup,
    value: str,
    field: str,
    part: Part,
    *,
    wanted_role: str = "",
    role_field: str = "",
    complaint_level: str | None = None,
) -> Named:
    """The person ``value`` names, if they can take ``part`` at this school; else
    :class:`InvalidInput` naming ``field`` (or ``role_field`` when the person is fine but the
    ``wanted_role`` is not one of their roles that can take the part)."""
    text = clean_text(value, field, max_len=64)  # required, and the one rule for text
    try:
        person_id = UUID(text)
    except ValueError:
        msg = f"{field} must be a person id of this school's staff directory (a UUID)"
        raise InvalidInput(msg, field=field, reason=PersonReason.NOT_A_PERSON_ID) from None
    ref = people.person(person_id)
    if ref is None:
        msg = f"{field}: no person {person_id} in this school's staff directory"
        raise InvalidInput(msg, field=field, reason=PersonReason.UNKNOWN)
    if not ref.active:
        msg = f"{field}: person {person_id} is deactivated"
        raise InvalidInput(msg, field=field, reason=PersonReason.INACTIVE)
    allowed = roles_for_part(part, complaint_level=complaint_level)
    role = role_in_part(ref.roles, part, complaint_level=complaint_level)
    if role is None:
        msg = (
            f"{field}: person {person_id} cannot be {part.value.replace('_', ' ')}: that needs "
            + " or ".join(f"'{r}'" for r in sorted(allowed))
        )
        raise InvalidInput(
            msg,
            field=field,
            reason=PersonReason.WRONG_ROLE,
            details={"part": part.value, "roles": sorted(r.value for r in allowed)},
        )
    if wanted_role:
        chosen = role_in_part(ref.roles, part, wanted_role, complaint_level=complaint_level)
        if chosen is None:
            msg = (
                f"{role_field or 'role'}: '{wanted_role[:40]}' is not a role of person "
                f"{person_id} that can be {part.value.replace('_', ' ')}"
            )
            raise InvalidInput(
                msg,
                field=role_field or field,
                reason=PersonReason.WRONG_ROLE,
                details={"part": part.value, "roles": [r.value for r in ref.roles]},
            )
        role = chosen
    return Named(person_id=person_id, role=role)
