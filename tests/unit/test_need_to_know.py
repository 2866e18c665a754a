"""Need-to-know (services.access.need_to_know): the rule table against the seed's statements, and
the redaction of a whole (fictitious) case for each role: its document, its timeline, its case
file and the audit replay.

Expected answers are written from seed 001 ("Wie doet wat bij pesten op school?"), the Dutch
complaints procedure and DESIGN.md §1, not read from the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from infra.entrypoints.web.labels import describe
from services.access.need_to_know import (
    COMPLAINT_LEVELS,
    DOCUMENT_PARTS,
    EVENT_PARTS,
    NEED_TO_KNOW,
    ROLE_COMPLAINT_LEVEL,
    SIGNAL_PARTS,
    CaseFacts,
    Part,
    Relation,
    facts_from_document,
    first_name,
    reach,
    reads_case_wide,
    relations,
    sight,
)
from services.access.roles import Role
from services.audit.replay import CaseReplay
from services.casework.commands import (
    AddNote,
    AddParticipant,
    EngagePerson,
    FlagCriminalOffence,
    GiveConsent,
    HoldIntake,
    MapSituation,
    PlanStep,
    RecordAgreement,
    ReportCase,
    ScheduleFollowUp,
)
from services.casework.deciders import COMPLAINT_DECIDERS
from services.casework.domain import EVENT_TYPES
from services.casework.facts import case_facts
from services.casework.state import case_state
from services.casework.vocabulary import ComplaintLevel, StepKind
from services.complaints.commands import (
    AssignComplaintSupport,
    EscalateComplaint,
    FileComplaint,
)
from services.exports.case_file import SECTION_PARTS, build_case_file
from services.exports.reader import CaseFileReader
from services.shared.actor import SYSTEM, Actor, acting_as
from services.shared.errors import CaseNotFound, PermissionDenied
from services.shared.jsonable import event_data
from tenants.registry import School
from tests.unit.support import CONTACT, SCHOOL_CONTACT, actor, new_app, new_service

# --- the table against the seed ------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_case_wide_content_is_the_contact_person_the_coordinator_and_the_auditor(
    role: Role,
) -> None:
    """Seed 001 / issue: case-wide content for the contact person(s) and the APC; the auditor
    replays everything."""
    wide = {Role.CONTACT_PERSON, Role.COORDINATOR, Role.AUDITOR}
    assert reads_case_wide(role) is (role in wide)


def test_every_role_has_a_line_and_nobody_else_reads_every_case() -> None:
    assert set(NEED_TO_KNOW) == set(Role)


@pytest.mark.parametrize(
    "role", [Role.SAFETY_COORDINATOR, Role.DOMESTIC_VIOLENCE_OFFICER, Role.OPERATOR]
)
def test_roles_without_case_content_see_nothing_of_any_case(role: Role) -> None:
    """Veiligheidscoördinator: statistics and signals only; the aandachtsfunctionaris huiselijk
    geweld "heeft geen taak inzake pesten op school"; the operator never sees case content."""
    everything = CaseFacts(
        step_people={"s": frozenset({"p"})},
        support_ids=frozenset({"p"}),
        complaint_route=True,
        complaint_level="committee",
    )
    assert sight(Actor("p", role), everything).nothing
    assert reach(Actor("p", role)).no_case


@pytest.mark.parametrize("role", [Role.TEACHER, Role.CARE_COORDINATOR])
def test_an_engaged_colleague_sees_the_summary_first_names_and_own_steps(role: Role) -> None:
    parts = NEED_TO_KNOW[role][Relation.ENGAGED]
    assert {Part.OVERVIEW, Part.FIRST_NAMES, Part.OWN_STEPS, Part.OWN_NOTES} <= parts
    # Seed 001: "nooit stappen zonder dat de gepeste leerling daarvan weet en eraan toe is":
    # whoever takes a step sees what the pupil consented to.
    assert Part.CONSENTS in parts
    # Not the offence details, the complaints, other colleagues' notes, all steps, full names.
    for hidden in (
        Part.INTAKE,
        Part.SITUATION,
        Part.OFFENCE,
        Part.COMPLAINTS,
        Part.NOTES,
        Part.STEPS,
        Part.PARTICIPANTS,
        Part.CASE_FILE,
        Part.HISTORY,
    ):
        assert hidden not in parts, hidden
    # And only where engaged.
    assert set(NEED_TO_KNOW[role]) == {Relation.ENGAGED}


@pytest.mark.parametrize("role", [Role.SCHOOL_CONTACT, Role.CONFIDENTIAL_ADVISOR])
def test_complaint_roles_see_only_the_complaint_file_of_their_cases(role: Role) -> None:
    assert Relation.CASE_WIDE not in NEED_TO_KNOW[role]
    assert Relation.ENGAGED not in NEED_TO_KNOW[role]
    parts = NEED_TO_KNOW[role][Relation.COMPLAINT_SUPPORT]
    assert Part.COMPLAINTS in parts
    for hidden in (Part.NOTES, Part.OFFENCE, Part.PARTICIPANTS, Part.INTAKE, Part.HISTORY):
        assert hidden not in parts, hidden
    # Nothing without a complaint.
    assert sight(Actor("p", role), CaseFacts()).nothing


@pytest.mark.parametrize(
    ("role", "lowest"), [(Role.MANAGEMENT, "management"), (Role.BOARD, "board")]
)
def test_directie_and_bestuur_see_a_complaint_file_at_or_past_their_level(
    role: Role, lowest: str
) -> None:
    who = Actor("p", role)
    assert sight(who, CaseFacts()).nothing, "no complaint: statistics only"
    for level in COMPLAINT_LEVELS:
        seen = sight(who, CaseFacts(complaint_route=True, complaint_level=level))
        at_or_past = COMPLAINT_LEVELS.index(level) >= COMPLAINT_LEVELS.index(lowest)
        assert (not seen.nothing) is at_or_past, level
        if at_or_past:
            assert seen.sees(Part.COMPLAINTS)
            assert seen.sees(Part.CASE_FILE)
            assert not seen.sees(Part.NOTES)
            assert not seen.sees(Part.OFFENCE)


def test_the_complaint_levels_follow_the_deciders_and_the_vocabulary() -> None:
    assert tuple(level.value for level in ComplaintLevel) == COMPLAINT_LEVELS
    for role, lowest in ROLE_COMPLAINT_LEVEL.items():
        decided = [lvl.value for lvl, roles in COMPLAINT_DECIDERS.items() if role in roles]
        assert min(decided, key=COMPLAINT_LEVELS.index) == lowest


def test_the_auditor_sees_every_part_and_the_history() -> None:
    seen = sight(Actor("p", Role.AUDITOR), CaseFacts())
    assert seen.everything
    assert seen.sees(Part.HISTORY)
    assert not sight(Actor("p", Role.CONTACT_PERSON), CaseFacts()).sees(Part.HISTORY)


def test_every_event_type_belongs_to_a_part() -> None:
    """A new event must be placed (else only case-wide readers see it: fail closed)."""
    assert {t.__name__ for t in EVENT_TYPES} == set(EVENT_PARTS)


def test_every_signal_kind_and_case_file_section_belongs_to_a_part() -> None:
    from projections.escalation.queries import SignalKind

    assert {k.value for k in SignalKind} == set(SIGNAL_PARTS)
    assert set(SECTION_PARTS.values()) <= set(Part)


def test_first_names() -> None:
    assert first_name("Leerling Test-A") == "Leerling"
    assert first_name("") == ""
    assert first_name("[gewist]") == "[gewist]"


# --- one fictitious case, seen by each role -------------------------------------------------

TEACHER_A = actor(Role.TEACHER, "user-mentor-a")
TEACHER_B = actor(Role.TEACHER, "user-mentor-b")
ADVISOR = actor(Role.CONFIDENTIAL_ADVISOR, "user-vertrouwenspersoon")
MANAGEMENT = actor(Role.MANAGEMENT, "user-directie-ntk")
BOARD = actor(Role.BOARD, "user-bestuur-ntk")
COORDINATOR = actor(Role.COORDINATOR, "user-apc")
AUDITOR = actor(Role.AUDITOR, "user-auditor")
SAFETY = actor(Role.SAFETY_COORDINATOR, "user-veiligheid")
OTHER_TEACHER = actor(Role.TEACHER, "user-mentor-elders")

SECRET_NOTE = "Fictieve notitie van het aanspreekpunt"
NOTE_A = "Fictieve notitie van mentor A"
NOTE_B = "Fictieve notitie van mentor B"
OFFENCE = "Fictief strafbaar feit"


@dataclass
class World:
    app: object
    school: School
    case_id: UUID
    step_a: UUID
    step_b: UUID
    complaint_id: UUID


def _school() -> School:
    with acting_as(SYSTEM):
        return School(
            board_id=uuid4(),
            name="Basisschool Test",
            slug="basisschool-test",
            schema_name="school_test",
            wrapped_data_key="unused",
        )


@pytest.fixture
def world() -> World:
    app = new_app()
    school = _school()
    service = new_service(app, school.id)
    do = service.handle
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    do(CONTACT, AddParticipant(case_id=case_id, pupil_ref="REF-TEST-A", role="target",
                               display_name="Leerling Test-A", group="Groep 7"))  # fmt: skip
    do(CONTACT, HoldIntake(case_id=case_id, held_on=datetime.now(UTC).date(), summary="Fictief"))
    do(CONTACT, MapSituation(case_id=case_id, forms=["verbal"], frequency="daily", impact="low"))
    do(CONTACT, GiveConsent(case_id=case_id, given_by="pupil", covers=list(StepKind)))
    step_a = PlanStep(case_id=case_id, kind="engage_colleague", description="Fictief A")
    step_b = PlanStep(case_id=case_id, kind="group_approach", description="Fictief B")
    do(CONTACT, step_a)
    do(CONTACT, step_b)
    do(CONTACT, EngagePerson(case_id=case_id, step_id=step_a.step_id, user_id=TEACHER_A.user_id))
    do(CONTACT, EngagePerson(case_id=case_id, step_id=step_b.step_id, user_id=TEACHER_B.user_id))
    do(CONTACT, AddNote(case_id=case_id, text=SECRET_NOTE))
    do(TEACHER_A, AddNote(case_id=case_id, text=NOTE_A))
    do(TEACHER_B, AddNote(case_id=case_id, text=NOTE_B))
    do(CONTACT, FlagCriminalOffence(case_id=case_id, description=OFFENCE))
    do(CONTACT, RecordAgreement(case_id=case_id, text="Fictieve afspraak", parties="klas"))
    do(CONTACT, ScheduleFollowUp(case_id=case_id, due_on=datetime.now(UTC).date()))
    complaint = FileComplaint(case_id=case_id, complainant="Ouder Test-A", summary="Fictief")
    do(SCHOOL_CONTACT, complaint)
    do(SCHOOL_CONTACT, AssignComplaintSupport(
        case_id=case_id, complaint_id=complaint.complaint_id, user_id=ADVISOR.user_id,
        support_role="confidential_advisor",
    ))  # fmt: skip
    return World(app, school, case_id, step_a.step_id, step_b.step_id, complaint.complaint_id)


def _seen(w: World, who: Actor):  # type: ignore[no-untyped-def]
    case = w.app.get_case(w.case_id, w.school.id)  # type: ignore[attr-defined]
    return case, sight(who, case_facts(case))


def _timeline(w: World, who: Actor) -> list[tuple[str, dict[str, object]]]:
    _, seen = _seen(w, who)
    shown = []
    for e in w.app.events.get(w.case_id):  # type: ignore[attr-defined]
        data = seen.entry(type(e).__name__, e.actor_id, event_data(e))
        if data is not None:
            shown.append((type(e).__name__, data))
    return shown


def test_the_facts_of_the_aggregate_and_of_the_view_document_agree(world: World) -> None:
    case, _ = _seen(world, CONTACT)
    from_case = case_facts(case)
    state = case_state(case)
    document = {
        "steps": {
            sid: {"engaged": [{"user_id": u} for u in s["engaged"]]}
            for sid, s in state["steps"].items()
        },
        "complaints": state["complaints"],
        "complaint_explained": state["complaint_explained"],
        "engaged_user_ids": state["engaged_user_ids"],
    }
    assert facts_from_document(document) == from_case


def test_an_engaged_mentor_sees_own_step_own_note_first_names_not_the_rest(world: World) -> None:
    shown = _timeline(world, TEACHER_A)
    types = [t for t, _ in shown]
    texts = str(shown)
    assert "CaseReported" in types
    assert NOTE_A in texts
    assert NOTE_B not in texts, "another colleague's note"
    assert SECRET_NOTE not in texts, "the contact person's note"
    assert OFFENCE not in texts
    assert "CriminalOffenceFlagged" not in types
    assert not any(t.startswith("Complaint") for t in types)
    assert "IntakeHeld" not in types
    assert "SituationMapped" not in types
    steps = {str(d["step_id"]) for t, d in shown if t in ("StepPlanned", "PersonEngaged")}
    assert steps == {str(world.step_a)}
    [(_, pupil)] = [(t, d) for t, d in shown if t == "ParticipantAdded"]
    assert pupil["display_name"] == "Leerling"
    assert pupil["group"] == "Groep 7"
    assert "REF-TEST-A" not in texts
    _, seen = _seen(world, TEACHER_A)
    doc = seen.document(case_state(_seen(world, TEACHER_A)[0]))
    assert set(doc["steps"]) == {str(world.step_a)}
    assert "complaints" not in doc
    assert "offence_flagged" not in doc
    assert "situation" not in doc
    assert "pupil_ref" not in next(iter(doc["participants"].values()))


def test_a_mentor_not_engaged_finds_nothing(world: World) -> None:
    _, seen = _seen(world, OTHER_TEACHER)
    assert seen.nothing
    with pytest.raises(CaseNotFound):
        CaseFileReader(world.app, world.school.id).read(OTHER_TEACHER, world.case_id)  # type: ignore[arg-type]


def test_the_confidential_advisor_assigned_sees_the_complaint_file(world: World) -> None:
    shown = _timeline(world, ADVISOR)
    types = {t for t, _ in shown}
    assert {"ComplaintFiled", "ComplaintSupportAssigned", "AgreementRecorded"} <= types
    assert "NoteAdded" not in types
    assert "CriminalOffenceFlagged" not in types
    assert "IntakeHeld" not in types
    # Another vertrouwenspersoon, not assigned: nothing.
    other = actor(Role.CONFIDENTIAL_ADVISOR, "user-vertrouwenspersoon-2")
    assert _seen(world, other)[1].nothing


def test_the_case_file_holds_only_the_visible_sections(world: World) -> None:
    reader = CaseFileReader(world.app, world.school.id)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    full = build_case_file(
        world.school, reader.read(CONTACT, world.case_id), CONTACT, now, describe=describe
    )
    advisor = build_case_file(
        world.school, reader.read(ADVISOR, world.case_id), ADVISOR, now, describe=describe
    )
    keys = {s.key for s in advisor.sections}
    assert "complaints" in keys
    assert "agreements" in keys
    assert not keys & {"notes", "police", "intake", "situation", "evaluation"}
    text = str(advisor)
    assert SECRET_NOTE not in text
    assert OFFENCE not in text
    assert "REF-TEST-A" not in text
    assert SECRET_NOTE in str(full)
    assert OFFENCE in str(full)
    assert len(advisor.timeline) < len(full.timeline)
    # An engaged mentor reads the case in part but may not hand its file out.
    with pytest.raises(PermissionDenied):
        reader.read(TEACHER_A, world.case_id)


def test_directie_sees_the_complaint_at_its_level_and_the_board_only_once_escalated(
    world: World,
) -> None:
    assert not _seen(world, MANAGEMENT)[1].nothing
    assert _seen(world, BOARD)[1].nothing
    new_service(world.app, world.school.id).handle(  # type: ignore[arg-type]
        SCHOOL_CONTACT,
        EscalateComplaint(
            case_id=world.case_id, complaint_id=world.complaint_id, to_level="board",
            reason="Fictief",
        ),
    )  # fmt: skip
    _, board = _seen(world, BOARD)
    assert board.sees(Part.COMPLAINTS)
    assert board.sees(Part.INTAKE)
    assert not board.sees(Part.NOTES)
    assert not _seen(world, MANAGEMENT)[1].nothing, "past their level: still theirs"


def test_only_the_auditor_replays(world: World) -> None:
    replay = CaseReplay(world.app, world.school.id)  # type: ignore[arg-type]
    assert len(replay.history(AUDITOR, world.case_id)) == len(
        list(world.app.events.get(world.case_id))  # type: ignore[attr-defined]
    )
    with pytest.raises(PermissionDenied):
        replay.history(COORDINATOR, world.case_id)


def test_the_safety_coordinator_and_others_see_no_case(world: World) -> None:
    for who in (SAFETY, actor(Role.DOMESTIC_VIOLENCE_OFFICER, "user-ahg")):
        assert _seen(world, who)[1].nothing


def test_the_coordinator_sees_everything_of_the_case(world: World) -> None:
    shown = _timeline(world, COORDINATOR)
    assert len(shown) == len(list(world.app.events.get(world.case_id)))  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", list(Role))
def test_the_document_keeps_only_mapped_keys_for_partial_readers(role: Role) -> None:
    seen = sight(
        Actor("p", role),
        CaseFacts(
            step_people={"s": frozenset({"p"})}, complaint_route=True, complaint_level="committee"
        ),
    )
    doc = dict.fromkeys(DOCUMENT_PARTS, None) | {"new_key_nobody_mapped": "x"}
    shown = seen.document(doc)
    if seen.everything:
        assert "new_key_nobody_mapped" in shown
    else:
        assert "new_key_nobody_mapped" not in shown
        for key in shown:
            assert key == "visible_parts" or seen.sees_any(DOCUMENT_PARTS[key]), key


def test_relations_are_found_from_the_facts() -> None:
    facts = CaseFacts(
        step_people={"s1": frozenset({"a"})},
        support_ids=frozenset({"b"}),
        complaint_route=True,
        complaint_level="board",
    )
    assert Relation.ENGAGED in relations(Actor("a", Role.TEACHER), facts)
    assert Relation.COMPLAINT_SUPPORT in relations(Actor("b", Role.CONFIDENTIAL_ADVISOR), facts)
    assert Relation.COMPLAINT_LEVEL in relations(Actor("c", Role.MANAGEMENT), facts)
    assert Relation.COMPLAINT_LEVEL in relations(Actor("c", Role.BOARD), facts)
    assert sight(Actor("a", Role.TEACHER), facts).own_steps == {"s1"}
