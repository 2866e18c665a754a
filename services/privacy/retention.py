"""Retention: which closed cases are due for erasure, and erasing them.

A school keeps a case's pupil data for its *retention period* (days after closing; registry,
default two years). When it has run out, the case records ``ErasureRequested`` as the retention
actor, and the casework application, saving it, destroys the participants' keys and purges the
views (:mod:`services.casework.application`); then every passage key of the case is destroyed (its
free text reads as ``[gewist]``). The candidates come from outside (the case view,
through :class:`ClosedCases`); each is checked against its own events before anything is erased.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.shared.actor import Actor, acting_as
from services.shared.errors import CaseNotFound

#: Who erases at retention expiry (recorded as the actor of ``ErasureRequested``).
RETENTION = Actor(user_id="system:retention", role=Role.OPERATOR)
#: The reason recorded on a case whose retention period ran out.
RETENTION_REASON = "bewaartermijn verstreken"


class ClosedCases(Protocol):
    """The cases of one school closed before a day (a port: the case view in production)."""

    def closed_before(self, cutoff: date) -> list[UUID]:
        """Ids of the cases closed before ``cutoff``, oldest first."""
        ...


def retention_cutoff(today: date, retention_days: int) -> date:
    """Cases closed before this day are past their retention period on ``today``."""
    return today - timedelta(days=retention_days)


class Decision(StrEnum):
    """What the retention run does with a candidate case."""

    SKIP = "skip"  # not closed (reopened since), or no pupil in it
    FINISH = "finish"  # erased already: destroy the keys again (an interrupted erasure)
    ERASE = "erase"


def decide(case: Case) -> Decision:
    """What to do with ``case`` when its closing is past the school's retention period."""
    if not case.is_closed or not case.participants:
        return Decision.SKIP
    if case.pupil_data_erased:
        return Decision.FINISH
    return Decision.ERASE


def expire_cases(
    app: CaseworkApplication, school_id: UUID, candidates: Iterable[UUID]
) -> list[UUID]:
    """Erase the pupil data of each candidate that :func:`decide` says is due; the ids erased.
    Idempotent: an already erased case is not erased again (its keys are destroyed again)."""
    erased: list[UUID] = []
    for case_id in candidates:
        try:
            case = app.get_case(case_id, school_id)
        except CaseNotFound:
            continue
        decision = decide(case)
        if decision is Decision.FINISH:
            if app.pupil_keys is not None:
                app.pupil_keys.destroy_case(case_id)
            app.expire_content(case_id)
        if decision is not Decision.ERASE:
            continue
        with acting_as(RETENTION):
            case.request_erasure(reason=RETENTION_REASON)
        app.save_case(case)
        # The whole case expired: its free text goes too (every passage key of the case).
        app.expire_content(case_id)
        erased.append(case_id)
    return erased
