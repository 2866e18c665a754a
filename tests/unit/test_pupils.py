"""The pupil register in memory: one pupil in several cases (target in one, actor in another),
sealed with their own key; erasing the pupil erases them in every case, erasing a case only
there; old participants keep working. Every name is fictitious."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from services.access.roles import Role
from services.casework.application import CaseworkApplication, register_of
from services.casework.commands import AddParticipant, ReportCase, RequestErasure
from services.casework.handlers import CaseService
from services.casework.sealing import ERASED, InMemoryPupilKeys
from services.privacy.retention import expire_pupils
from services.pupils.domain import PupilDetails
from services.pupils.register import PupilReason, PupilRegister
from services.shared.errors import InvalidInput, PermissionDenied
from tests.unit.support import CONTACT, IN_MEMORY, actor, new_service

NAME = "Fictieve Leerling Pupilla"
OTHER = "Fictieve Leerling Quintus"
COORDINATOR = actor(Role.COORDINATOR, "user-apc")
TEACHER = actor(Role.TEACHER, "user-mentor")


@pytest.fixture
def keys() -> InMemoryPupilKeys:
    return InMemoryPupilKeys()


@pytest.fixture
def app(keys: InMemoryPupilKeys) -> CaseworkApplication:
    return CaseworkApplication(env=IN_MEMORY, pupil_keys=keys)


@pytest.fixture
def service(app: CaseworkApplication) -> CaseService:
    return new_service(app, school_id=uuid4())


@pytest.fixture
def register(service: CaseService) -> PupilRegister:
    return register_of(service.app, service.school_id)


def _case(service: CaseService) -> UUID:
    return service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))


def _states(app: CaseworkApplication) -> list[bytes]:
    return [n.state for n in app.recorder.select_notifications(start=1, limit=1000)]


def _participant(service: CaseService, case_id: UUID, pupil_id: UUID | None = None):
    case = service.app.get_case(case_id, service.school_id)
    found = [p for p in case.participants.values() if pupil_id is None or p.pupil_id == pupil_id]
    assert found, "participant not found"
    return found[0]


def test_one_pupil_is_target_in_one_case_and_actor_in_another(
    service: CaseService, register: PupilRegister, app: CaseworkApplication
) -> None:
    pupil = register.register(CONTACT, PupilDetails("LL-100", NAME, "groep 6"))
    first, second = _case(service), _case(service)
    service.handle(CONTACT, AddParticipant(case_id=first, pupil_id=str(pupil.id), role="target"))
    service.handle(CONTACT, AddParticipant(case_id=second, pupil_id=str(pupil.id), role="actor"))

    one, two = _participant(service, first), _participant(service, second)
    assert (one.pupil_id, one.role, one.display_name, one.pupil_ref) == (
        pupil.id, "target", NAME, "LL-100",
    )  # fmt: skip
    assert (two.pupil_id, two.role, two.group) == (pupil.id, "actor", "groep 6")
    # Nothing of the pupil is stored in plain text (register and cases alike).
    assert not any(NAME.encode() in s or b"LL-100" in s for s in _states(app))


def test_added_on_the_spot_registers_or_links_by_pupil_number(
    service: CaseService, register: PupilRegister
) -> None:
    first, second = _case(service), _case(service)
    service.handle(CONTACT, AddParticipant(case_id=first, pupil_ref="LL-7", display_name=NAME,
                                           group="1b", role="target"))  # fmt: skip
    (entry,) = register.search(CONTACT)
    assert (entry.reference, entry.display_name, entry.group) == ("LL-7", NAME, "1b")
    # The same number again (name left empty): the same pupil of the register.
    service.handle(CONTACT, AddParticipant(case_id=second, pupil_ref="ll-7", role="bystander"))
    assert _participant(service, second).pupil_id == entry.pupil_id
    assert len(register.search(CONTACT)) == 1
    # The number with another name: refused, naming the field; nothing stored.
    third = _case(service)
    with pytest.raises(InvalidInput) as info:
        service.handle(CONTACT, AddParticipant(case_id=third, pupil_ref="LL-7",
                                               display_name=OTHER, role="actor"))  # fmt: skip
    assert (info.value.field, info.value.reason) == ("pupil_ref", PupilReason.REFERENCE_TAKEN)
    assert service.app.get_case(third, service.school_id).participants == {}


def test_an_unknown_or_other_schools_pupil_is_refused_naming_the_field(
    app: CaseworkApplication, service: CaseService, register: PupilRegister
) -> None:
    case_id = _case(service)
    elsewhere = register_of(app, uuid4()).register(CONTACT, PupilDetails("LL-9", OTHER))
    for value, reason in (
        ("not-a-uuid", PupilReason.NOT_A_PUPIL_ID),
        (str(uuid4()), PupilReason.UNKNOWN),
        (str(elsewhere.id), PupilReason.UNKNOWN),  # another school's pupil is unknown here
        (str(case_id), PupilReason.UNKNOWN),  # an id of something else
    ):
        with pytest.raises(InvalidInput) as info:
            service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_id=value, role="target"))
        assert (info.value.field, info.value.reason) == ("pupil_id", reason)
    pupil = register.register(CONTACT, PupilDetails("LL-10", NAME))
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_id=str(pupil.id), role="target"))
    with pytest.raises(InvalidInput) as info:
        service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_id=str(pupil.id),
                                               role="actor"))  # fmt: skip
    assert (info.value.field, info.value.reason) == ("pupil_id", "duplicate")


def test_the_register_is_for_the_roles_that_read_case_wide(register: PupilRegister) -> None:
    register.register(CONTACT, PupilDetails("LL-1", NAME))
    assert [p.display_name for p in register.search(COORDINATOR, "pupilla")] == [NAME]
    assert register.search(COORDINATOR, "quintus") == []
    with pytest.raises(PermissionDenied):
        register.search(TEACHER)
    with pytest.raises(PermissionDenied):
        register.register(COORDINATOR, PupilDetails("LL-2", OTHER))
    with pytest.raises(InvalidInput) as info:
        register.register(CONTACT, PupilDetails(" ll-1 ", OTHER))
    assert (info.value.field, info.value.reason) == ("reference", PupilReason.REFERENCE_TAKEN)


def test_erasing_a_pupil_erases_them_in_every_case_and_nothing_else(
    service: CaseService, register: PupilRegister, keys: InMemoryPupilKeys
) -> None:
    pupil = register.register(CONTACT, PupilDetails("LL-100", NAME, "groep 6"))
    other = register.register(CONTACT, PupilDetails("LL-200", OTHER, "groep 6"))
    first, second = _case(service), _case(service)
    service.handle(CONTACT, AddParticipant(case_id=first, pupil_id=str(pupil.id), role="target"))
    service.handle(CONTACT, AddParticipant(case_id=first, pupil_id=str(other.id), role="actor"))
    service.handle(CONTACT, AddParticipant(case_id=second, pupil_id=str(pupil.id), role="actor"))
    # Before the key goes: what free-text redaction looks for.
    terms = register.erasure_terms(pupil.id)
    assert terms is not None
    assert terms.words == ("LL-100", NAME)

    register.erase(CONTACT, pupil.id, reason="Verzoek van ouders")

    assert pupil.id not in keys.pupils
    for case_id in (first, second):
        erased = _participant(service, case_id, pupil.id)
        assert (erased.pupil_ref, erased.display_name, erased.group) == (ERASED,) * 3
    kept = _participant(service, first, other.id)
    assert (kept.display_name, kept.pupil_ref) == (OTHER, "LL-200")
    found = register.get(COORDINATOR, pupil.id)
    assert (found.erased, found.display_name, found.reference) == (True, ERASED, ERASED)
    assert register.erasure_terms(pupil.id) is None
    # An erased pupil cannot be linked again.
    third = _case(service)
    with pytest.raises(InvalidInput) as info:
        service.handle(CONTACT, AddParticipant(case_id=third, pupil_id=str(pupil.id),
                                               role="target"))  # fmt: skip
    assert info.value.reason == PupilReason.ERASED


def test_erasing_a_case_erases_the_pupil_there_only(
    service: CaseService, register: PupilRegister
) -> None:
    pupil = register.register(CONTACT, PupilDetails("LL-100", NAME))
    first, second = _case(service), _case(service)
    service.handle(CONTACT, AddParticipant(case_id=first, pupil_id=str(pupil.id), role="target"))
    service.handle(CONTACT, AddParticipant(case_id=second, pupil_id=str(pupil.id), role="target"))

    service.handle(CONTACT, RequestErasure(case_id=first, reason="Verzoek van ouders"))

    (erased,) = service.app.get_case(first, service.school_id).participants.values()
    assert (erased.display_name, erased.pupil_id) == (ERASED, None)  # the link is gone too
    assert _participant(service, second).display_name == NAME
    assert register.get(CONTACT, pupil.id).display_name == NAME


def test_a_participant_stored_before_the_register_still_reads(
    app: CaseworkApplication, service: CaseService
) -> None:
    case_id = _case(service)
    case = app.get_case(case_id, service.school_id)
    participant_id = uuid4()
    state = {
        "originator_id": case_id, "originator_version": case.version + 1,
        "timestamp": case.modified_on, "actor_id": CONTACT.user_id,
        "actor_role": CONTACT.role.value, "participant_id": participant_id,
        "pupil_ref": "ref-oud", "display_name": NAME, "group": "", "role": "target",
    }  # fmt: skip
    app.recorder.insert_events([
        StoredEvent(
            originator_id=case_id,
            originator_version=case.version + 1,
            topic="services.casework.domain:Case.ParticipantAdded",
            state=app.mapper.transcoder.encode(state),  # version 1: no class_version, no pupil
        )
    ])  # fmt: skip
    old = app.get_case(case_id, service.school_id).participants[participant_id]
    assert (old.pupil_ref, old.display_name, old.pupil_id) == ("ref-oud", NAME, None)


def test_retention_erases_the_pupils_due_and_those_in_no_case(
    register: PupilRegister, keys: InMemoryPupilKeys
) -> None:
    due = register.register(CONTACT, PupilDetails("LL-1", NAME))
    linked = register.register(CONTACT, PupilDetails("LL-2", OTHER))
    alone = register.register(CONTACT, PupilDetails("LL-3", "Fictieve Leerling Los"))
    tomorrow = due.created_on.date() + timedelta(days=1)

    erased = expire_pupils(register, [due.id], unlinked_before=tomorrow, linked={linked.id})

    assert erased == [due.id, alone.id]
    assert register.get(CONTACT, due.id).display_name == ERASED
    assert register.get(CONTACT, linked.id).display_name == OTHER
    assert set(keys.pupils) == {linked.id}
    # Again: nothing new (an erased pupil's key is destroyed again, if any was left).
    assert expire_pupils(register, [due.id], unlinked_before=tomorrow, linked={linked.id}) == []
