"""A pupil's chronology and the pupil signals, read from the pupil links and the case view
(asyncpg). Names, numbers and groups are never here: pages resolve them from the register.

=================== ===========================================================================
signal              raised when
=================== ===========================================================================
``target_again``    the pupil is the target (gepeste leerling) in a second case reported within
                    12 months (:data:`TARGET_WINDOW_DAYS`) of another case they were target in
``actor_in_cases``  the pupil is an actor (pester) in two or more cases
=================== ===========================================================================

Counted for statistics with the same suppression as the board statistics (a count below the
threshold is not shown: :func:`signal_counts`, :mod:`projections.board_stats.suppression`). The
two signals overlap (a pupil may raise both), so neither is a shown total minus the other; a
board sees only the sum over its schools.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

import asyncpg

from projections.board_stats import suppression
from projections.board_stats.queries import DEFAULT_THRESHOLD
from projections.db import table
from projections.pupils.projection import TABLE
from services.casework.vocabulary import ParticipantRole

#: "Within 12 months": the reports of two cases at most this many days apart.
TARGET_WINDOW_DAYS = 365
#: Cases in which a pupil is actor before it is a signal.
ACTOR_CASES = 2


class PupilSignalKind(StrEnum):
    TARGET_AGAIN = "target_again"
    ACTOR_IN_CASES = "actor_in_cases"


PUPIL_SIGNAL_LABELS_NL: dict[PupilSignalKind, str] = {
    PupilSignalKind.TARGET_AGAIN: "Opnieuw gepest binnen 12 maanden",
    PupilSignalKind.ACTOR_IN_CASES: "Pester in meerdere zaken",
}


@dataclass(frozen=True)
class PupilLink:
    """One pupil in one case: their role there, and the case's dates and status."""

    pupil_id: UUID
    case_id: UUID
    role: str
    added_at: datetime
    status: str
    reported_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class PupilSignal:
    """A pupil who needs the coordinator's attention, and the cases that raised it (oldest
    report first)."""

    pupil_id: UUID
    kind: PupilSignalKind
    case_ids: tuple[UUID, ...]
    latest_report: datetime


def signals_of(links: Iterable[PupilLink]) -> list[PupilSignal]:
    """The pupil signals the links raise (pure), newest report first."""
    by_pupil: dict[UUID, list[PupilLink]] = defaultdict(list)
    for link in links:
        by_pupil[link.pupil_id].append(link)
    found: list[PupilSignal] = []
    window = timedelta(days=TARGET_WINDOW_DAYS)
    for pupil_id, mine in by_pupil.items():
        targets = sorted(
            (x for x in mine if x.role == ParticipantRole.TARGET), key=lambda x: x.reported_at
        )
        close = {
            case.case_id
            for earlier, later in itertools.pairwise(targets)
            if later.reported_at - earlier.reported_at <= window
            for case in (earlier, later)
        }
        if close:
            raised = [x for x in targets if x.case_id in close]
            found.append(
                PupilSignal(
                    pupil_id,
                    PupilSignalKind.TARGET_AGAIN,
                    tuple(x.case_id for x in raised),
                    raised[-1].reported_at,
                )
            )
        actors = sorted(
            (x for x in mine if x.role == ParticipantRole.ACTOR), key=lambda x: x.reported_at
        )
        if len(actors) >= ACTOR_CASES:
            found.append(
                PupilSignal(
                    pupil_id,
                    PupilSignalKind.ACTOR_IN_CASES,
                    tuple(x.case_id for x in actors),
                    actors[-1].reported_at,
                )
            )
    return sorted(found, key=lambda s: (s.latest_report, str(s.pupil_id)), reverse=True)


def suppressed(count: int, threshold: int = DEFAULT_THRESHOLD) -> int | None:
    """``count``, or ``None`` (not shown) when it is below the threshold (but not zero: none
    is no pupil to recognise)."""
    return None if suppression.hides_count(count, threshold) else count


def raw_counts(signals: Sequence[PupilSignal]) -> dict[PupilSignalKind, int]:
    """How many pupils raise each signal (not for showing: see :func:`counts_of`)."""
    pupils: dict[PupilSignalKind, set[UUID]] = {k: set() for k in PupilSignalKind}
    for signal in signals:
        pupils[signal.kind].add(signal.pupil_id)
    return {k: len(v) for k, v in pupils.items()}


def counts_of(
    signals: Sequence[PupilSignal], threshold: int = DEFAULT_THRESHOLD
) -> dict[PupilSignalKind, int | None]:
    """How many pupils raise each signal, suppressed below the threshold (anonymous)."""
    return {k: suppressed(n, threshold) for k, n in raw_counts(signals).items()}


async def _links(conn: asyncpg.Connection, schema: str, pupil_id: UUID | None) -> list[PupilLink]:
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table(schema, TABLE))
    if not exists:
        return []  # the view was not built yet: no links
    where = "WHERE p.pupil_id = $1" if pupil_id is not None else ""
    rows = await conn.fetch(
        "SELECT p.pupil_id, p.case_id, p.role, p.added_at, c.status, c.reported_at,"  # noqa: S608 (identifiers via table())
        f" c.closed_at FROM {table(schema, TABLE)} p"
        f" JOIN {table(schema, 'cases')} c USING (case_id) {where}"
        " ORDER BY c.reported_at, p.added_at",
        *([pupil_id] if pupil_id is not None else []),
    )
    return [PupilLink(**dict(r)) for r in rows]


async def chronology(conn: asyncpg.Connection, schema: str, pupil_id: UUID) -> list[PupilLink]:
    """Every case of one pupil with their role in it, oldest report first."""
    return await _links(conn, schema, pupil_id)


async def pupil_signals(conn: asyncpg.Connection, schema: str) -> list[PupilSignal]:
    """The school's pupil signals (for the coordinator), newest report first."""
    return signals_of(await _links(conn, schema, None))


async def signal_counts(
    conn: asyncpg.Connection, schemas: Sequence[str], threshold: int = DEFAULT_THRESHOLD
) -> dict[PupilSignalKind, int | None]:
    """How many pupils of these schools (one school, or a board's) raise each signal: summed
    over the schools first, then suppressed below the threshold (anonymous: counts only)."""
    totals = dict.fromkeys(PupilSignalKind, 0)
    for schema in schemas:
        for kind, n in raw_counts(await pupil_signals(conn, schema)).items():
            totals[kind] += n
    return {k: suppressed(n, threshold) for k, n in totals.items()}
