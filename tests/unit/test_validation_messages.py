"""Validation errors as sentences: each of msgspec's messages names the field and the problem."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from infra.entrypoints.web.validation import describe

NO_ROUTE: Any = SimpleNamespace(scope={})


@pytest.mark.parametrize(
    ("key", "message", "expected"),
    [
        ("data", "'data'", ("body", "required", "the request needs a JSON body")),
        (
            "data",
            "Object missing required field `summary`",
            ("summary", "required", "summary is required"),
        ),
        (
            "steps[0]",
            "Object missing required field `label`",
            ("steps[0].label", "required", "steps[0].label is required"),
        ),
        (
            "forms[1]",
            "Expected `str`, got `int`",
            ("forms[1]", "wrong_type", "forms[1] must be text, not a whole number"),
        ),
        (
            "data",
            "Expected `object`, got `array`",
            ("body", "wrong_type", "the body must be an object, not a list"),
        ),
        (
            "text",
            "Expected `str` of length <= 10000",
            ("text", "too_long", "text must have at most 10000 characters"),
        ),
        (
            "lessons",
            "Expected `array` of length <= 50",
            ("lessons", "too_many", "lessons must have at most 50 items"),
        ),
        (
            "forms",
            "Expected `array` of length >= 1",
            ("forms", "too_few", "forms must have at least 1 item"),
        ),
        (
            "expected_version",
            "Expected `int` >= 1",
            ("expected_version", "out_of_range", "expected_version must be at least 1"),
        ),
        (
            "step_id",
            "Invalid UUID",
            (
                "step_id",
                "invalid_format",
                "step_id must be a UUID (such as 0b7d1a40-6a5e-4d0e-9a1f-2c3b4d5e6f70)",
            ),
        ),
        (
            "held_on",
            "Invalid RFC3339 encoded date",
            ("held_on", "invalid_format", "held_on must be a date (YYYY-MM-DD)"),
        ),
        ("odd", "Something new", ("odd", "invalid", "odd is not valid: Something new")),
    ],
)
def test_each_message_becomes_a_sentence_about_the_field(
    key: str, message: str, expected: tuple[str, str, str]
) -> None:
    source = "body" if key not in {"odd"} else None
    found = describe(NO_ROUTE, key, message, source)
    assert (found["field"], found["reason"], found["message"]) == expected
