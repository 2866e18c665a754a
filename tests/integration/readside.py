"""Helpers for read-side integration tests: a fresh school, its case service, catching up its
views, and running an asyncpg query against the session database. All texts are fictitious."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from projections.db import connect
from services.casework.commands import HoldIntake, ReportCase
from services.casework.handlers import CaseService
from services.casework.protocol import local_date
from services.shared.clock import SCHOOL_CLOCK, Clock
from tenants.registry import School
from tests.unit.support import CONTACT, TestStaff

T = TypeVar("T")


def today() -> date:
    """The Dutch calendar day now (what the views derive event days from)."""
    return local_date(datetime.now(UTC))


def new_school(container: Container) -> School:
    board = container.create_board("Testbestuur " + uuid4().hex[:8])
    return container.create_school(board.slug, "Testschool " + uuid4().hex[:8])


def case_service(container: Container, school: School, clock: Clock = SCHOOL_CLOCK) -> CaseService:
    """The school's case service; ``clock`` says what day the commands are given on. Its staff
    directory knows the unit tier's test actors (``tests.unit.support.TestStaff``)."""
    app = container.schools.get(school.id)
    return CaseService(app, school.id, clock=clock, people=TestStaff(app, school.id))


def report(service: CaseService, *, intake: bool = True) -> UUID:
    case_id = service.report(
        CONTACT, ReportCase(reporter_kind="parent", summary="Fictieve melding")
    )
    if intake:
        service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=today(), summary="Intake"))
    return case_id


def catch_up(container: Container, school: School) -> int:
    return catch_up_school(container, school.id)


def run(database_url: str, query: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``query(conn)`` on a fresh asyncpg connection (json codecs installed)."""

    async def main() -> T:
        conn = await connect(database_url)
        try:
            return await query(conn)
        finally:
            await conn.close()

    return asyncio.run(main())
