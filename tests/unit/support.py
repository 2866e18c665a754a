"""Helpers for the unit tier: in-memory applications, fictitious actors, "refused and nothing
stored" checks. Every name and text is clearly fictitious ("Leerling Test-A", "Fictieve melding").
"""

from __future__ import annotations

from uuid import UUID, uuid5

import pytest

from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.commands import CaseCommand
from services.casework.handlers import CaseService
from services.people.lookup import LogPeople, PersonRef
from services.shared.actor import Actor
from services.shared.errors import DomainError

#: Namespace of the test actors' person ids (deterministic, so ids read the same every run).
TEST_PEOPLE_NS = UUID("7e57a000-0000-5000-8000-000000000001")
#: Every actor made by :func:`actor`: their person id and role (the unit tier's staff).
TEST_STAFF: dict[UUID, Role] = {}

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def new_app() -> CaseworkApplication:
    """A casework application on the in-memory (popo) event store."""
    return CaseworkApplication(env=IN_MEMORY)


def stored_count(app: CaseworkApplication, case_id: UUID) -> int:
    """How many events of this case the application's log holds."""
    return len(list(app.events.get(case_id)))


def stored_types(app: CaseworkApplication, case_id: UUID) -> list[str]:
    """The event class names of this case's log, in order."""
    return [type(e).__name__ for e in app.events.get(case_id)]


def person_id(name: str) -> str:
    """The (deterministic) person id of the test person called ``name``."""
    return str(uuid5(TEST_PEOPLE_NS, name))


def actor(role: Role, user_id: str | None = None) -> Actor:
    """A test person (a person id derived from ``user_id``) acting in ``role``; known to the
    unit tier's staff directory (:class:`TestStaff`) in that role."""
    pid = person_id(user_id or f"user-{role.value}")
    TEST_STAFF[UUID(pid)] = role
    return Actor(user_id=pid, role=role)


class TestStaff(LogPeople):
    """The unit tier's staff directory: the persons in the school's log, and every test actor
    (:func:`actor`) as an active person of the school in their role."""

    def person(self, person_id: UUID) -> PersonRef | None:
        found = super().person(person_id)
        if found is not None:
            return found
        role = TEST_STAFF.get(person_id)
        if role is None:
            return None
        return PersonRef(person_id=person_id, school_id=self.school_id, roles=(role,), active=True)


def new_service(app: CaseworkApplication, school_id: UUID, **kwargs: object) -> CaseService:
    """A case service whose staff directory knows every test actor."""
    return CaseService(app, school_id, people=TestStaff(app, school_id), **kwargs)  # type: ignore[arg-type]


CONTACT = actor(Role.CONTACT_PERSON, "user-aanspreekpunt")
SCHOOL_CONTACT = actor(Role.SCHOOL_CONTACT, "user-schoolcontact")
MANAGEMENT = actor(Role.MANAGEMENT, "user-directie")
BOARD = actor(Role.BOARD, "user-bestuur")


def refused(
    service: CaseService,
    who: Actor,
    command: CaseCommand,
    error: type[DomainError],
    *,
    mentions: tuple[str, ...] = (),
) -> DomainError:
    """Run ``command``, expect ``error`` whose message names ``mentions``, and assert the case's
    log did not change."""
    before = stored_count(service.app, command.case_id)
    with pytest.raises(error) as info:
        service.handle(who, command)
    assert stored_count(service.app, command.case_id) == before, "a refused command was stored"
    for word in mentions:
        assert word in info.value.message, f"{word!r} not named in: {info.value.message}"
    return info.value
