"""Names, never ids (services.people.names), the pickers' candidates, and the order of
"Mijn werk" (projections.case_view.work)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from uuid import uuid4

from projections.case_view.work import WorkItem, WorkKind, order
from services.access.need_to_know import CaseFacts
from services.access.roles import Role
from services.people.names import (
    UNKNOWN_NAME,
    Names,
    PersonName,
    candidates,
    ids_in,
    resolve,
)
from services.people.parts import Part


class FakeReader:
    def __init__(self, *people: PersonName) -> None:
        self.people = people
        self.asked: list[list[str]] = []

    def names(self, person_ids: Collection[str]) -> Mapping[str, PersonName]:
        self.asked.append(list(person_ids))
        return {p.person_id: p for p in self.people if p.person_id in person_ids}

    def active_with_roles(
        self, roles: Collection[Role], query: str = "", limit: int = 200
    ) -> list[PersonName]:
        return [
            p
            for p in self.people
            if p.active and set(p.roles) & set(roles) and query.lower() in p.display_name.lower()
        ][:limit]


CONTACT = PersonName("p-1", "Aanspreekpunt Test-A", (Role.CONTACT_PERSON,))
MENTOR = PersonName("p-2", "Mentor Test-B", (Role.TEACHER, Role.CARE_COORDINATOR))
GONE = PersonName("p-3", "Vertrokken Test-C", (Role.TEACHER,), active=False)
ADVISOR = PersonName("p-4", "Vertrouwenspersoon Test-D", (Role.CONFIDENTIAL_ADVISOR,))


def test_names_resolve_in_one_read_and_keep_deactivated_people_readable() -> None:
    reader = FakeReader(CONTACT, GONE)
    names = resolve(reader, ["p-1", "p-3", "p-9", "", None, "p-1"])
    assert reader.asked == [["p-1", "p-3", "p-9"]]
    assert names("p-1") == "Aanspreekpunt Test-A"
    assert names("p-3") == "Vertrokken Test-C (niet meer actief)"
    assert names("p-9") == UNKNOWN_NAME
    assert names(None) == ""


def test_ids_in_finds_every_person_a_case_document_names() -> None:
    detail = {
        "owner_id": "o",
        "steps": {"s": {"assignee_id": "a", "engaged": [{"user_id": "e", "role": "teacher"}]}},
        "complaints": {"k": {"support": {"v": "confidential_advisor"}}},
        "engaged_user_ids": ["e", "e2"],
        "summary": "Fictief",
        "lessons_to": {"coordinator_id": "c"},
    }
    assert ids_in(detail) == {"o", "a", "e", "v", "e2", "c"}


def test_candidates_offer_who_may_take_the_part_with_their_roles() -> None:
    reader = FakeReader(CONTACT, MENTOR, GONE, ADVISOR)
    owners = candidates(reader, Part.CASE_OWNER)
    assert [(c.display_name, c.role) for c in owners] == [
        ("Aanspreekpunt Test-A", Role.CONTACT_PERSON)
    ]
    engaged = {c.display_name: c for c in candidates(reader, Part.ENGAGED_COLLEAGUE)}
    assert set(engaged) == {"Aanspreekpunt Test-A", "Mentor Test-B"}  # not the deactivated one
    assert engaged["Mentor Test-B"].roles == (Role.TEACHER, Role.CARE_COORDINATOR)
    assert (
        engaged["Mentor Test-B"].label
        == "Mentor Test-B (Mentor / leerkracht, IB'er / zorgcoördinator)"
    )
    assert [c.display_name for c in candidates(reader, Part.CONFIDENTIAL_ADVISOR)] == [
        "Vertrouwenspersoon Test-D"
    ]
    assert candidates(reader, Part.ENGAGED_COLLEAGUE, query="mentor")[0].person_id == "p-2"
    assert candidates(reader, Part.COMPLAINT_HANDLER, complaint_level="nowhere") == []


def _item(kind: WorkKind, due: date | None, overdue: bool) -> WorkItem:
    return WorkItem(kind, uuid4(), "", due, overdue, {}, CaseFacts())


def test_my_work_is_ordered_overdue_first_then_by_date_undated_last() -> None:
    undated = _item(WorkKind.CASE, None, False)
    soon = _item(WorkKind.STEP, date(2026, 12, 2), False)
    later = _item(WorkKind.FOLLOW_UP, date(2026, 12, 20), False)
    late = _item(WorkKind.FOLLOW_UP, date(2026, 11, 20), True)
    later_late = _item(WorkKind.STEP, date(2026, 11, 25), True)
    assert order([undated, later, soon, later_late, late]) == [
        late,
        later_late,
        soon,
        later,
        undated,
    ]


def test_technical_actors_read_as_what_they_are_and_people_by_name_and_role() -> None:
    names = Names({"p-1": PersonName("p-1", "Fictief Aanspreekpunt", (Role.CONTACT_PERSON,))})
    assert names.actor("p-1", "contact_person") == "Fictief Aanspreekpunt (Aanspreekpunt pesten)"
    assert names.actor("meldformulier", "operator") == "Melder via het meldformulier"
    assert names.actor("system", "operator") == "Vangnet (automatisch)"
    assert names.technical("system")
    assert not names.technical("p-1")
    assert names.actor("gone", "contact_person") == "[onbekend] (Aanspreekpunt pesten)"
    assert names.actor("gone", "no-such-role") == "[onbekend] (no-such-role)"
    # A person the directory knows keeps their name, even under a technical-looking id.
    named = Names({"system": PersonName("system", "Fictieve Collega", (Role.TEACHER,))})
    assert named.actor("system", "teacher") == "Fictieve Collega (Mentor / leerkracht)"
