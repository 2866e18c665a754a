"""Small-count suppression (issue 15 §2): no hidden cell can be recovered from what is shown.

The attacker here is exact: they know the rules, see the shown cells, and list every table that
the rules would show the same way. A hidden cell is safe when that list holds at least two
values for it. Tables are small (the shapes the statistics show: parts adding up to a total, a
board total beside its schools, a share beside its counts).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.board_stats import suppression as s

T = s.DEFAULT_THRESHOLD
#: Values an attacker tries for a hidden cell: beyond any real value drawn below.
TRY = range(16)

small = st.integers(min_value=0, max_value=12)


def _shown(values: Sequence[int], hidden: Sequence[bool]) -> tuple[int | None, ...]:
    return tuple(None if h else v for v, h in zip(values, hidden, strict=True))


def _candidates(
    real: Sequence[int], hidden: Sequence[bool], total: int | None
) -> list[tuple[int, ...]]:
    """Every table agreeing with the shown cells (and the shown total, if any)."""
    free = [i for i, h in enumerate(hidden) if h]
    found = []
    if not free:
        return [tuple(real)]
    # With a shown total the last hidden cell is what the total leaves.
    tried = free[:-1] if total is not None else free
    for values in itertools.product(TRY, repeat=len(tried)):
        table = list(real)
        for i, v in zip(tried, values, strict=True):
            table[i] = v
        if total is not None:
            table[free[-1]] = 0
            table[free[-1]] = total - sum(table)
            if table[free[-1]] not in TRY:
                continue
        found.append(tuple(table))
    return found


@settings(max_examples=100, deadline=None)
@given(st.lists(small, min_size=2, max_size=4), st.booleans())
def test_partition_hides_nothing_recoverable(
    parts: list[int], total_hidden_elsewhere: bool
) -> None:
    """Parts adding up to a total (the reporter kinds of the new cases)."""
    total = sum(parts)
    total_hidden = total_hidden_elsewhere or s.hides_count(total)
    hidden = s.partition(parts, total, total_hidden=total_hidden)
    # Shown parts are shown as they are; the rule is never weaker than the count rule.
    assert all(h for p, h in zip(parts, hidden, strict=True) if s.hides_count(p))
    shown = _shown(parts, hidden)
    if not any(hidden):
        return
    consistent = [
        table
        for table in _candidates(parts, hidden, None if total_hidden else total)
        if _shown(table, s.partition(table, sum(table), total_hidden=total_hidden)) == shown
    ]
    assert tuple(parts) in consistent
    for i, h in enumerate(hidden):
        if h:
            assert len({t[i] for t in consistent}) >= 2, (parts, hidden, i)
    if total_hidden and s.hides_count(total):
        assert len({sum(t) for t in consistent}) >= 2, (parts, hidden)


@settings(max_examples=300, deadline=None)
@given(st.lists(small, min_size=1, max_size=4))
def test_a_board_total_never_gives_a_hidden_school_back(schools: list[int]) -> None:
    """A total beside its schools' cells: total minus the shown schools is not a hidden one."""
    hidden = [s.hides_count(n) for n in schools]
    total = sum(schools)
    part = sum(n for n, h in zip(schools, hidden, strict=True) if h)
    total_hidden = s.hides_total(total, part, sum(hidden))
    shown = (*_shown(schools, hidden), None if total_hidden else total)
    consistent = []
    for table in _candidates(schools, hidden, None if total_hidden else total):
        t_hidden = [s.hides_count(n) for n in table]
        t_part = sum(n for n, h in zip(table, t_hidden, strict=True) if h)
        t_total_hidden = s.hides_total(sum(table), t_part, sum(t_hidden))
        if (*_shown(table, t_hidden), None if t_total_hidden else sum(table)) == shown:
            consistent.append(table)
    for i, h in enumerate(hidden):
        if h:
            assert len({t[i] for t in consistent}) >= 2, (schools, i)


@given(small, small, st.booleans())
def test_a_shown_share_gives_no_hidden_count_back(
    stopped: int, not_stopped: int, more: bool
) -> None:
    """Whoever knows the basis (or bounds it by the new cases on the same page) and sees the
    share learns both counts: so a shown share means both are 0 or at least the threshold."""
    basis = stopped + not_stopped
    if not s.hides_share(stopped, basis) and basis:
        assert not s.hides_count(stopped)
        assert not s.hides_count(not_stopped)
        assert not s.hides_count(basis)


def test_the_leaks_found_in_the_audit() -> None:
    # 6 stopped, 2 not: 75% with 6 gives 2 back.
    assert s.hides_share(6, 8)
    # 5 new cases, 4 stopped of 5: 80% gives 1 not stopped back.
    assert s.hides_share(4, 5)
    # 0 of 7 stopped, 7 of 7 stopped: shown (a true 0 singles out nobody).
    assert not s.hides_share(0, 7)
    assert not s.hides_share(7, 7)
    # 12 new cases: 8 by pupils, 4 by parents: 12 - 8 = 4, so every kind is hidden.
    assert s.partition([8, 4, 0], 12) == [True, True, True]
    assert s.partition([8, 0, 5], 13) == [False, False, False]
    # A hidden total (a school of 3 on the board) whose parts would all be shown: all hidden.
    assert s.partition([5, 7], 12, total_hidden=True) == [True, True]
    # Two schools of 4 beside a board total of 8: both would be 4.
    assert s.hides_total(8, 8, 2)
    assert not s.hides_total(7, 7, 2)
    assert not s.hides_total(17, 7, 2)
    assert s.hides_total(13, 5, 5)  # five schools of 1
