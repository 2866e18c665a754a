"""The demo's two school years of history on real PostgreSQL (issue 15 §4): events at the
times they happened, every archetype, statistics over 24+ months with a trend, signals on the
recent cases, and replay equal to live. All data is fictitious (the demo's own)."""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from infra.adapters.people.store import PostgresPeopleStore
from infra.bootstrap.container import Container
from infra.bootstrap.demo import HISTORY_ARCHETYPES, history_start, seed_history
from infra.bootstrap.views import catch_up_school, verify_school
from projections.escalation.queries import SignalKind, signals
from services.casework.domain import Case
from services.casework.protocol import DEFAULT_PROTOCOL
from services.shared.clock import SCHOOL_TZ
from tests.integration.readside import run

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 30)  # a fixed, fictitious school day (a Monday)


@pytest.fixture
def seeded(container: Container) -> Any:
    """One school with the demo history (seeded once: the one test checks it all)."""
    tag = uuid4().hex[:8]
    board = container.create_board(f"Fictief Demobestuur {tag}")
    school = container.create_school(board.slug, f"Demo College Zuid {tag}")
    people = PostgresPeopleStore(container.schools.get(school.id), school.id, school.schema_name)
    seeded = seed_history(
        container.case_service(school.id),
        school.slug,
        name="Demo College Zuid",
        people=people,
        today=TODAY,
    )
    catch_up_school(container, school.id)
    return school, seeded


def test_demo_history(container: Container, database_url: str, seeded: Any) -> None:
    _spreads_events_over_two_school_years(container, database_url, seeded)
    _raises_signals_on_recent_cases_and_replays_equal(container, database_url, seeded)


def _spreads_events_over_two_school_years(
    container: Container, database_url: str, seeded: Any
) -> None:
    school, seed = seeded
    assert seed.cases > 150
    app = container.schools.get(school.id)
    stamps: list[datetime] = []
    start = 1
    while True:
        batch = app.recorder.select_notifications(start=start, limit=1000)
        for n in batch:
            event = app.mapper.to_domain_event(n)
            if isinstance(event, Case.Event):
                stamps.append(event.timestamp)
        if len(batch) < 1000:
            break
        start = batch[-1].id + 1
    days = {s.astimezone(SCHOOL_TZ).date() for s in stamps}
    assert min(days) >= history_start(TODAY) == date(2024, 9, 1)
    assert max(days) < TODAY  # nothing from the seeding day on
    assert all(d.weekday() < 5 for d in days)  # school days only
    with psycopg.connect(database_url) as conn:
        months = conn.execute(
            "SELECT count(DISTINCT month_reported) FROM platform.stats_cases WHERE school_id = %s",
            (school.id,),
        ).fetchone()
        assert months is not None
        assert months[0] >= 24
        # Every archetype left its mark: each closing reason, each complaint level, reopened
        # cases, police advice, serious incidents reported to the Inspectie.
        facts = conn.execute(
            "SELECT array_agg(DISTINCT lvl), bool_or(reopened > 0), bool_or(police_advised)"
            " FROM platform.stats_cases LEFT JOIN LATERAL unnest(complaint_levels) lvl ON true"
            " WHERE school_id = %s",
            (school.id,),
        ).fetchone()
        assert facts is not None
        assert {"management", "board", "committee"} <= set(facts[0])
        assert facts[1]
        assert facts[2]
        incidents = conn.execute(
            "SELECT count(*) FILTER (WHERE serious AND reported),"
            " count(*) FILTER (WHERE cardinality(categories) > 0)"
            " FROM platform.stats_incidents WHERE school_id = %s",
            (school.id,),
        ).fetchone()
        assert incidents is not None
        assert incidents[0] > 0
        assert incidents[1] > 20
        # A trend: intake comes sooner in the second school year than in the first.
        intake = conn.execute(
            "SELECT month_reported, days_to_intake FROM platform.stats_cases"
            " WHERE school_id = %s AND days_to_intake IS NOT NULL",
            (school.id,),
        ).fetchall()
    first_year = [d for m, d in intake if m < date(2025, 9, 1)]
    second_year = [d for m, d in intake if date(2025, 9, 1) <= m < date(2026, 9, 1)]
    assert statistics.median(first_year) > statistics.median(second_year)
    assert {"resolved", "referred", "complaint", "continuing", "stalled"} <= {
        k for k, _ in HISTORY_ARCHETYPES
    }


def _raises_signals_on_recent_cases_and_replays_equal(
    container: Container, database_url: str, seeded: Any
) -> None:
    school, _ = seeded
    found = run(
        database_url,
        lambda conn: signals(conn, school.schema_name, today=TODAY, protocol=DEFAULT_PROTOCOL),
    )
    kinds = {s.kind for case in found.values() for s in case}
    assert SignalKind.INTAKE_OVERDUE in kinds
    assert SignalKind.INACTIVE in kinds
    # Old cases are closed: the signals are about the last weeks, not two years of backlog.
    assert len(found) < 40
    assert verify_school(container, school.id) == []
