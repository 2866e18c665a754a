"""``vangnet privacy seal-old`` (issue #12 §4): events written before sealing existed hold the
pupil's name under the school key only; the command seals them in place, re-chains the log with a
signed, verifiable record, and from then on erasure reaches them. Names are fictitious."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from infra.adapters.audit.integrity import checkpoint_school, verify_school
from infra.adapters.postgres.chain import before_reseal_table
from infra.adapters.schools import casework_env
from infra.bootstrap.container import Container
from infra.bootstrap.retention import seal_old_school
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from services.casework.application import CaseworkApplication
from services.casework.commands import AddNote, AddParticipant, RedactPassages, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseService
from services.casework.sealing import ERASED, is_passage, is_sealed
from services.privacy.redaction import search_case
from tests.integration.test_erasure import CONTACT, _erase, _school, _tables_holding
from tests.integration.test_erasure import cli_env as cli_env  # noqa: PLC0414 (the fixture)

pytestmark = pytest.mark.integration

NAME = "Zorro Oudpupil"
REF = "PUP-ZZ-0001"


def _raw_events(container: Container, school_id: UUID, case_id: UUID) -> list[Any]:
    """The case's events as stored, decoded with sealed values left sealed."""
    app = container.schools.get(school_id)
    mapper = app.read_side_mapper()
    return [mapper.to_domain_event(s) for s in app.recorder.select_events(case_id)]


def _old_case(container: Container, settings: Settings) -> tuple[Any, UUID]:
    school = _school(container)
    legacy = CaseworkApplication(env=casework_env(school, settings.master_key))  # no key stores
    service = CaseService(legacy, school.id, link_pupils=False)  # before the register existed
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary=f"{NAME} gepest"))
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref=REF, role="target",
                                           display_name=NAME, group="Groep Oud"))  # fmt: skip
    service.handle(CONTACT, AddNote(case_id=case_id, text=f"Notitie over {NAME}"))
    return school, case_id


@pytest.mark.usefixtures("cli_env")
def test_seal_old_seals_old_events_verifiably_and_erasure_then_reaches_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings.from_env()
    with Container.open(settings) as container:
        school, case_id = _old_case(container, settings)
        # A checkpoint of the old chain; then a new event, sealed as every new one is.
        assert checkpoint_school(container.pool, school)
        CaseService(container.schools.get(school.id), school.id).handle(
            CONTACT, AddNote(case_id=case_id, text="Fictief: nieuwe notitie")
        )
        old = _raw_events(container, school.id, case_id)
        added = next(e for e in old if isinstance(e, Case.ParticipantAdded))
        assert added.display_name == NAME  # plain, under the school key only
        catch_up_school(container, school.id)
        assert _tables_holding(container, [school.schema_name], NAME)  # the views too

    assert main(["privacy", "seal-old", "--school", school.slug]) == 0
    assert f"{school.slug}: 4 event(s), 3 sealed now" in capsys.readouterr().out
    assert main(["audit", "verify", "--school", school.slug]) == 0  # the old checkpoint too
    capsys.readouterr()

    with Container.open(settings) as container:
        events = _raw_events(container, school.id, case_id)
        reported, added, note, new_note = events
        assert is_passage(reported.summary)
        assert all(is_sealed(getattr(added, f)) for f in ("pupil_ref", "display_name", "group"))
        assert is_passage(note.text)
        assert is_passage(new_note.text)
        # The log's old links are kept (hashes only) for the checkpoints recorded before.
        with container.pool.connection() as conn:
            kept: Any = conn.execute(
                SQL("SELECT count(*) FROM {}").format(
                    Identifier(school.schema_name, before_reseal_table("casework_events"))
                )
            ).fetchone()
        assert kept["count"] == 4
        # The case reads as before; the views hold nothing in plain text any more.
        app = container.schools.get(school.id)
        (pupil,) = app.get_case(case_id, school.id).participants.values()
        assert pupil.display_name == NAME
        assert _tables_holding(container, [school.schema_name, "platform"], NAME) == []

        # Erasure now reaches the old events: the pupil key and the passages' keys.
        found = search_case(app, school.id, CONTACT, case_id)
        assert {(f.passage.event_type, f.passage.field) for f in found.found} == {
            ("CaseReported", "summary"), ("NoteAdded", "text"),
        }  # fmt: skip
        _erase(container, school.id, CONTACT, case_id, "Fictief verzoek")
        CaseService(app, school.id).handle(
            CONTACT,
            RedactPassages(
                case_id=case_id,
                passages=[f.passage.passage_id for f in found.found],
                reason="Fictief verzoek",
            ),
        )
        container.schools.clear()
        case = container.schools.get(school.id).get_case(case_id, school.id)
        (pupil,) = case.participants.values()
        assert pupil.display_name == ERASED
        assert verify_school(container.pool, school).ok

    # Once sealed, a second run finds nothing to seal and records nothing.
    assert main(["privacy", "seal-old", "--school", school.slug]) == 0
    assert f"{school.slug}: 6 event(s), 0 sealed now" in capsys.readouterr().out
    assert main(["audit", "verify", "--school", school.slug]) == 0


def test_a_log_whose_chain_does_not_verify_is_not_sealed(
    container: Container, test_settings: Settings
) -> None:
    school, case_id = _old_case(container, test_settings)
    with container.pool.connection() as conn:
        conn.execute(
            SQL("UPDATE {} SET hash = %s WHERE notification_id = 1").format(
                Identifier(school.schema_name, "casework_events_chain")
            ),
            (b"\x00" * 32,),
        )
    done = seal_old_school(container, school.id)
    assert done.refused is not None
    assert "does not match its chain" in done.refused
    stored: list[StoredEvent] = list(
        container.schools.get(school.id).recorder.select_events(case_id)
    )
    added = container.schools.get(school.id).read_side_mapper().to_domain_event(stored[1])
    assert added.display_name == NAME  # untouched
