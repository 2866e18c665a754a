"""The pupil signals (projections.pupils.queries), decided from links alone: target in a second
case within 12 months, actor in two or more cases; and their anonymous, suppressed counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from projections.pupils.queries import (
    PupilLink,
    PupilSignalKind,
    counts_of,
    signals_of,
    suppressed,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _link(pupil: UUID, role: str, days: int) -> PupilLink:
    at = START + timedelta(days=days)
    return PupilLink(pupil, uuid4(), role, at, "reported", at, None)


def test_target_in_a_second_case_within_twelve_months() -> None:
    pupil, later, once = uuid4(), uuid4(), uuid4()
    links = [
        _link(pupil, "target", 0),
        _link(pupil, "target", 364),  # within 12 months
        _link(later, "target", 0),
        _link(later, "target", 400),  # more than 12 months apart: no signal
        _link(once, "target", 0),
        _link(once, "bystander", 10),  # another role does not count
    ]
    found = signals_of(links)
    assert [(s.pupil_id, s.kind) for s in found] == [(pupil, PupilSignalKind.TARGET_AGAIN)]
    assert found[0].case_ids == (links[0].case_id, links[1].case_id)
    assert found[0].latest_report == links[1].reported_at


def test_actor_in_two_or_more_cases_and_target_elsewhere() -> None:
    pupil, one_case = uuid4(), uuid4()
    links = [
        _link(pupil, "actor", 0),
        _link(pupil, "target", 30),  # one pupil, different roles in different cases
        _link(pupil, "actor", 700),
        _link(one_case, "actor", 5),
    ]
    found = signals_of(links)
    assert [(s.pupil_id, s.kind) for s in found] == [(pupil, PupilSignalKind.ACTOR_IN_CASES)]
    assert len(found[0].case_ids) == 2


def test_counts_are_anonymous_and_suppressed_below_the_threshold() -> None:
    links = []
    for _ in range(5):
        pupil = uuid4()
        links += [_link(pupil, "actor", 0), _link(pupil, "actor", 3)]
    pupil = uuid4()
    links += [_link(pupil, "target", 0), _link(pupil, "target", 3)]
    counts = counts_of(signals_of(links))
    assert counts == {PupilSignalKind.ACTOR_IN_CASES: 5, PupilSignalKind.TARGET_AGAIN: None}
    assert suppressed(0) == 0
    assert suppressed(4) is None
