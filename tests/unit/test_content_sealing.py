"""Free text sealed per passage (issue #12 §4), in memory: every free-text field of the catalogue
is sealed, the case reads back unchanged, the read side's copy stays sealed and opens when
rendered, a redaction destroys exactly its passages, and the passage finder finds a pupil's name
and reference. All names are fictitious."""

from __future__ import annotations

import typing
from uuid import uuid4

import pytest

from services.casework.application import CaseworkApplication
from services.casework.commands import (
    AddNote,
    AddParticipant,
    EvaluateCase,
    RedactPassages,
    ReportCase,
)
from services.casework.domain import EVENT_TYPES, Case
from services.casework.sealing import (
    CONTENT_FIELDS,
    ERASED,
    SEALED_FIELDS,
    InMemoryContentKeys,
    InMemoryPupilKeys,
    is_passage,
    key_lookup,
    sealed_as_text,
    unseal_tree,
)
from services.privacy.redaction import PassageText, find_passages, needles, search_case
from services.shared.errors import InvalidInput
from tests.unit.support import CONTACT, IN_MEMORY, new_service

NAME = "Zorro Testpupil"
REF = "PUP-ZZ-9999"

#: Text fields of the catalogue that are not free text: vocabulary values, ids, what a redaction
#: reads as. Anything else a person types must be sealed.
NOT_FREE_TEXT = {
    ("CaseReported", "reporter_kind"), ("CaseReported", "owner_id"),
    ("OwnerAssigned", "owner_id"), ("ParticipantAdded", "role"),
    ("SituationMapped", "forms"), ("SituationMapped", "locations"),
    ("SituationMapped", "frequency"), ("SituationMapped", "impact"),
    ("ConsentGiven", "given_by"), ("ConsentGiven", "covers"),
    ("StepPlanned", "kind"), ("StepPlanned", "assignee_id"),
    ("PersonEngaged", "user_id"), ("PersonEngaged", "staff_role"),
    ("PoliceReportAdvised", "advised_to"), ("ComplaintFiled", "level"),
    ("ComplaintSupportAssigned", "user_id"), ("ComplaintSupportAssigned", "support_role"),
    ("ComplaintEscalated", "from_level"), ("ComplaintEscalated", "to_level"),
    ("ComplaintDecided", "level"), ("ComplaintDecided", "outcome"),
    ("LessonsShared", "coordinator_id"), ("CaseClosed", "reason"),
    ("PassagesRedacted", "passages"), ("PassagesRedacted", "replacement"),
    ("ContactRecorded", "with_whom"), ("ContactRecorded", "channel"),
    ("AttachmentAdded", "media_type"), ("AttachmentAdded", "sha256"),
    ("IncidentCategorised", "categories"), ("IncidentCategorised", "list_version"),
    ("InspectieReportRecorded", "channel"),
    ("ReporterAccessIssued", "code_hash"), ("ReporterMessagePosted", "sender"),
}  # fmt: skip


def test_every_free_text_field_of_the_catalogue_is_sealed() -> None:
    texts = set()
    for event_type in EVENT_TYPES:
        hints = typing.get_type_hints(event_type)
        for name, hint in hints.items():
            if name in {"actor_id", "actor_role", "originator_topic"}:
                continue
            if hint in (str, str | None, list[str]):
                texts.add((event_type.__name__, name))
    sealed = {(t.__name__, f) for t, fs in {**SEALED_FIELDS, **CONTENT_FIELDS}.items() for f in fs}
    assert texts - sealed == NOT_FREE_TEXT
    assert sealed <= texts


def _app() -> tuple[CaseworkApplication, InMemoryContentKeys]:
    content = InMemoryContentKeys()
    app = CaseworkApplication(env=IN_MEMORY, pupil_keys=InMemoryPupilKeys(), content_keys=content)
    return app, content


def _states(app: CaseworkApplication) -> list[bytes]:
    return [n.state for n in app.recorder.select_notifications(start=1, limit=100)]


def test_passages_are_sealed_read_back_and_redacted_one_by_one() -> None:
    app, content = _app()
    service = new_service(app, school_id=uuid4())
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary=f"{NAME} gepest"))
    service.handle(CONTACT, AddParticipant(case_id=case_id, pupil_ref=REF, role="target",
                                           display_name=NAME))  # fmt: skip
    service.handle(CONTACT, AddNote(case_id=case_id, text="Fictief: niemand genoemd"))
    service.handle(CONTACT, EvaluateCase(case_id=case_id, went_well="", to_improve="Fictief",
                                         lessons=[f"Les over {REF}", "Fictieve les"]))  # fmt: skip
    assert not any(b"Zorro" in s or REF.encode() in s for s in _states(app))
    # Empty texts have nothing to erase: not sealed. Each lesson is a passage of its own.
    assert len(content.store) == 5

    # The domain reads plain text; the read side's copy keeps it sealed.
    sealed = app.read_side_mapper()
    stored = list(app.recorder.select_events(case_id))
    evaluated = sealed.to_domain_event(stored[-1])
    assert isinstance(evaluated, Case.CaseEvaluated)
    assert evaluated.went_well == ""
    assert all(is_passage(lesson) for lesson in evaluated.lessons)
    lookup = key_lookup(app.pupil_keys, app.content_keys)
    assert unseal_tree([sealed_as_text(x) for x in evaluated.lessons], lookup) == [
        f"Les over {REF}", "Fictieve les",
    ]  # fmt: skip

    # The finder finds the summary and the lesson (by name and by reference), not the note.
    found = search_case(app, service.school_id, CONTACT, case_id)
    assert {(f.passage.event_type, f.passage.field) for f in found.found} == {
        ("CaseReported", "summary"), ("CaseEvaluated", "lessons"),
    }  # fmt: skip
    ids = [f.passage.passage_id for f in found.found]
    service.handle(CONTACT, RedactPassages(case_id=case_id, passages=ids, replacement="[weg]",
                                           reason="Fictief verzoek"))  # fmt: skip
    assert len(content.store) == 4  # note, to_improve, the other lesson, the reason
    case_events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(case_id)]
    assert case_events[0].summary == ERASED  # type: ignore[attr-defined]
    assert case_events[3].lessons == [ERASED, "Fictieve les"]  # type: ignore[attr-defined]
    # The read side shows the replacement the redaction recorded.
    reported = sealed.to_domain_event(stored[0])
    assert unseal_tree({"summary": reported.summary}, lookup, {ids[0]: "[weg]"}) == {  # type: ignore[attr-defined]
        "summary": "[weg]"
    }
    assert search_case(app, service.school_id, CONTACT, case_id, names=[NAME]).found == ()


def test_the_finder_ignores_case_and_accents_and_looks_for_each_word() -> None:
    assert needles(["Zoë de Vries-Testpupil", ERASED], ["PUP-1"]) == [
        "Zoë de Vries-Testpupil", "Testpupil", "PUP-1", "Vries", "Zoë",
    ]  # fmt: skip
    passages = [
        PassageText("a" * 32, 1, "NoteAdded", "text", "zoe was verdrietig"),
        PassageText("b" * 32, 2, "NoteAdded", "text", "Niemand genoemd"),
        PassageText("c" * 32, 3, "NoteAdded", "text", "zie pup-1"),
    ]
    found = find_passages(passages, needles(["Zoë Testpupil"], ["PUP-1"]))
    assert [(f.passage.version, f.matches) for f in found] == [(1, ("Zoë",)), (3, ("PUP-1",))]


def test_a_redaction_needs_passage_ids() -> None:
    app, _ = _app()
    service = new_service(app, school_id=uuid4())
    case_id = service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictief"))
    for bad in ([], ["not-an-id"]):
        with pytest.raises(InvalidInput) as refused:
            service.handle(CONTACT, RedactPassages(case_id=case_id, passages=bad, reason="F"))
        assert refused.value.field == "passages"


#: Text fields of the hand-over export's events (services.handover.export) that are not free
#: text: a staff id, a keyed hash.
EXPORT_NOT_FREE_TEXT = {("HandOverExported", "sent_by"), ("HandOverExported", "token_hash")}


def test_the_hand_over_exports_free_text_is_sealed() -> None:
    from services.casework.sealing import content_fields
    from services.handover.export import EVENT_TYPES as EXPORT_EVENTS

    texts, sealed = set(), set()
    for event_type in EXPORT_EVENTS:
        for name, hint in typing.get_type_hints(event_type).items():
            if name not in {"actor_id", "actor_role", "originator_topic"} and hint in (
                str,
                str | None,
                list[str],
            ):
                texts.add((event_type.__name__, name))
        sealed |= {(event_type.__name__, f) for f in content_fields(event_type)}
    assert texts - sealed == EXPORT_NOT_FREE_TEXT
    assert sealed <= texts
    assert ("ExportReceiptConfirmed", "confirmed_by") in sealed
