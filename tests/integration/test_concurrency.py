"""Invariant 5 on real PostgreSQL: many people acting on one case at once never lose an event."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest

from infra.container import Container
from services.casework.commands import AddNote, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from services.shared.errors import ConcurrencyConflict
from tenants.roles import Role

pytestmark = pytest.mark.integration

CONTACT = Actor("test-cp-1", Role.CONTACT_PERSON)


def test_fifty_concurrent_actions_on_one_case_lose_nothing(container: Container) -> None:
    container.create_board("Testbestuur Gelijktijdig")
    school = container.create_school("testbestuur-gelijktijdig", "Testschool Gelijktijdig")
    service = CaseService(container.schools.get(school.id), school.id)
    case_id = service.report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))

    # Fifty colleagues load the same version of the case, then all save at once.
    n = 50
    start = threading.Barrier(n)
    stored: list[str] = []
    conflicts: list[str] = []
    other: list[BaseException] = []
    lock = threading.Lock()

    def act(i: int) -> None:
        text = f"gelijktijdige notitie {i}"
        try:
            start.wait()
            service.handle(CONTACT, AddNote(case_id=case_id, text=text))
        except ConcurrencyConflict:
            with lock:
                conflicts.append(text)
        except BaseException as e:  # anything else is a failure of the test
            with lock:
                other.append(e)
        else:
            with lock:
                stored.append(text)

    threads = [threading.Thread(target=act, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not other, other
    assert len(stored) + len(conflicts) == n
    assert stored, "at least one of the concurrent actions must be stored"

    # The log holds exactly the stored actions: the report plus one NoteAdded per success.
    events = list(container.schools.get(school.id).events.get(case_id))
    notes = [e.text for e in events if isinstance(e, Case.NoteAdded)]
    assert sorted(notes) == sorted(stored)
    assert len(events) == 1 + len(stored)
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))


def test_conflict_is_reported_not_overwritten(container: Container) -> None:
    container.create_board("Testbestuur Conflict")
    school = container.create_school("testbestuur-conflict", "Testschool Conflict")
    app = container.schools.get(school.id)
    service = CaseService(app, school.id)
    case_id: UUID = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief."))
    first = app.get_case(case_id, school.id)
    second = app.get_case(case_id, school.id)
    from services.shared.actor import acting_as

    with acting_as(CONTACT):
        first.add_note(text="eerste")
        second.add_note(text="tweede")
    app.save_case(first)
    with pytest.raises(ConcurrencyConflict, match="changed by someone else"):
        app.save_case(second)
    notes = [e.text for e in app.events.get(case_id) if isinstance(e, Case.NoteAdded)]
    assert notes == ["eerste"]
