"""The one rule for typed text: control characters are refused everywhere, nothing is stored."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.casework.commands import AddNote, GiveConsent, PlanStep, ReportCase
from services.casework.handlers import CaseService
from services.shared.errors import InvalidInput
from services.shared.text import MAX_TEXT, UNSAFE_CHARACTERS, TextProblem, clean_text, text_problem
from tests.unit.support import CONTACT, refused

BAD = ["a\x00b", "\x00", "a\x07b", "a\x1bb", "a\x7fb", "a\x85b", "a\ud800b", "a\x0bregel", "a\x0cb"]


@pytest.mark.parametrize("value", BAD)
def test_control_characters_are_refused_and_the_field_is_named(value: str):
    with pytest.raises(InvalidInput) as info:
        clean_text(value, "text")
    assert info.value.field == "text"
    assert info.value.reason == TextProblem.UNSAFE_CHARACTERS
    assert "control character" in info.value.message


def test_tabs_and_line_breaks_are_kept_and_crlf_becomes_lf():
    assert clean_text("  eerste\tregel\r\ntweede\rderde\n ", "text") == (
        "eerste\tregel\ntweede\nderde"
    )


def test_required_empty_and_too_long_name_what_is_wrong():
    assert text_problem("   ")[1] is TextProblem.REQUIRED
    assert text_problem("   ", required=False) == ("", None)
    assert text_problem("x" * (MAX_TEXT + 1))[1] is TextProblem.TOO_LONG
    assert text_problem(12)[1] is TextProblem.NOT_TEXT


@given(st.text())
def test_whatever_is_accepted_has_no_unsafe_character(value: str):
    cleaned, problem = text_problem(value, required=False)
    if problem is None:
        assert not UNSAFE_CHARACTERS.search(cleaned)
        cleaned.encode("utf-8")  # storable as UTF-8 (no lone surrogates)


def test_a_note_with_nul_is_refused_and_nothing_is_stored(service: CaseService, case_id: UUID):
    error = refused(service, CONTACT, AddNote(case_id=case_id, text="a\x00b"), InvalidInput)
    assert error.field == "text"  # type: ignore[attr-defined]


def test_a_report_with_nul_in_the_summary_is_refused(service: CaseService):
    with pytest.raises(InvalidInput) as info:
        service.report(CONTACT, ReportCase(reporter_kind="parent", summary="melding\x00"))
    assert info.value.field == "summary"
    with pytest.raises(InvalidInput):
        service.report(
            CONTACT, ReportCase(reporter_kind="parent", summary="melding", owner_id="x\x00")
        )


def test_an_assignee_id_with_control_characters_is_refused(service: CaseService, case_id: UUID):
    service.handle(CONTACT, GiveConsent(case_id=case_id, given_by="pupil", covers=["other"]))
    command = PlanStep(case_id=case_id, kind="other", description="stap", assignee_id="a\x01")
    refused(service, CONTACT, command, InvalidInput)


@given(st.text(max_size=40))
def test_the_documented_patterns_say_the_same_as_the_rule(value: str) -> None:
    """The API document's patterns (TEXT_PATTERN, REQUIRED_TEXT_PATTERN) accept exactly the
    texts the rule accepts (lone surrogates aside, which no pattern can name)."""
    import re

    from services.shared.text import REQUIRED_TEXT_PATTERN, TEXT_PATTERN

    if re.search(r"[\ud800-\udfff]", value):
        return
    _, optional = text_problem(value, required=False)
    _, required = text_problem(value, required=True)
    assert (re.fullmatch(TEXT_PATTERN, value) is not None) == (optional is None)
    assert (re.fullmatch(REQUIRED_TEXT_PATTERN, value) is not None) == (required is None)


def test_the_patterns_on_examples() -> None:
    import re

    from services.shared.text import REQUIRED_TEXT_PATTERN, TEXT_PATTERN

    for ok in ["Fictieve melding", "regel 1\r\nregel 2\ttab", " x "]:
        assert re.fullmatch(REQUIRED_TEXT_PATTERN, ok), ok
    for refused_text in ["", "   \n\t", "a\x00b", "a\x7fb", "a\x85b"]:
        assert not re.fullmatch(REQUIRED_TEXT_PATTERN, refused_text), refused_text
    assert re.fullmatch(TEXT_PATTERN, "")
    assert not re.fullmatch(TEXT_PATTERN, "a\x0bb")


def test_a_value_outside_its_vocabulary_names_the_field(service: CaseService):
    # The CLI and jobs reach the domain without the API's edge check: the domain names the field.
    with pytest.raises(InvalidInput) as info:
        service.report(CONTACT, ReportCase(reporter_kind="alien", summary="Fictieve melding"))
    assert (info.value.field, info.value.reason) == ("reporter_kind", "not_allowed")
