"""Incident registration on real PostgreSQL (issue 15 §1): category counts in the statistics
(suppressed as elsewhere), the serious-incident signal while the Inspectie report is due, and
nothing but codes and flags on the platform. All data is fictitious."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import pytest

from infra.bootstrap.container import Container
from infra.bootstrap.views import verify_school
from projections.board_stats.queries import StatCell, cell
from projections.escalation.queries import SignalKind, signals
from projections.incident_stats import queries
from services.casework.commands import (
    CategoriseIncident,
    MarkSeriousIncident,
    RecordInspectieReport,
)
from services.casework.protocol import DEFAULT_PROTOCOL
from tests.integration.readside import case_service, catch_up, new_school, report, run, today
from tests.unit.support import CONTACT

pytestmark = pytest.mark.integration


def test_category_counts_are_suppressed_and_totalled(
    container: Container, database_url: str
) -> None:
    board = container.create_board("Fictief Incidentbestuur")
    a = container.create_school(board.slug, "Fictieve Incidentschool A")
    b = container.create_school(board.slug, "Fictieve Incidentschool B")
    for school, threats, drugs in ((a, 6, 2), (b, 5, 0)):
        service = case_service(container, school)
        for n in range(threats + drugs):
            case_id = report(service)
            category = "threat" if n < threats else "drugs"
            service.handle(CONTACT, CategoriseIncident(case_id=case_id, categories=[category]))
        catch_up(container, school)
    month = today().replace(day=1)

    def query(name: str, ids: list[UUID]) -> list[StatCell]:
        return run(
            database_url,
            lambda conn: getattr(queries, name)(conn, ids, first_month=month, last_month=month),
        )

    per_school = query("incident_monthly", [a.id, b.id])
    threat_a = cell(per_school, "by_incident_category", "threat", school_id=a.id)
    assert (threat_a.value, threat_a.suppressed) == (6, False)
    drugs_a = cell(per_school, "by_incident_category", "drugs", school_id=a.id)
    assert (drugs_a.value, drugs_a.suppressed) == (None, True)  # 2 cases: "<5"
    weapon_b = cell(per_school, "by_incident_category", "weapon", school_id=b.id)
    assert (weapon_b.value, weapon_b.suppressed) == (0, False)  # a 0 singles out nobody
    totals = query("incident_totals", [a.id, b.id])
    assert cell(totals, "by_incident_category", "threat").value == 11
    # 2 drugs cases in total, all hidden in school A's cell: the total hides them too.
    assert cell(totals, "by_incident_category", "drugs").suppressed
    assert verify_school(container, a.id) == []


def test_serious_incident_signal_until_the_report_is_recorded(
    container: Container, database_url: str
) -> None:
    school = new_school(container)
    service = case_service(container, school)
    case_id = report(service)
    other = report(service)

    def found() -> dict[UUID, Any]:
        catch_up(container, school)
        return run(
            database_url,
            lambda conn: signals(
                conn, school.schema_name, today=today(), protocol=DEFAULT_PROTOCOL
            ),
        )

    service.handle(CONTACT, MarkSeriousIncident(case_id=case_id))
    due = [s for s in found().get(case_id, []) if s.kind is SignalKind.INSPECTIE_REPORT_DUE]
    assert len(due) == 1
    assert due[0].due_on is not None
    assert due[0].due_on > today()
    assert SignalKind.INSPECTIE_REPORT_DUE not in {s.kind for s in found().get(other, [])}
    service.handle(
        CONTACT,
        RecordInspectieReport(
            case_id=case_id, reported_on=today(), channel="email", reference="Fictief-IvhO-1"
        ),
    )
    assert SignalKind.INSPECTIE_REPORT_DUE not in {s.kind for s in found().get(case_id, [])}
    # The platform row says serious and reported; the reference never leaves the school.
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT serious, reported, categories::text FROM platform.stats_incidents"
            " WHERE school_id = %s ORDER BY serious",
            (school.id,),
        ).fetchall()
        assert rows == [(False, False, "{}"), (True, True, "{}")]
        dump = conn.execute(
            "SELECT string_agg(t::text, ' ') FROM platform.stats_incidents t"
        ).fetchone()
    assert dump is not None
    assert "Fictief-IvhO-1" not in (dump[0] or "")
