"""Per-pupil sealing in memory: the stored event holds no pupil field in plain text, the case
reads back unchanged, and after its keys are destroyed it still replays with the fields erased.
All names are fictitious."""

from __future__ import annotations

from uuid import uuid4

from services.casework.application import CaseworkApplication
from services.casework.commands import AddParticipant, ReportCase, RequestErasure
from services.casework.sealing import ERASED, InMemoryPupilKeys
from tests.unit.support import CONTACT, IN_MEMORY, new_service

NAME = "Fictieve Leerling Wispelturia"


def _stored_states(app: CaseworkApplication) -> list[bytes]:
    return [n.state for n in app.recorder.select_notifications(start=1, limit=100)]


def test_pupil_fields_are_sealed_and_erasable() -> None:
    keys = InMemoryPupilKeys()
    app = CaseworkApplication(env=IN_MEMORY, pupil_keys=keys)
    service = new_service(app, school_id=uuid4())
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref="ref-wisp", role="target",
                                           display_name=NAME, group="groep 7"))  # fmt: skip

    # Stored: sealed values, no plaintext. Read back: the plain fields.
    assert not any(NAME.encode() in state for state in _stored_states(app))
    (pupil,) = service.app.get_case(case_id, service.school_id).participants.values()
    assert (pupil.pupil_ref, pupil.display_name, pupil.group) == ("ref-wisp", NAME, "groep 7")

    # The erasure request destroys the case's keys; the case replays with the fields erased.
    # (The pupil stays in the school's register, under their own key: erasing them is a
    # request of its own, tests/unit/test_pupils.py.)
    service.handle(CONTACT, RequestErasure(case_id=case_id, reason="Verzoek van ouders"))
    assert set(keys.keys) == set(keys.pupils.values())
    case = service.app.get_case(case_id, service.school_id)
    (pupil,) = case.participants.values()
    assert (pupil.pupil_ref, pupil.display_name, pupil.group) == (ERASED, ERASED, ERASED)
    assert pupil.pupil_id is None  # the link to the register is erased with the case
    assert pupil.role == "target"
    assert case.pupil_data_erased


def test_without_pupil_keys_fields_are_stored_as_before() -> None:
    app = CaseworkApplication(env=IN_MEMORY)
    service = new_service(app, school_id=uuid4())
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref="ref-x", role="target",
                                           display_name=NAME))  # fmt: skip
    assert any(NAME.encode() in state for state in _stored_states(app))
