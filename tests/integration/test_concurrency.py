"""Invariant 5 on real PostgreSQL: many people acting on one case at once never lose an event."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest

from infra.adapters.schools import build_casework_app
from infra.bootstrap.container import Container
from services.access.roles import Role
from services.casework.commands import AddNote, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseLocks, CaseService
from services.shared.actor import Actor
from services.shared.errors import ConcurrencyConflict
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY

pytestmark = pytest.mark.integration

CONTACT = Actor("test-cp-1", Role.CONTACT_PERSON)


def _at_once(
    services: list[CaseService], case_id: UUID, expected_version: int | None
) -> tuple[list[str], list[str]]:
    """One colleague per service adds a note to the same case at the same moment:
    (stored, refused with a conflict)."""
    n = len(services)
    start = threading.Barrier(n)
    stored: list[str] = []
    conflicts: list[str] = []
    other: list[BaseException] = []
    lock = threading.Lock()

    def act(i: int) -> None:
        text = f"gelijktijdige notitie {i}"
        command = AddNote(case_id=case_id, text=text, expected_version=expected_version)
        try:
            start.wait()
            services[i].handle(CONTACT, command)
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
    return stored, conflicts


def _assert_log_holds_exactly(
    container: Container, school_id: UUID, case_id: UUID, stored: list[str]
) -> None:
    # The log holds exactly the stored actions: the report plus one NoteAdded per success.
    events = list(container.schools.get(school_id).events.get(case_id))
    notes = [e.text for e in events if isinstance(e, Case.NoteAdded)]
    assert sorted(notes) == sorted(stored)
    assert len(events) == 1 + len(stored)
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))


def _school(container: Container, slug: str) -> School:
    container.create_board(f"Testbestuur {slug}")
    return container.create_school(f"testbestuur-{slug}", f"Testschool {slug}")


def test_fifty_simultaneous_notes_in_one_process_are_all_stored(container: Container) -> None:
    school = _school(container, "een-proces")
    # The web process's way: a service per request, one application per school, and the
    # process's turns on the case (a generous wait: the test machine may be busy).
    app = container.schools.get(school.id)
    locks = CaseLocks(timeout=120)
    services = [CaseService(app, school.id, locks=locks) for _ in range(50)]
    case_id = services[0].report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))

    stored, conflicts = _at_once(services, case_id, expected_version=None)

    assert conflicts == []
    _assert_log_holds_exactly(container, school.id, case_id, stored)


def test_simultaneous_notes_from_several_processes_are_all_stored(container: Container) -> None:
    school = _school(container, "vijf-processen")
    # Five "processes": each its own application and its own turns, so their saves really
    # collide in PostgreSQL and are retried. A writer collides only when another committed
    # since its load, and each writer commits once: with as many tries as writers, every note
    # gets in, whatever the timing.
    processes = [
        (build_casework_app(school, TEST_MASTER_KEY, container.pool), CaseLocks()) for _ in range(5)
    ]
    services = [
        CaseService(app, school.id, locks=locks, max_attempts=50)
        for app, locks in processes
        for _ in range(10)
    ]
    case_id = services[0].report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))

    stored, conflicts = _at_once(services, case_id, expected_version=None)

    assert conflicts == []
    assert len(stored) == 50
    _assert_log_holds_exactly(container, school.id, case_id, stored)


def test_simultaneous_notes_with_the_same_expected_version_store_one(
    container: Container,
) -> None:
    school = _school(container, "versie")
    processes = [
        (build_casework_app(school, TEST_MASTER_KEY, container.pool), CaseLocks()) for _ in range(5)
    ]
    services = [
        CaseService(app, school.id, locks=locks) for app, locks in processes for _ in range(10)
    ]
    case_id = services[0].report(CONTACT, ReportCase(reporter_kind="staff", summary="Fictief."))

    # All fifty decided on version 1: one gets in, the others are told the case moved on.
    stored, conflicts = _at_once(services, case_id, expected_version=1)

    assert len(stored) == 1
    assert len(conflicts) == 49
    _assert_log_holds_exactly(container, school.id, case_id, stored)


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
