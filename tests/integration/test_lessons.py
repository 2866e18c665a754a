"""Lessons view on real PostgreSQL: evaluations appear, sharing is recorded, re-evaluation
replaces, replay equals live. All data is fictitious."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from psycopg.conninfo import conninfo_to_dict

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school, rebuild_school, verify_school
from projections.engine import View
from projections.lessons.projection import LessonsView
from projections.lessons.queries import Lesson, lessons
from projections.views import ALL_VIEWS
from services.access.roles import Role
from services.casework.commands import (
    CloseCase,
    CompleteFollowUp,
    EvaluateCase,
    HoldIntake,
    ReopenCase,
    ReportCase,
    ScheduleFollowUp,
    ShareLessons,
)
from services.casework.handlers import CaseService
from services.casework.sealing import key_lookup, unseal_tree
from services.shared.actor import Actor
from tenants.registry import School
from tests.unit.support import TestStaff, actor

pytestmark = pytest.mark.integration

CONTACT = Actor("test-cp-lessons", Role.CONTACT_PERSON)
APC_1 = actor(Role.COORDINATOR, "test-apc-1").user_id
APC_2 = actor(Role.COORDINATOR, "test-apc-2").user_id
LESSONS: tuple[View, ...] = tuple(v for v in ALL_VIEWS if isinstance(v, LessonsView))


def _read(
    container: Container, database_url: str, schema: str, *, shared_only: bool = False
) -> list[Lesson]:
    """The view's rows, their sealed texts opened as the pages open them (the rows themselves
    hold ciphertext only)."""
    found = _read_sealed(database_url, schema, shared_only=shared_only)
    assert not any("Fictie" in x.went_well or "Fictie" in x.to_improve for x in found)
    (school,) = [s for s in container.registry.list_schools() if s.schema_name == schema]
    app = container.schools.get(school.id)
    lookup = key_lookup(app.pupil_keys, app.content_keys)
    return [
        dataclasses.replace(
            x,
            went_well=unseal_tree(x.went_well, lookup),
            to_improve=unseal_tree(x.to_improve, lookup),
            lessons=unseal_tree(list(x.lessons), lookup),
        )
        for x in found
    ]


def _read_sealed(database_url: str, schema: str, *, shared_only: bool = False) -> list[Lesson]:
    params = conninfo_to_dict(database_url)
    kwargs: dict[str, Any] = {
        {"dbname": "database"}.get(k, k): v
        for k, v in params.items()
        if k in {"host", "port", "user", "password", "dbname"} and v not in (None, "")
    }
    if "port" in kwargs:
        kwargs["port"] = int(str(kwargs["port"]))

    async def run() -> list[Lesson]:
        conn = await asyncpg.connect(**kwargs)
        try:
            result: list[Lesson] = await lessons(conn, schema, shared_only=shared_only)
            return result
        finally:
            await conn.close()

    return asyncio.run(run())


def _school(container: Container) -> School:
    tag = uuid4().hex[:8]
    board = container.create_board(f"Fictief Lessenbestuur {tag}")
    return container.create_school(board.slug, f"Fictieve Lessenschool {tag}")


def _ready_to_close(service: CaseService, n: int) -> UUID:
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent",
                                                 summary=f"Fictieve melding {n}"))  # fmt: skip
    service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=date(2025, 3, 3),
                                       summary="Fictief intakegesprek"))  # fmt: skip
    follow_up = uuid4()
    service.handle(CONTACT, ScheduleFollowUp(case_id=case_id, follow_up_id=follow_up,
                                             due_on=date(2025, 3, 17)))  # fmt: skip
    service.handle(CONTACT, CompleteFollowUp(case_id=case_id, follow_up_id=follow_up,
                                             agreements_kept=True, bullying_stopped=True,
                                             pupil_feels_safe=True))  # fmt: skip
    return case_id


def test_lessons_appear_are_shared_and_re_evaluation_replaces(
    container: Container, database_url: str
) -> None:
    school = _school(container)
    schema = school.schema_name
    app = container.schools.get(school.id)
    service = CaseService(app, school.id, people=TestStaff(app, school.id))
    first = _ready_to_close(service, 1)
    second = _ready_to_close(service, 2)
    catch_up_school(container, school.id)
    assert _read(container, database_url, schema) == []  # nothing evaluated yet

    service.handle(CONTACT, EvaluateCase(case_id=first, went_well="Fictief: snel gesprek",
                                         to_improve="Fictief: ouders eerder bellen",
                                         lessons=["Fictieve les A", "Fictieve les B"]))  # fmt: skip
    catch_up_school(container, school.id)
    [lesson] = _read(container, database_url, schema)
    assert lesson.case_id == first
    assert lesson.went_well == "Fictief: snel gesprek"
    assert lesson.to_improve == "Fictief: ouders eerder bellen"
    assert lesson.lessons == ["Fictieve les A", "Fictieve les B"]
    assert lesson.evaluated_by == CONTACT.user_id
    assert (lesson.shared, lesson.shared_at, lesson.coordinator_id) == (False, None, None)
    assert _read(container, database_url, schema, shared_only=True) == []

    service.handle(CONTACT, ShareLessons(case_id=first, coordinator_id=APC_1))
    service.handle(CONTACT, EvaluateCase(case_id=second, went_well="Fictief: steungroep",
                                         lessons=["Fictieve les C"]))  # fmt: skip
    catch_up_school(container, school.id)
    newest, older = _read(container, database_url, schema)
    assert (newest.case_id, older.case_id) == (second, first)  # newest first
    assert older.shared
    assert older.coordinator_id == APC_1
    assert older.shared_at is not None
    assert older.shared_at >= older.evaluated_at
    assert [x.case_id for x in _read(container, database_url, schema, shared_only=True)] == [first]

    # Close, reopen, re-evaluate: the new evaluation replaces the old one, not yet shared.
    service.handle(CONTACT, CloseCase(case_id=first, reason="resolved"))
    service.handle(CONTACT, ReopenCase(case_id=first, reason="Fictief: opnieuw gepest"))
    catch_up_school(container, school.id)
    assert [x.lessons for x in _read(container, database_url, schema) if x.case_id == first] == [
        ["Fictieve les A", "Fictieve les B"]
    ]  # reopening alone keeps the last evaluation
    service.handle(CONTACT, EvaluateCase(case_id=first, went_well="Fictief: tweede ronde",
                                         lessons=["Fictieve les D"]))  # fmt: skip
    catch_up_school(container, school.id)
    rows = _read(container, database_url, schema)
    assert [x.case_id for x in rows] == [first, second]  # re-evaluated: now the newest
    replaced = rows[0]
    assert replaced.lessons == ["Fictieve les D"]
    assert replaced.went_well == "Fictief: tweede ronde"
    assert replaced.to_improve == ""
    assert (replaced.shared, replaced.shared_at, replaced.coordinator_id) == (False, None, None)
    assert replaced.evaluated_at - older.evaluated_at < timedelta(hours=1)
    assert _read(container, database_url, schema, shared_only=True) == []
    service.handle(CONTACT, ShareLessons(case_id=first, coordinator_id=APC_2))
    catch_up_school(container, school.id)
    shared = _read(container, database_url, schema, shared_only=True)
    assert [(x.case_id, x.coordinator_id) for x in shared] == [(first, APC_2)]

    # Replay equals live, before and after a rebuild.
    before = _read(container, database_url, schema)
    assert verify_school(container, school.id, LESSONS) == []
    assert rebuild_school(container, school.id, LESSONS) > 0
    assert verify_school(container, school.id, LESSONS) == []
    assert _read(container, database_url, schema) == before
