"""Retention: which closed cases are due for erasure, and erasing them.

A school keeps a case's pupil data for its *retention period* (days after closing; registry,
default two years). For a pupil of the register the period runs from the closing of their *last*
case: a case with a pupil who still has a later (or open) case is kept (so the pupil's chronology
stays whole), and once every case of a pupil is past the period, the pupil is erased too
(:func:`expire_pupils`: their key destroyed). A pupil in no case at all is erased the period after
their registration. When it has run out, the case records ``ErasureRequested`` as the retention
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
from services.pupils.register import PupilRegister
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


class PupilCases(Protocol):
    """Which register pupil is in which case, as far as retention needs it (a port: the pupil
    links and the case view in production)."""

    def pupils_due(self, cutoff: date) -> list[UUID]:
        """Pupils in at least one case, every case of theirs closed before ``cutoff``."""
        ...

    def held(self, case_ids: list[UUID], cutoff: date) -> set[UUID]:
        """Those of ``case_ids`` with a pupil who has a case not closed before ``cutoff``."""
        ...

    def linked(self) -> set[UUID]:
        """Every pupil in some case."""
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


def expire_pupils(
    register: PupilRegister,
    due: Iterable[UUID],
    *,
    unlinked_before: date | None = None,
    linked: set[UUID] | None = None,
) -> list[UUID]:
    """Erase each pupil of ``due`` (their retention period ran from their last case's closing)
    and, with ``unlinked_before``, every pupil in no case at all registered before that day;
    the ids erased. An erased pupil's key is destroyed again (an interrupted erasure)."""
    doomed = list(dict.fromkeys(due))
    if unlinked_before is not None:
        for entry in register.all():
            if entry.pupil_id in (linked or set()):
                continue
            if entry.registered_at.date() < unlinked_before:
                doomed.append(entry.pupil_id)
    erased: list[UUID] = []
    for pupil_id in dict.fromkeys(doomed):
        pupil = register.load(pupil_id)
        if pupil is None:
            continue
        if pupil.erased:
            if register.keys is not None:
                register.keys.destroy_pupil(pupil_id)
            continue
        register.expire(pupil, actor=RETENTION, reason=RETENTION_REASON)
        erased.append(pupil_id)
    return erased


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
