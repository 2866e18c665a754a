"""Retention and erasure (issue #5) on real PostgreSQL: a pupil with a distinctive fictitious name
is erased, and afterwards the name is nowhere in the school's or the platform's tables, the case
still replays (with the pupil fields erased), the hash chain still verifies, and the board
statistics did not change. All names and texts are fictitious."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from psycopg.sql import SQL, Identifier

from infra.audit.integrity import verify_school
from infra.cli import main
from infra.container import Container
from infra.privacy.erasure import erase_case, expire_school
from infra.projections import catch_up_school
from infra.settings import Settings
from services.casework.commands import (
    AddParticipant,
    CloseCase,
    CompleteFollowUp,
    EvaluateCase,
    HoldIntake,
    ReportCase,
    RequestErasure,
    ScheduleFollowUp,
)
from services.casework.handlers import CaseService
from services.casework.sealing import ERASED
from services.shared.actor import Actor
from services.shared.errors import InvalidInput, PermissionDenied
from tenants.registry import DEFAULT_RETENTION_DAYS, School
from tenants.roles import Role
from tests.conftest import TEST_MASTER_KEY_B64

pytestmark = pytest.mark.integration

CONTACT = Actor("test-cp-erasure", Role.CONTACT_PERSON)
TEACHER = Actor("test-teacher-erasure", Role.TEACHER)
TEXT_TYPES = ("text", "character varying", "jsonb", "json", "bytea", "ARRAY", "USER-DEFINED")


def _school(container: Container) -> School:
    tag = uuid4().hex[:8]
    board = container.create_board(f"Fictief Wisbestuur {tag}")
    return container.create_school(board.slug, f"Fictieve Wisschool {tag}")


def _case_with_pupil(service: CaseService, name: str, *, closed: bool = False) -> UUID:
    # A report, one target pupil with a distinctive name, a reference and a group.
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref=f"ref-{name}", role="target",
                                           display_name=name, group=f"groep-{name}"))  # fmt: skip
    if closed:
        # Aftercare found the bullying stopped, the case was evaluated and closed.
        service.handle(CONTACT, HoldIntake(case_id=case_id, held_on=date(2025, 3, 3),
                                           summary="Fictief intakegesprek"))  # fmt: skip
        follow_up = uuid4()
        service.handle(CONTACT, ScheduleFollowUp(case_id=case_id, follow_up_id=follow_up,
                                                 due_on=date(2025, 3, 17)))  # fmt: skip
        service.handle(CONTACT, CompleteFollowUp(case_id=case_id, follow_up_id=follow_up,
                                                 agreements_kept=True, bullying_stopped=True,
                                                 pupil_feels_safe=True))  # fmt: skip
        service.handle(CONTACT, EvaluateCase(case_id=case_id, went_well="Fictief",
                                             to_improve="Fictief", lessons=[]))  # fmt: skip
        service.handle(CONTACT, CloseCase(case_id=case_id, reason="resolved"))
    return case_id


def _columns(container: Container, schema: str) -> list[tuple[str, str, str]]:
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " JOIN information_schema.tables USING (table_schema, table_name)"
            " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            (schema,),
        ).fetchall()
    return [
        (r["table_name"], r["column_name"], r["data_type"])
        if isinstance(r, dict)
        else (r[0], r[1], r[2])
        for r in rows
    ]


def _tables_holding(container: Container, schemas: list[str], needle: str) -> list[str]:
    """Every text, json, bytea (decoded as text) or array column of every table in ``schemas``
    that contains ``needle``."""
    found: list[str] = []
    for schema in schemas:
        for table, column, data_type in _columns(container, schema):
            if data_type not in TEXT_TYPES:
                continue
            col = Identifier(column)
            as_text = (
                SQL("encode({}, 'escape')").format(col)
                if data_type == "bytea"
                else SQL("{}::text").format(col)
            )
            query = SQL("SELECT count(*) FROM {} WHERE position(%s in {}) > 0").format(
                Identifier(schema, table), as_text
            )
            with container.pool.connection() as conn:
                row: Any = conn.execute(query, (needle,)).fetchone()
            count = row["count"] if isinstance(row, dict) else row[0]
            if count:
                found.append(f"{schema}.{table}.{column}")
    return found


def _stats(container: Container, school_id: UUID) -> list[Any]:
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT * FROM platform.stats_cases WHERE school_id = %s ORDER BY case_key",
            (school_id,),
        ).fetchall()
    return [dict(r) if isinstance(r, dict) else tuple(r) for r in rows]


def test_erasure_request_leaves_no_trace_of_the_pupil(container: Container) -> None:
    school = _school(container)
    service = CaseService(container.schools.get(school.id), school.id)
    name = f"Zwaantje Quirijnsdochter-{uuid4().hex[:6]}"
    case_id = _case_with_pupil(service, name)
    kept = _case_with_pupil(service, f"Bartholomeus Kwast-{uuid4().hex[:6]}")
    catch_up_school(container, school.id)
    schemas = [school.schema_name, "platform"]

    # Before: the name is in the read side (the log only holds ciphertext), and the live
    # application reads it back.
    assert _tables_holding(container, schemas, name), "the scan finds the name in the views"
    assert container.schools.get(school.id).get_case(case_id, school.id).participants
    stats_before = _stats(container, school.id)

    # A teacher may not erase; the contact person records the erasure request.
    with pytest.raises(PermissionDenied):
        erase_case(container, school.id, TEACHER, case_id, "Verzoek van ouders")
    erase_case(container, school.id, CONTACT, case_id, "Verzoek van ouders (AVG art. 17)")

    # The name is gone from every table of the school's schema and of the platform.
    assert _tables_holding(container, schemas, name) == []

    # The case replays, with the pupil fields erased; the other case is untouched.
    container.schools.clear()
    app = container.schools.get(school.id)
    case = app.get_case(case_id, school.id)
    (pupil,) = case.participants.values()
    assert (pupil.pupil_ref, pupil.display_name, pupil.group) == (ERASED, ERASED, ERASED)
    assert pupil.role == "target"
    assert case.pupil_data_erased
    (other,) = app.get_case(kept, school.id).participants.values()
    assert other.display_name.startswith("Bartholomeus Kwast-")
    # An earlier version of the case (before the erasure) is erased as well.
    (earlier,) = app.get_case(case_id, school.id, version=2).participants.values()
    assert earlier.display_name == ERASED

    # The hash chain over the stored bytes still verifies; the statistics did not change.
    report = verify_school(container.pool, school)
    assert report.ok, report.lines()
    assert _stats(container, school.id) == stats_before


def test_retention_expiry_erases_cases_closed_long_ago(container: Container) -> None:
    school = _school(container)
    assert school.retention_days == DEFAULT_RETENTION_DAYS
    with pytest.raises(InvalidInput):
        container.registry.configure_retention(school.id, 0)
    school = container.registry.configure_retention(school.id, 30)
    assert school.retention_days == 30
    service = CaseService(container.schools.get(school.id), school.id)
    old_name = f"Hildegard Oudkerk-{uuid4().hex[:6]}"
    open_name = f"Leonoor Openhart-{uuid4().hex[:6]}"
    closed = _case_with_pupil(service, old_name, closed=True)
    still_open = _case_with_pupil(service, open_name)
    catch_up_school(container, school.id)
    stats_before = _stats(container, school.id)
    schemas = [school.schema_name, "platform"]

    # Within the retention period nothing is erased.
    today = datetime.now(UTC).date()
    assert expire_school(container, school.id, today=today).erased == []
    assert _tables_holding(container, schemas, old_name)

    # 31 days on, the closed case is erased; the open one is kept.
    later = today + timedelta(days=31)
    assert expire_school(container, school.id, today=later).erased == [closed]
    assert _tables_holding(container, schemas, old_name) == []
    assert _tables_holding(container, schemas, open_name)
    container.schools.clear()
    app = container.schools.get(school.id)
    (pupil,) = app.get_case(closed, school.id).participants.values()
    assert pupil.display_name == ERASED
    (kept,) = app.get_case(still_open, school.id).participants.values()
    assert kept.display_name.startswith("Leonoor Openhart-")

    # Running again erases nothing new; the chain verifies; the statistics are unchanged.
    assert expire_school(container, school.id, today=later).erased == []
    assert verify_school(container.pool, school).ok
    assert _stats(container, school.id) == stats_before


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")


@pytest.mark.usefixtures("cli_env")
def test_vangnet_set_retention_and_privacy_expire(capsys: pytest.CaptureFixture[str]) -> None:
    with Container.open(Settings.from_env()) as container:
        school = _school(container)
        service = CaseService(container.schools.get(school.id), school.id)
        name = f"Cunegonda Klaproos-{uuid4().hex[:6]}"
        case_id = _case_with_pupil(service, name, closed=True)
        catch_up_school(container, school.id)

    # The operator shortens the retention period; a nonsense value is refused.
    assert main(["tenants", "set-retention", "--school", school.slug, "--days", "0"]) == 2
    assert main(["tenants", "set-retention", "--school", school.slug, "--days", "10"]) == 0
    assert "10 days after closing" in capsys.readouterr().out

    # Expiry as of eleven days from now erases the closed case (its id is printed, no name).
    later = (datetime.now(UTC).date() + timedelta(days=11)).isoformat()
    assert main(["privacy", "expire", "--school", school.slug, "--today", later]) == 0
    out = capsys.readouterr().out
    assert str(case_id) in out
    assert name not in out
    assert main(["audit", "verify", "--school", school.slug]) == 0
    with Container.open(Settings.from_env()) as container:
        assert _tables_holding(container, [school.schema_name, "platform"], name) == []


def test_a_recorded_erasure_scrubs_the_views_at_the_next_catch_up(container: Container) -> None:
    # The request recorded through the ordinary command path (web action, API): the worker's
    # catch-up sees the ErasureRequested event and rebuilds the school's views.
    school = _school(container)
    service = CaseService(container.schools.get(school.id), school.id)
    name = f"Gerbrich Vlasblom-{uuid4().hex[:6]}"
    case_id = _case_with_pupil(service, name)
    catch_up_school(container, school.id)
    schemas = [school.schema_name, "platform"]
    assert _tables_holding(container, schemas, name)
    service.handle(CONTACT, RequestErasure(case_id=case_id, reason="Verzoek van de leerling"))
    catch_up_school(container, school.id)
    assert _tables_holding(container, schemas, name) == []
