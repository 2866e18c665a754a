"""The case file (dossier), in memory: who may export it, every event type has its place in the
file, and the PDF prints what the font can and marks what it cannot. All texts are fictitious."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from infra.adapters.exports.pdf import render_case_file_pdf
from infra.entrypoints.web.labels import describe
from services.access.roles import Role
from services.casework.commands import (
    AddNote,
    AddParticipant,
    FlagCriminalOffence,
    GiveConsent,
    ReportCase,
)
from services.casework.domain import EVENT_TYPES
from services.exports.case_file import _Fold, build_case_file
from services.exports.reader import CaseFileReader, may_export_case_file
from services.shared.actor import SYSTEM, acting_as
from services.shared.errors import CaseNotFound
from tenants.registry import School
from tests.unit.support import CONTACT, actor, new_app, new_service

MAY = {
    Role.CONTACT_PERSON,
    Role.COORDINATOR,
    Role.SCHOOL_CONTACT,
    Role.CONFIDENTIAL_ADVISOR,
    Role.MANAGEMENT,
    Role.BOARD,
    Role.AUDITOR,
}


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_with_the_case_file_part_may_export(role: Role) -> None:
    assert may_export_case_file(role) is (role in MAY)


def test_every_event_type_has_its_place_in_the_case_file() -> None:
    missing = [t.__name__ for t in EVENT_TYPES if not hasattr(_Fold, "on_" + t.__name__)]
    assert missing == []


def _school() -> School:
    with acting_as(SYSTEM):
        return School(
            board_id=uuid4(),
            name="Basisschool Één",
            slug="basisschool-een",
            schema_name="school_test",
            wrapped_data_key="unused",
        )


def test_the_reader_finds_cases_of_its_school_only_and_asks_who_reads() -> None:
    app = new_app()
    school_id = uuid4()
    service = new_service(app, school_id)
    case_id = service.report(CONTACT, ReportCase(reporter_kind="peer", summary="Fictief"))
    reader = CaseFileReader(app, school_id)
    assert reader.read(CONTACT, case_id).case.id == case_id
    with pytest.raises(CaseNotFound):
        CaseFileReader(app, uuid4()).read(CONTACT, case_id)
    with pytest.raises(CaseNotFound):
        reader.read(CONTACT, uuid4())
    # Need-to-know: a mentor not engaged in the case does not find it; the board finds no
    # case without a complaint at its level.
    with pytest.raises(CaseNotFound):
        reader.read(actor(Role.TEACHER), case_id)
    with pytest.raises(CaseNotFound):
        reader.read(actor(Role.BOARD), case_id)


def test_the_pdf_prints_dutch_characters_and_marks_missing_glyphs() -> None:
    app = new_app()
    school = _school()
    service = new_service(app, school.id)
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief 😀"))
    service.handle(
        CONTACT,
        AddParticipant(case_id=case_id, pupil_ref="LL-1", role="target", display_name="Ömer Şahin"),
    )
    service.handle(
        CONTACT, GiveConsent(case_id=case_id, given_by="pupil", covers=["talk_with_actor"])
    )
    service.handle(CONTACT, FlagCriminalOffence(case_id=case_id, description="Fictief feit"))
    service.handle(CONTACT, AddNote(case_id=case_id, text="Lange notitie. " * 600))
    record = CaseFileReader(app, school.id).read(CONTACT, case_id)
    case_file = build_case_file(school, record, CONTACT, datetime.now(UTC), describe=describe)
    assert [item.event_type for item in case_file.timeline] == [
        "CaseReported",
        "ParticipantAdded",
        "ConsentGiven",
        "CriminalOffenceFlagged",
        "NoteAdded",
    ]
    police = next(s for s in case_file.sections if s.key == "police")
    assert police.entries[0].title.startswith("Strafbaar feit vastgelegd op")
    data = render_case_file_pdf(case_file)  # a note longer than a page, an emoji: no error
    assert data.startswith(b"%PDF-")
