"""What the views make of characters PostgreSQL cannot store (projections/storable.py)."""

from __future__ import annotations

import json
from datetime import date
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from projections.storable import UNSTORABLE, storable, storable_event, storable_text
from services.casework.domain import Case
from services.shared.actor import acting_as
from tests.unit.support import CONTACT


def test_nul_and_lone_surrogates_are_escaped_visibly():
    assert storable_text("a\x00b") == "a\\u0000b"
    assert storable_text("\ud800x\udfff") == "\\ud800x\\udfff"
    # Everything else stays as typed, also characters outside the BMP and other controls.
    assert storable_text("Fictief 😀 ë\t\n\x07") == "Fictief 😀 ë\t\n\x07"


@given(st.text())
def test_storable_text_can_be_encoded_and_held_by_jsonb(text: str):
    cleaned = storable_text(text)
    assert UNSTORABLE.search(cleaned) is None
    cleaned.encode("utf-8")  # no lone surrogate left
    assert "\\u0000" not in json.dumps(cleaned).replace("\\\\", "")  # jsonb refuses \u0000
    assert cleaned == text or UNSTORABLE.search(text)


def test_containers_are_cleaned_deeply_and_kept_when_clean():
    clean = {"a": ["b", ("c",)], "d": {"e"}}
    assert storable(clean) is clean
    dirty = {"k\x00": ["v\x00", ("w\x00", 1)], "s": frozenset({"x\x00"}), "n": None}
    assert storable(dirty) == {
        "k\\u0000": ["v\\u0000", ("w\\u0000", 1)],
        "s": frozenset({"x\\u0000"}),
        "n": None,
    }


def test_an_event_gets_storable_fields_and_keeps_the_rest():
    with acting_as(CONTACT):
        case = Case(
            school_id=uuid4(), reporter_kind="parent", summary="Fictieve\x00melding", owner_id=None
        )
        case._evaluate(went_well="goed\x00", to_improve="", lessons=["les\x00", "les"])
    reported, evaluated = case.collect_events()
    assert storable_event(reported).summary == "Fictieve\\u0000melding"
    assert reported.originator_id == case.id
    evaluated = storable_event(evaluated)
    assert (evaluated.went_well, evaluated.lessons) == ("goed\\u0000", ["les\\u0000", "les"])
    assert isinstance(evaluated.timestamp.date(), date)
