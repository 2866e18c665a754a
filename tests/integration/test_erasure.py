"""Retention and erasure (issue #5) on real PostgreSQL: a pupil with a distinctive fictitious name
is erased, and afterwards the name is nowhere in the school's or the platform's tables, the case
still replays (with the pupil fields erased), the hash chain still verifies, and the board
statistics did not change. All names and texts are fictitious."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from infra.adapters.audit.integrity import verify_school
from infra.adapters.privacy import purge
from infra.adapters.privacy.keys import PostgresPupilKeys
from infra.adapters.schools import casework_env
from infra.bootstrap.container import Container
from infra.bootstrap.retention import expire_school
from infra.bootstrap.views import (
    catch_up_school,
    ensure_school_views,
    lag,
    rebuild_school,
    school_failures,
)
from infra.bootstrap.views import verify_school as verify_school_views
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from projections.case_view import projection as case_view
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.commands import (
    AddNote,
    AddParticipant,
    CloseCase,
    CompleteFollowUp,
    EvaluateCase,
    HoldIntake,
    ReportCase,
    RequestErasure,
    ScheduleFollowUp,
)
from services.casework.domain import Case
from services.casework.handlers import CaseService
from services.casework.sealing import ERASED
from services.shared.actor import Actor
from services.shared.errors import InvalidInput, PermissionDenied
from tenants.registry import DEFAULT_RETENTION_DAYS, School
from tests.conftest import TEST_MASTER_KEY_B64
from tests.integration.web import (
    FakeIssuer,
    bearer,
    configure_fake_login,
    log_in,
    principal,
    web_client,
)

pytestmark = pytest.mark.integration

CONTACT = Actor("test-cp-erasure", Role.CONTACT_PERSON)
TEACHER = Actor("test-teacher-erasure", Role.TEACHER)
TEXT_TYPES = ("text", "character varying", "jsonb", "json", "bytea", "ARRAY", "USER-DEFINED")


def _erase(container: Container, school_id: UUID, actor: Actor, case_id: UUID, reason: str) -> None:
    """The contact person's erasure request, as the API and the pages record it."""
    service = CaseService(container.schools.get(school_id), school_id)
    service.handle(actor, RequestErasure(case_id=case_id, reason=reason))


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

    # Before: the read side holds the name sealed only (issue #12), the live application reads
    # it back.
    assert _tables_holding(container, schemas, name) == []  # sealed: the views hold ciphertext only
    assert container.schools.get(school.id).get_case(case_id, school.id).participants
    stats_before = _stats(container, school.id)

    # A teacher may not erase; the contact person records the erasure request.
    with pytest.raises(PermissionDenied):
        _erase(container, school.id, TEACHER, case_id, "Verzoek van ouders")
    _erase(container, school.id, CONTACT, case_id, "Verzoek van ouders (AVG art. 17)")

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
    assert (
        _tables_holding(container, schemas, old_name) == []
    )  # sealed: the views hold ciphertext only

    # 31 days on, the closed case is erased; the open one is kept.
    later = today + timedelta(days=31)
    assert expire_school(container, school.id, today=later).erased == [closed]
    assert _tables_holding(container, schemas, old_name) == []
    assert (
        _tables_holding(container, schemas, open_name) == []
    )  # sealed: the views hold ciphertext only
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
    assert _tables_holding(container, schemas, name) == []  # sealed: the views hold ciphertext only
    service.handle(CONTACT, RequestErasure(case_id=case_id, reason="Verzoek van de leerling"))
    catch_up_school(container, school.id)
    assert _tables_holding(container, schemas, name) == []


# --- erasure when the views are behind or degraded (issue #10) ---------------------------------


@dataclass
class Web:
    client: Any
    school: School
    issuer: FakeIssuer

    def erase(self, case_id: UUID) -> Any:
        return self.client.post(
            f"/api/cases/{case_id}/request-erasure",
            json={"reason": "Verzoek van ouders (fictief)"},
            headers=bearer(self.issuer, self.school, Role.CONTACT_PERSON),
        )


@pytest.fixture
def web(container: Container) -> Iterator[Web]:
    """The web app with NO worker: nothing catches the views up unless a test does."""
    school = _school(container)
    ensure_school_views(container, school.id)
    issuer = FakeIssuer(f"https://idp.test/{school.slug}", "vangnet-api")
    configure_fake_login(container, school, issuer)
    with web_client(container, worker=False, http_transport=issuer.transport) as client:
        yield Web(client, school, issuer)


def _pupil(label: str) -> str:
    return f"Leerling Test-{label}-{uuid4().hex[:6]}"


def test_erasure_through_the_api_purges_the_views_of_a_lagging_school(
    container: Container, web: Web
) -> None:
    school = web.school
    schemas = [school.schema_name, "platform"]
    service = CaseService(container.schools.get(school.id), school.id)
    name = _pupil("Wis")
    case_id = _case_with_pupil(service, name)
    catch_up_school(container, school.id)
    assert _tables_holding(container, schemas, name) == []  # sealed: the views hold ciphertext only
    # The views fall behind (no worker runs): a second pupil (registered in the school's pupil
    # register, then added) and a note arrive meanwhile.
    later = _pupil("Later")
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref=f"ref-{later}",
                                           role="bystander", display_name=later))  # fmt: skip
    service.handle(CONTACT, AddNote(case_id=case_id, text="Fictieve notitie"))
    assert lag(container, school.id) == 3

    # The contact person erases through the API: the answer comes only once the views hold
    # nothing of the pupils, though no catch-up ran.
    r = web.erase(case_id)
    assert r.status_code == 200, r.text
    assert _tables_holding(container, schemas, name) == []
    assert _tables_holding(container, schemas, later) == []

    # When the views do catch up, nothing comes back, and replay equals live.
    catch_up_school(container, school.id)
    assert _tables_holding(container, schemas, name) == []
    assert _tables_holding(container, schemas, later) == []
    assert verify_school_views(container, school.id) == []
    detail = _view_detail(container, school, case_id)
    assert {p["display_name"] for p in detail["participants"].values()} == {ERASED}


def _view_detail(container: Container, school: School, case_id: UUID) -> Any:
    with container.pool.connection() as conn:
        row: Any = conn.execute(
            SQL("SELECT detail FROM {} WHERE case_id = %s").format(
                Identifier(school.schema_name, "cases")
            ),
            (case_id,),
        ).fetchone()
    return row["detail"]


#: The note on which the simulated bug of the case view strikes (fictitious).
MARKER = "Fictieve notitie die de bug raakt"


def _buggy_note_handler(row: dict[str, Any], event: Any) -> None:
    # The view sees the note sealed (issue #12): the bug strikes on every note of this test.
    raise KeyError("simulated bug")


def test_erasure_through_the_page_purges_the_views_of_a_degraded_school(
    container: Container, web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = web.school
    schemas = [school.schema_name, "platform"]
    monkeypatch.setitem(case_view.HANDLERS, Case.NoteAdded, _buggy_note_handler)
    service = CaseService(container.schools.get(school.id), school.id)
    name = _pupil("Storing")
    case_id = _case_with_pupil(service, name)
    catch_up_school(container, school.id)
    # A note the case view cannot apply: the view stops before it (the school is degraded);
    # a second pupil recorded after it does not reach the case view.
    service.handle(CONTACT, AddNote(case_id=case_id, text=MARKER))
    later = _pupil("NaStoring")
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref=f"ref-{later}",
                                           role="actor", display_name=later))  # fmt: skip
    catch_up_school(container, school.id)
    [failing] = school_failures(container, school.id)
    assert (failing.view, failing.quarantined) == ("case_view", False)
    assert _tables_holding(container, schemas, name) == []  # sealed: the views hold ciphertext only

    # The contact person erases on the case's page.
    log_in(web.client, principal(school, Role.CONTACT_PERSON))
    form = web.client.get(f"/zaken/{case_id}/request-erasure")
    assert form.status_code == 200
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    r = web.client.post(
        f"/zaken/{case_id}/request-erasure",
        data={"reason": "Verzoek van ouders (fictief)", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    assert _tables_holding(container, schemas, name) == []
    assert _tables_holding(container, schemas, later) == []

    # The case view quarantines the note in time and catches up; then the bug is fixed and the
    # school rebuilt: at no point does a name come back, and replay equals live.
    for _ in range(3):
        catch_up_school(container, school.id)
    assert lag(container, school.id) == 0
    assert _tables_holding(container, schemas, name) == []
    assert _tables_holding(container, schemas, later) == []
    monkeypatch.undo()
    rebuild_school(container, school.id)
    assert _tables_holding(container, schemas, name) == []
    assert _tables_holding(container, schemas, later) == []
    assert verify_school_views(container, school.id) == []


def test_an_erasure_that_cannot_purge_the_views_stores_nothing(
    container: Container, web: Web, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = web.school
    schemas = [school.schema_name, "platform"]
    service = CaseService(container.schools.get(school.id), school.id)
    name = _pupil("Bezet")
    case_id = _case_with_pupil(service, name)
    catch_up_school(container, school.id)
    version = container.schools.get(school.id).get_case(case_id, school.id).version

    # Something holds the case view's lock longer than an erasure waits (a long rebuild).
    monkeypatch.setattr(purge, "LOCK_TIMEOUT_MS", 100)
    with psycopg.connect(database_url) as blocker:
        blocker.execute(
            SQL("SELECT * FROM {} WHERE view = 'case_view' FOR UPDATE").format(
                Identifier(school.schema_name, "projection_positions")
            )
        )
        r = web.erase(case_id)
        blocker.rollback()
    assert r.status_code == 503
    assert r.json()["code"] == "erasure_unavailable"
    # Nothing half-done: no event, the keys are there, the views unchanged.
    container.schools.clear()
    case = container.schools.get(school.id).get_case(case_id, school.id)
    assert case.version == version
    assert not case.pupil_data_erased
    assert [p.display_name for p in case.participants.values()] == [name]
    assert _tables_holding(container, schemas, name) == []  # sealed: the views hold ciphertext only

    # Once the views are free, the same request succeeds.
    assert web.erase(case_id).status_code == 200
    assert _tables_holding(container, schemas, name) == []


def test_an_erasure_whose_keys_are_not_destroyed_says_so_and_a_repeat_finishes_it(
    container: Container, web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = web.school
    schemas = [school.schema_name, "platform"]
    service = CaseService(container.schools.get(school.id), school.id)
    name = _pupil("Sleutel")
    case_id = _case_with_pupil(service, name)
    catch_up_school(container, school.id)

    def fails(self: PostgresPupilKeys, case_id: UUID) -> int:
        raise RuntimeError("simulated failure")

    with monkeypatch.context() as m:
        m.setattr(PostgresPupilKeys, "destroy_case", fails)
        r = web.erase(case_id)
    # The request is recorded and the views are purged, but the keys survive: said plainly.
    assert r.status_code == 503
    assert r.json()["code"] == "erasure_incomplete"
    assert _tables_holding(container, schemas, name) == []
    container.schools.clear()
    case = container.schools.get(school.id).get_case(case_id, school.id)
    assert case.pupil_data_erased
    assert [p.display_name for p in case.participants.values()] == [name]  # key still there

    # Repeating the erasure finishes it.
    assert web.erase(case_id).status_code == 200
    container.schools.clear()
    case = container.schools.get(school.id).get_case(case_id, school.id)
    assert [p.display_name for p in case.participants.values()] == [ERASED]
    catch_up_school(container, school.id)
    assert _tables_holding(container, schemas, name) == []
    assert verify_school_views(container, school.id) == []


def test_the_views_drop_pupils_recorded_before_sealing_existed(
    container: Container, test_settings: Settings
) -> None:
    # Events written before per-pupil keys existed hold the name under the school key only: the
    # log cannot forget it, but the views do, live and in a replay alike.
    school = _school(container)
    schemas = [school.schema_name, "platform"]
    old_app = CaseworkApplication(env=casework_env(school, test_settings.master_key))
    name = _pupil("Oud")
    case_id = _case_with_pupil(CaseService(old_app, school.id), name)
    catch_up_school(container, school.id)
    assert _tables_holding(container, schemas, name)
    _erase(container, school.id, CONTACT, case_id, "Verzoek van ouders (fictief)")
    assert _tables_holding(container, schemas, name) == []
    catch_up_school(container, school.id)
    rebuild_school(container, school.id)
    assert _tables_holding(container, schemas, name) == []
    assert verify_school_views(container, school.id) == []


def test_an_erasure_the_views_were_not_purged_for_is_completed_by_the_catch_up(
    container: Container, test_settings: Settings
) -> None:
    # If the purge could not be committed after the request was stored, the stored request
    # itself erases the pupil fields when the views apply it: in rows written by earlier batches
    # and in rows of the same batch alike.
    school = _school(container)
    schemas = [school.schema_name, "platform"]
    data_key_app = container.schools.get(school.id)
    # The school's application without the purge (keys are still destroyed on save).
    no_purge = CaseworkApplication(
        env=casework_env(school, test_settings.master_key), pupil_keys=data_key_app.pupil_keys
    )
    service = CaseService(no_purge, school.id)
    earlier = _pupil("EerdereBatch")
    first = _case_with_pupil(service, earlier)
    catch_up_school(container, school.id)
    service.handle(CONTACT, RequestErasure(case_id=first, reason="Fictief"))
    assert (
        _tables_holding(container, schemas, earlier) == []
    )  # sealed: the views hold ciphertext only
    # Written before sealing (and the pupil register) existed and erased before any catch-up:
    # one batch.
    legacy = CaseworkApplication(env=casework_env(school, test_settings.master_key))
    same = _pupil("ZelfdeBatch")
    old = CaseService(legacy, school.id, link_pupils=False)
    second = _case_with_pupil(old, same)
    old.handle(CONTACT, RequestErasure(case_id=second, reason="F"))

    catch_up_school(container, school.id)
    assert _tables_holding(container, schemas, earlier) == []
    assert _tables_holding(container, schemas, same) == []
    assert verify_school_views(container, school.id) == []
