"""Case list and case detail on real PostgreSQL (asyncpg): filters, paging, the full timeline
and the protocol checklist; and the read pool accepting a URL and a key=value conninfo."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infra.bootstrap.container import Container
from projections.case_view.queries import case_detail, list_cases
from projections.db import create_read_pool
from projections.escalation.queries import SignalKind
from services.access.roles import Role
from services.casework.commands import (
    AssignOwner,
    EngagePerson,
    FlagCriminalOffence,
    GiveConsent,
    HoldIntake,
    MapSituation,
    PlanStep,
    RecordContact,
    ReportCase,
)
from services.casework.protocol import DEFAULT_PROTOCOL, add_school_days
from services.casework.sealing import sealed_from_text
from services.shared.clock import FixedClock
from services.shared.errors import InvalidInput
from tests.integration.readside import case_service, catch_up, new_school, report, run, today
from tests.unit.support import CONTACT, actor

pytestmark = pytest.mark.integration

MENTOR = actor(Role.TEACHER, "user-mentor")
OTHER = actor(Role.CONTACT_PERSON, "user-ander")


@pytest.fixture
def school_with_cases(container: Container) -> Any:
    """Three cases: a (no intake, verbal+online), b (intake, physical, offence, mentor engaged),
    c (intake, other owner)."""
    school = new_school(container)
    service = case_service(container, school)
    a = report(service, intake=False)
    service.handle(CONTACT, MapSituation(case_id=a, forms=["verbal", "online"],
                                         locations=["online"], frequency="daily",
                                         impact="high"))  # fmt: skip
    b = report(service)
    service.handle(CONTACT, MapSituation(case_id=b, forms=["physical"], frequency="weekly",
                                         impact="moderate"))  # fmt: skip
    service.handle(CONTACT, FlagCriminalOffence(case_id=b, description="Fictief feit"))
    service.handle(CONTACT, GiveConsent(case_id=b, given_by="pupil", covers=["engage_colleague"]))
    step = uuid4()
    service.handle(CONTACT, PlanStep(case_id=b, step_id=step, kind="engage_colleague",
                                     description="Mentor inschakelen"))  # fmt: skip
    service.handle(CONTACT, EngagePerson(case_id=b, step_id=step, user_id=MENTOR.user_id,
                                         staff_role="teacher"))  # fmt: skip
    # The parents are told (else the case would signal "not informed" too).
    service.handle(CONTACT, RecordContact(case_id=b, with_whom="parents", channel="phone",
                                          held_on=today(), discussed="Fictief"))  # fmt: skip
    c = report(service)
    service.handle(CONTACT, AssignOwner(case_id=c, owner_id=OTHER.user_id))
    catch_up(container, school)
    return school, {"a": a, "b": b, "c": c}


def listing(database_url: str, schema: str, **filters: Any) -> list[Any]:
    filters.setdefault("today", today())
    filters.setdefault("protocol", DEFAULT_PROTOCOL)
    return run(database_url, lambda conn: list_cases(conn, schema, **filters))


def ids(items: list[Any]) -> set[UUID]:
    return {i.case_id for i in items}


def test_list_filters(school_with_cases: Any, database_url: str) -> None:
    school, case = school_with_cases
    schema = school.schema_name
    everything = listing(database_url, schema)
    assert ids(everything) == set(case.values())
    # most recently active first: c was touched last
    assert everything[0].case_id == case["c"]
    assert ids(listing(database_url, schema, status="reported")) == {case["a"]}
    assert ids(listing(database_url, schema, status="in_progress")) == {case["b"], case["c"]}
    assert ids(listing(database_url, schema, owner_id=OTHER.user_id)) == {case["c"]}
    assert ids(listing(database_url, schema, owner_id=CONTACT.user_id)) == {case["a"], case["b"]}
    assert ids(listing(database_url, schema, form="online")) == {case["a"]}
    assert ids(listing(database_url, schema, form="physical")) == {case["b"]}
    assert ids(listing(database_url, schema, engaged_user_id=MENTOR.user_id)) == {case["b"]}
    assert listing(database_url, schema, engaged_user_id="user-niemand") == []
    assert ids(listing(database_url, schema, form="physical", status="reported")) == set()


def test_list_signal_filter_and_signals_per_item(school_with_cases: Any, database_url: str) -> None:
    school, case = school_with_cases
    schema = school.schema_name
    later = add_school_days(today(), 3)
    assert ids(listing(database_url, schema, signal="intake_overdue", today=later)) == {case["a"]}
    assert ids(listing(database_url, schema, signal="intake_overdue")) == set()
    offence = listing(database_url, schema, signal="offence_without_police_advice")
    assert ids(offence) == {case["b"]}
    assert [s.kind for s in offence[0].signals] == [SignalKind.OFFENCE_WITHOUT_POLICE_ADVICE]
    far = today() + timedelta(days=20)
    assert ids(listing(database_url, schema, signal="inactive", today=far)) == set(case.values())
    by_id = {i.case_id: i for i in listing(database_url, schema, today=later)}
    assert [s.kind for s in by_id[case["a"]].signals] == [SignalKind.INTAKE_OVERDUE]
    assert by_id[case["c"]].signals == ()


def test_list_paging_and_item_fields(school_with_cases: Any, database_url: str) -> None:
    school, case = school_with_cases
    schema = school.schema_name
    pages = [listing(database_url, schema, limit=1, offset=n) for n in range(4)]
    assert [len(p) for p in pages] == [1, 1, 1, 0]
    assert {p[0].case_id for p in pages[:3]} == set(case.values())
    a = next(i for i in listing(database_url, schema) if i.case_id == case["a"])
    assert (a.status, a.status_label, a.reporter_kind) == ("reported", "gemeld", "parent")
    assert a.forms == ("online", "verbal")
    # The view keeps the summary sealed (the web side opens it: infra/entrypoints/web/reads.py).
    assert "Fictieve" not in a.summary
    assert sealed_from_text(a.summary) is not None
    assert a.intake_on is None


@pytest.mark.parametrize(
    ("filters", "mentions"),
    [
        ({"status": "open"}, "status must be one of"),
        ({"form": "pesten"}, "form must be one of"),
        ({"signal": "late"}, "signal must be one of"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_list_refuses_bad_filters(
    school_with_cases: Any, database_url: str, filters: dict[str, Any], mentions: str
) -> None:
    school, _ = school_with_cases
    with pytest.raises(InvalidInput, match=mentions):
        listing(database_url, school.schema_name, **filters)


def test_detail_timeline_and_checklist(container: Container, database_url: str) -> None:
    school = new_school(container)
    day = today()
    as_of = day + timedelta(days=30)
    # Recorded as if a month had passed: the day an intake was held is never after today.
    service = case_service(container, school, clock=FixedClock(as_of))
    case_id = service.report(CONTACT, ReportCase(reporter_kind="peer", summary="Fictieve melding"))
    held_on = add_school_days(day, 3)  # held one school day late
    service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=held_on, summary="Fictief"))
    service.handle(CONTACT, MapSituation(case_id=case_id, forms=["relational"],
                                         frequency="weekly", impact="moderate"))  # fmt: skip
    catch_up(container, school)

    detail = run(
        database_url,
        lambda conn: case_detail(conn, school.schema_name, case_id, today=as_of,
                                 protocol=DEFAULT_PROTOCOL),
    )  # fmt: skip
    assert detail is not None
    assert (detail.case_id, detail.status, detail.status_label, detail.version) == (
        case_id, "in_progress", "in behandeling", 3,
    )  # fmt: skip
    assert [(e.version, e.event_type, e.actor_id, e.actor_role) for e in detail.timeline] == [
        (1, "CaseReported", CONTACT.user_id, "contact_person"),
        (2, "IntakeHeld", CONTACT.user_id, "contact_person"),
        (3, "SituationMapped", CONTACT.user_id, "contact_person"),
    ]
    assert detail.timeline[1].data["held_on"] == held_on.isoformat()
    assert detail.timeline[0].at.tzinfo is not None
    assert detail.timeline[0].at <= detail.timeline[2].at
    assert detail.detail["situation"]["forms"] == ["relational"]

    checklist = {p.key: p for p in detail.checklist}
    assert [p.key for p in detail.checklist] == [s.key for s in DEFAULT_PROTOCOL.steps]
    assert checklist["melding_vastgelegd"].done_on == day
    intake = checklist["intakegesprek"]
    # done on the day it was held (not when it was recorded); it was due 2 school days in
    assert (intake.done, intake.done_on, intake.due_on, intake.overdue) == (
        True, held_on, add_school_days(day, 2), False,
    )  # fmt: skip
    assert checklist["situatie_in_kaart"].done
    solutions = checklist["oplossingen_besproken"]
    assert (solutions.done, solutions.due_on, solutions.overdue) == (
        False, add_school_days(day, 10), True,
    )  # fmt: skip
    assert not checklist["geevalueerd"].overdue
    assert [s.kind for s in detail.signals] == [SignalKind.INACTIVE]

    missing = run(
        database_url,
        lambda conn: case_detail(conn, school.schema_name, uuid4(), today=as_of,
                                 protocol=DEFAULT_PROTOCOL),
    )  # fmt: skip
    assert missing is None


@pytest.mark.parametrize("form", ["url", "key=value"])
def test_read_pool_accepts_url_and_conninfo(database_url: str, form: str) -> None:
    conninfo = database_url
    if form == "key=value":  # e.g. pgserver's URI with host=/socket/dir as a query parameter
        conninfo = make_conninfo("", **conninfo_to_dict(database_url))
        assert "://" not in conninfo

    async def probe() -> Any:
        pool = await create_read_pool(conninfo, max_size=2)
        try:
            async with pool.acquire() as conn:
                return await conn.fetchval("""SELECT '{"a": [1, "b"]}'::jsonb""")
        finally:
            await pool.close()

    assert asyncio.run(probe()) == {"a": [1, "b"]}
