"""The edge's rules that need no app: JSON nesting, and the month range of statistics."""

from __future__ import annotations

from datetime import date

import pytest

from infra.entrypoints.web.edge import MAX_JSON_DEPTH, InvalidBody, check_json, too_deep
from infra.entrypoints.web.reads import MAX_MONTHS, month_range
from services.shared.errors import InvalidInput


def test_nesting_is_measured_outside_strings() -> None:
    assert not too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    # Brackets in strings (escaped quotes included) are text, not nesting.
    text = b'"' + b"[{" * 1000 + b'\\"' + b"[" * 50 + b'"'
    assert not too_deep(b'{"summary": ' + text + b"}")
    # A million brackets are refused without recursion.
    with pytest.raises(InvalidBody):
        check_json(b"[" * 1_000_000)


def test_month_range_is_arithmetic_not_a_loop() -> None:
    assert month_range(1, date(2026, 11, 21)) == (date(2026, 11, 1), date(2026, 11, 1))
    assert month_range(12, date(2026, 11, 21)) == (date(2025, 12, 1), date(2026, 11, 1))
    assert month_range(11, date(2026, 11, 21)) == (date(2026, 1, 1), date(2026, 11, 1))
    assert month_range(MAX_MONTHS, date(2026, 1, 5)) == (date(2016, 2, 1), date(2026, 1, 1))


@pytest.mark.parametrize("months", [0, -1, MAX_MONTHS + 1, 300_000_000])
def test_month_range_refuses_what_it_cannot_answer(months: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        month_range(months, date(2026, 11, 21))
    assert refused.value.field == "months"
