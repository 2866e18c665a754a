"""A command without an expected version is retried when a colleague's save lands first; a
command with one is not (in memory: a colleague's save is slipped in between load and save)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from services.casework.application import CaseworkApplication
from services.casework.commands import AddNote, CloseCase, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseBusy, CaseLocks, CaseService
from services.shared.actor import acting_as
from services.shared.errors import CaseClosed, ConcurrencyConflict
from tests.unit.support import CONTACT, IN_MEMORY, new_service


class CollidingApp(CaseworkApplication):
    """Before each of our next ``times`` saves, a colleague's command is saved first (loaded
    and saved on its own, as another web process would)."""

    def __init__(self) -> None:
        super().__init__(env=IN_MEMORY)
        self.colleague: Callable[[Case], None] | None = None
        self.times = 0
        self.loads = 0

    def get_case(self, case_id: UUID, school_id: UUID, version: int | None = None) -> Case:
        self.loads += 1
        return super().get_case(case_id, school_id, version)

    def save_case(self, case: Case) -> None:
        if self.colleague is not None and self.times > 0:
            self.times -= 1
            theirs = super().get_case(case.id, case.school_id)
            with acting_as(CONTACT):
                self.colleague(theirs)
            super().save_case(theirs)
        super().save_case(case)


@pytest.fixture
def colliding() -> CollidingApp:
    return CollidingApp()


def _service(app: CollidingApp, school_id: UUID, pauses: list[float]) -> CaseService:
    return new_service(app, school_id, sleep=pauses.append)


def _report(service: CaseService) -> UUID:
    return service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictieve melding"))


def _notes(app: CaseworkApplication, case_id: UUID) -> list[str]:
    return [e.text for e in app.events.get(case_id) if isinstance(e, Case.NoteAdded)]


def test_without_expected_version_a_collision_is_retried(colliding: CollidingApp) -> None:
    pauses: list[float] = []
    service = _service(colliding, UUID(int=1), pauses)
    case_id = _report(service)
    colliding.colleague = lambda case: case.add_note(text="notitie van een collega")
    colliding.times = 2

    version = service.handle(CONTACT, AddNote(case_id=case_id, text="mijn notitie"))

    # Two colleagues' notes landed first; ours was loaded three times and is stored after them.
    assert _notes(colliding, case_id) == [
        "notitie van een collega",
        "notitie van een collega",
        "mijn notitie",
    ]
    assert version == 4
    assert len(pauses) == 2
    assert all(p >= 0 for p in pauses)


def test_with_expected_version_the_conflict_is_the_answer(colliding: CollidingApp) -> None:
    pauses: list[float] = []
    service = _service(colliding, UUID(int=1), pauses)
    case_id = _report(service)
    colliding.colleague = lambda case: case.add_note(text="notitie van een collega")
    colliding.times = 1
    loads_before = colliding.loads

    with pytest.raises(ConcurrencyConflict):
        service.handle(CONTACT, AddNote(case_id=case_id, text="mijn notitie", expected_version=1))

    assert _notes(colliding, case_id) == ["notitie van een collega"]
    assert colliding.loads == loads_before + 1  # loaded once: not retried
    assert pauses == []


def test_retries_are_bounded(colliding: CollidingApp) -> None:
    pauses: list[float] = []
    service = new_service(colliding, UUID(int=1), sleep=pauses.append, max_attempts=3)
    case_id = _report(service)
    colliding.colleague = lambda case: case.add_note(text="notitie van een collega")
    colliding.times = 100
    loads_before = colliding.loads

    with pytest.raises(ConcurrencyConflict):
        service.handle(CONTACT, AddNote(case_id=case_id, text="mijn notitie"))

    assert colliding.loads == loads_before + 3
    assert len(pauses) == 2
    assert "mijn notitie" not in _notes(colliding, case_id)


def test_rules_are_checked_again_on_the_retry(colliding: CollidingApp) -> None:
    # The colleague closes the case in between: the retried note meets a closed case.
    pauses: list[float] = []
    service = _service(colliding, UUID(int=1), pauses)
    case_id = _report(service)
    close = CloseCase(case_id=case_id, reason="referred", explanation="Fictief: doorverwezen")
    colliding.colleague = close.execute
    colliding.times = 1

    with pytest.raises(CaseClosed):
        service.handle(CONTACT, AddNote(case_id=case_id, text="mijn notitie"))

    assert _notes(colliding, case_id) == []
    assert [type(e).__name__ for e in colliding.events.get(case_id)][-1] == "CaseClosed"


def test_a_command_that_does_not_get_its_turn_is_refused_not_retried(
    colliding: CollidingApp,
) -> None:
    # Someone else in this process holds the case's turn; ours gives up without waiting long.
    pauses: list[float] = []
    locks = CaseLocks(timeout=0)
    service = new_service(colliding, UUID(int=1), sleep=pauses.append, locks=locks)
    case_id = _report(service)
    loads_before = colliding.loads

    with locks.turn(case_id), pytest.raises(CaseBusy):
        service.handle(CONTACT, AddNote(case_id=case_id, text="mijn notitie"))

    assert colliding.loads == loads_before  # never loaded: it waited for its turn only
    assert pauses == []
    assert _notes(colliding, case_id) == []
    # Once the turn is free, the same command goes through.
    service.handle(CONTACT, AddNote(case_id=case_id, text="mijn notitie"))
    assert _notes(colliding, case_id) == ["mijn notitie"]


def test_turns_are_per_case(colliding: CollidingApp) -> None:
    locks = CaseLocks(timeout=0)
    service = new_service(colliding, UUID(int=1), locks=locks)
    busy, free = _report(service), _report(service)
    with locks.turn(busy):
        service.handle(CONTACT, AddNote(case_id=free, text="mijn notitie"))
    assert _notes(colliding, free) == ["mijn notitie"]
