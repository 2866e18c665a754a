"""Small-count suppression: the one place the statistics' hiding rules live (pure, no I/O).

Every figure a board or a school's statistics page sees (the monthly statistics and their board
totals, the incident statistics, the yearly report, their API answers and downloads) is decided
here. ``threshold`` is 5 unless a caller says otherwise (at least 1).

1. **Count**: a count of 1 .. threshold-1 is hidden ("<5"). A true 0 is shown: it singles out
   nobody, and what it lets one derive (e.g. "0 of 7 stopped" gives "7 not stopped") is at or
   above the threshold or itself 0.
2. **Total over parts shown elsewhere** (a board total beside its schools' cells): the total
   minus the shown cells is the sum of the hidden ones, so the total is hidden when that sum
   pins a hidden cell down (:func:`pins`): one hidden cell; a sum of 1 .. threshold-1; or the
   sum of k hidden cells (each 1 .. threshold-1) is k or k * (threshold-1) (two schools with
   4 cases each and a total of 8: both are 4).
3. **Share** (e.g. aftercare found the bullying stopped): computed over a basis; not computed
   ("te weinig zaken") when the basis is 1 .. threshold-1, **or when the numerator or its
   complement (basis - numerator) is 1 .. threshold-1**: with the basis, or with the other
   figures on the page that bound it, the share would give the hidden count back (6 stopped
   and 75% reveal 2 not stopped; 5 new cases and 80% reveal 1 not stopped). A share of 0% or
   100% over a basis of threshold or more is shown.
4. **Median**: not computed over a basis of 1 .. threshold-1 cases. A median over at least the
   threshold reveals no count.
5. **Partition** (parts that add up to a figure: the reporter kinds of the new cases): shown
   only when every part is 0 or at least the threshold and the total is shown; otherwise
   every part is hidden, zeros too. Hiding only some more parts (secondary suppression by a
   choice of cells) was tried and leaks: whoever knows the rule reasons back from which parts
   were hidden and why (the property test found e.g. parts 12, 5, 4, 4 of 25: the 12 was only
   hidden because 4 + 4 = 8 pins both, so 25 - 5 - 8 gives the 12). With every part hidden
   and at least one of them 1 .. threshold-1, no part is pinned down. Cells hidden this way
   may be 0 or threshold or more; whoever totals them across groups counts the non-zero ones
   in the hidden part (rule 2).

A school year against its months on the monthly page: rule 2 with the months as the parts, in
:mod:`projections.yearly_report`. Not covered (see README): other windows, and different sets of
schools.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_THRESHOLD = 5


def check(threshold: int) -> None:
    if threshold < 1:
        msg = f"threshold must be at least 1, not {threshold}"
        raise ValueError(msg)


def hides_count(count: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Rule 1: a count of 1 .. threshold-1."""
    return 0 < count < threshold


def pins(hidden_sum: int, hidden_cells: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Whether knowing the sum of ``hidden_cells`` hidden non-zero cells (each 1 ..
    threshold-1 as far as a reader can tell) gives a cell's value away."""
    if hidden_cells == 0:
        return False
    return (
        hidden_cells == 1
        or hides_count(hidden_sum, threshold)
        or hidden_sum in (hidden_cells, hidden_cells * (threshold - 1))
    )


def hides_total(
    total: int, hidden_part: int, hidden_cells: int, threshold: int = DEFAULT_THRESHOLD
) -> bool:
    """Rule 2: ``hidden_part`` is the part of ``total`` in the ``hidden_cells`` cells shown as
    hidden elsewhere."""
    return hides_count(total, threshold) or pins(hidden_part, hidden_cells, threshold)


def hides_median(basis: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Rule 4 (over no cases there is nothing to compute, and nothing hidden)."""
    return hides_count(basis, threshold)


def hides_share(part: int, basis: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Rule 3: the share ``part / basis`` gives neither ``part`` nor ``basis - part`` away."""
    return (
        hides_count(basis, threshold)
        or hides_count(part, threshold)
        or hides_count(basis - part, threshold)
    )


def partition(
    parts: Sequence[int],
    total: int,
    threshold: int = DEFAULT_THRESHOLD,
    *,
    hidden: Sequence[bool] | None = None,
    total_hidden: bool | None = None,
) -> list[bool]:
    """Rule 5: which of ``parts`` (adding up to ``total``) are hidden: all or none. ``hidden``
    gives parts already hidden by another rule (default: rule 1), ``total_hidden`` whether the
    total is (default: rule 1 on ``total``)."""
    hide = [hides_count(p, threshold) for p in parts] if hidden is None else list(hidden)
    if total_hidden is None:
        total_hidden = hides_count(total, threshold)
    if total_hidden or any(hide):
        return [True] * len(parts)
    return hide
