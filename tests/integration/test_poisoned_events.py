"""Stored events the views cannot take as they are (issue #10, section 1).

The domain refuses NUL and other control characters since #10, but events already in a log (old
data) or written by a future bug may still hold them. Such events are written here the way that
would happen: through the casework application with the domain's text rule bypassed (the event
methods called directly). PostgreSQL's ``text`` and ``jsonb`` cannot hold U+0000; before the fix
every catch-up of the school failed with ``UntranslatableCharacter`` and the school's views froze.
All names and texts are fictitious.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from dramatiq.brokers.stub import StubBroker
from psycopg.sql import SQL, Identifier

from infra.adapters.jobs import SavedNotifier
from infra.adapters.schools import casework_env
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school, lag, rebuild_school, verify_school
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from infra.entrypoints.web.health import READ_SIDE_HEALTH
from infra.entrypoints.worker.inprocess import start_inprocess_worker
from projections import engine, quarantine
from projections.case_view import projection as case_view
from projections.quarantine import Failure
from projections.views import ALL_VIEWS
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.commands import AddNote, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseService
from services.shared.actor import acting_as
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY_B64
from tests.integration.readside import case_service, new_school, report
from tests.integration.web import METRICS_TOKEN, log_in, principal, web_client
from tests.unit.support import CONTACT

pytestmark = pytest.mark.integration


def _app(container: Container, school: School) -> CaseworkApplication:
    """The school's log as a version before sealing wrote it (old data holds plain text: only
    there can a NUL reach the views; sealed text reaches them as ciphertext)."""
    return CaseworkApplication(env=casework_env(school, container.settings.master_key))


def poisoned_report(container: Container, school: School, summary: str, owner: str) -> UUID:
    """A report whose summary and owner went around the domain's text rule."""
    with acting_as(CONTACT):
        case = Case(school_id=school.id, reporter_kind="parent", summary=summary, owner_id=owner)
    _app(container, school).save_case(case)
    return case.id


def poisoned_note(container: Container, school: School, case_id: UUID, text: str) -> None:
    """A note stored without the domain's text rule (the event method called directly)."""
    app = _app(container, school)
    case = app.get_case(case_id, school.id)
    with acting_as(CONTACT):
        case._add_note(text=text)
    app.save_case(case)


def poisoned_evaluation(container: Container, school: School, case_id: UUID, text: str) -> None:
    """An evaluation (the lessons view keeps it in plain text and text[] columns)."""
    app = _app(container, school)
    case = app.get_case(case_id, school.id)
    with acting_as(CONTACT):
        case._evaluate(went_well=text, to_improve="Fictief", lessons=[text, "Fictief leerpunt"])
    app.save_case(case)


def rows(container: Container, school: School, table: str, where: str = "true") -> list[Any]:
    with container.pool.connection() as conn:
        return conn.execute(
            SQL("SELECT * FROM {} WHERE ").format(Identifier(school.schema_name, table))
            + SQL(where)  # type: ignore[arg-type]
        ).fetchall()


def case_ids_in_view(container: Container, school: School) -> set[UUID]:
    return {r["case_id"] for r in rows(container, school, "cases")}


def test_a_nul_in_stored_events_no_longer_freezes_the_school(container: Container) -> None:
    school = new_school(container)
    service = case_service(container, school)
    healthy = report(service)
    catch_up_school(container, school.id)

    # Old data / a future bug: a NUL in a note (the timeline's JSON), in a new report's summary
    # (the case's JSON detail) and owner (a text column), in an evaluation (text and text[]).
    poisoned_note(container, school, healthy, "Fictieve\x00notitie")
    bad = poisoned_report(container, school, "Fictieve\x00melding", "test-owner\x00x")
    poisoned_evaluation(container, school, healthy, "Fictief\x00goed")
    later = report(service)

    # The catch-up applies everything; the school keeps flowing: the later case appears.
    catch_up_school(container, school.id)
    assert lag(container, school.id) == 0
    assert {healthy, bad, later} <= case_ids_in_view(container, school)

    # What PostgreSQL cannot store is shown escaped (documented in projections/storable.py).
    [detail] = [r["detail"] for r in rows(container, school, "cases") if r["case_id"] == bad]
    assert detail["summary"] == "Fictieve\\u0000melding"
    assert detail["owner_id"] == "test-owner\\u0000x"
    notes = [
        r["data"]["text"]
        for r in rows(container, school, "case_timeline")
        if r["event_type"] == "NoteAdded"
    ]
    assert notes == ["Fictieve\\u0000notitie"]
    [lessons] = rows(container, school, "lessons")
    assert lessons["went_well"] == "Fictief\\u0000goed"
    assert lessons["lessons"] == ["Fictief\\u0000goed", "Fictief leerpunt"]

    # Replay equals live, and a rebuild works too.
    assert verify_school(container, school.id) == []
    rebuild_school(container, school.id)
    assert verify_school(container, school.id) == []


def test_a_rebuild_applies_events_with_a_nul(container: Container) -> None:
    # `vangnet projections rebuild` failed the same way as the catch-up.
    school = new_school(container)
    service = case_service(container, school)
    case_id = report(service)
    poisoned_note(container, school, case_id, "Fictief\x00")
    assert rebuild_school(container, school.id) == 3
    assert lag(container, school.id) == 0
    assert verify_school(container, school.id) == []


# --- an event a view still cannot apply: isolated, retried, then quarantined --------------------

#: The note text on which the simulated bug below strikes (fictitious).
MARKER = "Fictieve notitie die de bug raakt"


def _buggy_note_handler(row: dict[str, Any], event: Any) -> None:
    """The case view's note handler with a future bug: it fails on one particular note (an old,
    plain one: the view sees newer notes sealed)."""
    if event.text == MARKER:
        raise KeyError(MARKER)  # the message quotes case text: it must never reach a log
    row["notes"] += 1


def _head(container: Container, school: School) -> int:
    with container.pool.connection() as conn:
        return engine.head(conn, school.schema_name)


def failures_of(container: Container, school: School) -> list[Failure]:
    with container.pool.connection() as conn:
        return quarantine.failures(conn, school.schema_name)


def positions_of(container: Container, school: School) -> dict[str, int]:
    with container.pool.connection() as conn:
        return engine.positions(conn, school.schema_name)


def platform_health(container: Container, school: School) -> list[tuple[str, str, int, int]]:
    with container.pool.connection() as conn:
        found = conn.execute(
            "SELECT view, error_class, failing, quarantined FROM platform.projection_health"
            " WHERE school_id = %s ORDER BY view",
            (school.id,),
        ).fetchall()
    return [(r["view"], r["error_class"], r["failing"], r["quarantined"]) for r in found]


def test_an_event_a_view_cannot_apply_is_quarantined_and_the_rest_keeps_flowing(
    container: Container, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(case_view.HANDLERS, Case.NoteAdded, _buggy_note_handler)
    school = new_school(container)
    service = case_service(container, school)
    first = report(service)
    catch_up_school(container, school.id)
    poisoned_note(container, school, first, MARKER)
    service.handle(CONTACT, AddNote(case_id=first, text="Fictieve gewone notitie"))
    later = report(service, intake=False)
    head = _head(container, school)
    bad_event = head - 2  # the marked note; after it a note and the later report

    # 1st run: the batch fails; it is retried event by event, so everything before the bad
    # event applies and the case view waits just before it. The other views go on to the head.
    caplog.set_level(logging.INFO)
    catch_up_school(container, school.id)
    at = positions_of(container, school)
    assert at["case_view"] == bad_event - 1
    assert all(at[v.name] == head for v in ALL_VIEWS if v.name != "case_view")
    assert later not in case_ids_in_view(container, school)
    [failing] = failures_of(container, school)
    assert (failing.view, failing.notification_id, failing.error_class) == (
        "case_view", bad_event, "KeyError",
    )  # fmt: skip
    assert (failing.attempts, failing.quarantined) == (1, False)
    assert platform_health(container, school) == [("case_view", "KeyError", 1, 0)]

    # 2nd and 3rd run (the worker's sweep, or the next command's hint): on the 3rd attempt the
    # case view skips that event and catches up: the later case appears.
    catch_up_school(container, school.id)
    assert failures_of(container, school)[0].attempts == 2
    catch_up_school(container, school.id)
    [quarantined] = failures_of(container, school)
    assert (quarantined.attempts, quarantined.quarantined) == (quarantine.ATTEMPTS, True)
    assert lag(container, school.id) == 0
    assert later in case_ids_in_view(container, school)
    assert platform_health(container, school) == [("case_view", "KeyError", 0, 1)]

    # The log: one line when the failure was first seen, one when it was quarantined; ids and
    # the error class, never the case text, never a traceback.
    lines = [r for r in caplog.records if r.name == "projections.quarantine"]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.ERROR]
    for record in lines:
        message = record.getMessage()
        assert f"event {bad_event}" in message
        assert "case_view" in message
        assert "KeyError" in message
        assert str(school.id) in message
    assert all(r.exc_info is None for r in caplog.records)
    assert MARKER not in caplog.text

    # Verify reports the quarantined event (live and replay skip the same event: no difference
    # in the rows).
    [line] = verify_school(container, school.id)
    assert f"case_view: event {bad_event} quarantined (KeyError)" in line

    # The bug is fixed; a rebuild applies the event again and clears the quarantine.
    monkeypatch.undo()
    rebuild_school(container, school.id)
    assert failures_of(container, school) == []
    assert platform_health(container, school) == []
    assert verify_school(container, school.id) == []
    [notes] = [
        r["detail"]["notes"] for r in rows(container, school, "cases") if r["case_id"] == first
    ]
    assert notes == 2


def test_an_event_that_cannot_be_decoded_is_quarantined_for_every_view(
    container: Container,
) -> None:
    school = new_school(container)
    service = case_service(container, school)
    case_id = report(service)
    service.handle(CONTACT, AddNote(case_id=case_id, text="Fictieve notitie"))
    later = report(service, intake=False)
    damaged = _head(container, school) - 1  # the note
    # Damaged bytes (a disk error, a botched restore): the event no longer decrypts.
    with container.pool.connection() as conn:
        conn.execute(
            SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(
                Identifier(school.schema_name, "casework_events")
            ),
            (b"\x00" * 40, damaged),
        )
    for _ in range(quarantine.ATTEMPTS):
        catch_up_school(container, school.id)
    assert lag(container, school.id) == 0
    assert later in case_ids_in_view(container, school)
    found = failures_of(container, school)
    assert {f.view for f in found} == {v.name for v in ALL_VIEWS}
    assert {(f.notification_id, f.quarantined) for f in found} == {(damaged, True)}
    # A state that does not decrypt for its event is an integrity violation (issue 10 §5).
    assert {f.error_class for f in found} == {"IntegrityViolation"}
    # Replay skips the same event: verification lists it for every view, with no other difference.
    lines = verify_school(container, school.id)
    assert len(lines) == len(ALL_VIEWS)
    assert all(f"event {damaged} quarantined (IntegrityViolation)" in line for line in lines)


def test_a_database_error_is_not_blamed_on_the_event(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deadlock, timeout or lost connection says nothing about the event: the catch-up fails
    # as before (the job is retried with backoff) and no attempt is counted.
    school = new_school(container)
    case_id = report(case_service(container, school))
    catch_up_school(container, school.id)
    case_service(container, school).handle(CONTACT, AddNote(case_id=case_id, text="Fictief"))

    def deadlocked(row: dict[str, Any], event: Any) -> None:
        raise psycopg.errors.DeadlockDetected

    monkeypatch.setitem(case_view.HANDLERS, Case.NoteAdded, deadlocked)
    with pytest.raises(psycopg.errors.DeadlockDetected):
        catch_up_school(container, school.id)
    assert failures_of(container, school) == []
    assert lag(container, school.id) == 1  # nothing of the batch committed


def test_a_rebuild_quarantines_at_once_what_it_cannot_apply(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `vangnet projections rebuild` replays the log once: no waiting for later runs.
    monkeypatch.setitem(case_view.HANDLERS, Case.NoteAdded, _buggy_note_handler)
    school = new_school(container)
    service = case_service(container, school)
    case_id = report(service)
    poisoned_note(container, school, case_id, MARKER)
    later = report(service, intake=False)
    bad_event = _head(container, school) - 1
    assert rebuild_school(container, school.id) == 4
    assert later in case_ids_in_view(container, school)
    [failure] = failures_of(container, school)
    assert (failure.view, failure.notification_id, failure.attempts, failure.quarantined) == (
        "case_view", bad_event, 1, True,
    )  # fmt: skip
    assert platform_health(container, school) == [("case_view", "KeyError", 0, 1)]
    # Live catch-ups and the verification agree with the rebuild.
    catch_up_school(container, school.id)
    [line] = verify_school(container, school.id)
    assert f"event {bad_event} quarantined" in line


# --- a degraded school is visible: status, verify, readiness, metrics, operator page ----------


def _degraded_school(container: Container, monkeypatch: pytest.MonkeyPatch) -> tuple[School, int]:
    """A school whose case view quarantined one event (the bug stays in place)."""
    monkeypatch.setitem(case_view.HANDLERS, Case.NoteAdded, _buggy_note_handler)
    school = new_school(container)
    service = case_service(container, school)
    poisoned_note(container, school, report(service), MARKER)
    for _ in range(quarantine.ATTEMPTS):
        catch_up_school(container, school.id)
    return school, _head(container, school)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "4")


@pytest.mark.usefixtures("cli_env")
def test_projections_status_and_verify_show_a_degraded_school(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Container.open(Settings.from_env()) as container:
        school, bad_event = _degraded_school(container, monkeypatch)
    assert main(["projections", "status"]) == 0
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith(school.slug)]
    assert line.split() == [school.slug, "lag", "0", "DEGRADED:", "case_view", "1",
                            "quarantined", "(KeyError)"]  # fmt: skip
    assert "degraded" in out.splitlines()[-2]
    assert main(["projections", "verify", "--school", school.slug]) == 1
    out = capsys.readouterr().out
    assert f"case_view: event {bad_event} quarantined (KeyError)" in out
    assert MARKER not in out


def test_readiness_metrics_and_operator_page_show_degraded_schools(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    school, _ = _degraded_school(container, monkeypatch)
    monkeypatch.setattr(READ_SIDE_HEALTH, "ttl", 0.0)  # read the table at every scrape
    with web_client(container, worker=False) as client:
        # Readiness: still ready (one school's view is no reason to stop serving every school),
        # with counts per view and error class.
        r = client.get("/health/ready")
        assert r.status_code == 200
        details = r.json()["projections"]
        assert details["status"] == "degraded"
        assert details["degraded_schools"] >= 1
        [mine] = [v for v in details["views"] if (v["view"], v["error_class"]) == (
            "case_view", "KeyError")]  # fmt: skip
        assert mine["quarantined"] >= 1
        assert str(school.id) not in r.text

        # Metrics: labelled by view and error class only.
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        [sample] = [
            line
            for line in metrics.splitlines()
            if line.startswith("vangnet_projection_quarantined_events{")
            and 'view="case_view"' in line
            and 'error_class="KeyError"' in line
        ]
        assert float(sample.rsplit(" ", 1)[1]) >= 1
        assert "vangnet_projection_degraded_schools " in metrics
        assert str(school.id) not in metrics

        # The operator sees which school, which view (Dutch) and the error class; no case text.
        log_in(client, principal(None, Role.OPERATOR))
        page = client.get("/beheer")
        assert page.status_code == 200
        assert "Overzichten met een storing" in page.text
        row = page.text[page.text.index(school.slug) - 400 : page.text.index(school.slug) + 400]
        assert "zaken en tijdlijn" in row
        assert "KeyError" in row
        assert MARKER not in page.text


def test_the_worker_neither_retries_nor_logs_tracebacks_for_an_event_it_cannot_apply(
    container: Container, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: every catch-up job failed, was retried with backoff, logged a traceback per
    # attempt and ended as a dead letter, again for every new command of the school.
    monkeypatch.setitem(case_view.HANDLERS, Case.NoteAdded, _buggy_note_handler)
    caplog.set_level(logging.INFO)
    worker = start_inprocess_worker(container)
    try:
        school = new_school(container)
        notifier = SavedNotifier()
        service = CaseService(container.schools.get(school.id), school.id, on_saved=notifier)
        case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
        poisoned_note(container, school, case_id, MARKER)
        # Every further command hints a catch-up; each is one attempt at the bad event.
        for _ in range(quarantine.ATTEMPTS):
            service.handle(CONTACT, AddNote(case_id=case_id, text="Fictieve notitie"))
            worker.wait_until_idle()
        assert isinstance(worker.broker, StubBroker)
        assert worker.broker.dead_letters == []
    finally:
        worker.stop()
    assert lag(container, school.id) == 0
    [failure] = failures_of(container, school)
    assert failure.quarantined
    assert all(r.exc_info is None for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING
                and r.name != "projections.quarantine"]  # fmt: skip
    assert MARKER not in caplog.text
