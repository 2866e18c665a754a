"""Helpers for the unit tier: in-memory applications, fictitious actors, "refused and nothing
stored" checks. Every name and text is clearly fictitious ("Leerling Test-A", "Fictieve melding").
"""

from __future__ import annotations

from uuid import UUID

import pytest

from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.commands import CaseCommand
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from services.shared.errors import DomainError

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


def actor(role: Role, user_id: str | None = None) -> Actor:
    return Actor(user_id=user_id or f"user-{role.value}", role=role)


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
