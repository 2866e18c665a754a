"""The invariants of a case (DESIGN.md §3), as named rules.

Each rule either returns quietly or raises a :class:`~services.shared.errors.RuleViolation` whose
message names exactly what is missing. Rules are checked by the aggregate's command methods
*before* an event is created, so a refused command never leaves a trace in the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.casework.vocabulary import CloseReason, ComplaintLevel, StepKind
from services.shared.errors import (
    CaseClosed,
    CloseNotAllowed,
    ComplaintLevelError,
    ConsentMissing,
    OffenceNotFlagged,
)
from services.shared.text import clean_text

if TYPE_CHECKING:
    from services.casework.domain import Case


def case_must_be_open(case: Case) -> None:
    if case.is_closed:
        msg = f"case {case.id} is closed: reopen it before recording casework"
        raise CaseClosed(msg)


def consent_must_cover_step(case: Case, kind: StepKind) -> None:
    """Invariant 1: no step without the pupil knowing and being ready.

    Planning, engaging someone for or completing a step needs a recorded consent that covers the
    step's kind and has not been withdrawn.
    """
    if case.consent_covering(kind) is not None:
        return
    withdrawn = [c for c in case.consents.values() if kind in c.covers and c.withdrawn]
    if withdrawn:
        msg = (
            f"the consent for steps of kind '{kind}' was withdrawn: record new consent of the "
            "pupil (and parents) before this step"
        )
    else:
        msg = (
            f"no consent covers steps of kind '{kind}': record that the pupil (and parents) know "
            "about this step and are ready for it first"
        )
    raise ConsentMissing(msg)


def police_advice_needs_offence(case: Case) -> None:
    """Invariant 2: police advice needs a flagged criminal offence."""
    if not case.offence_flagged:
        msg = "a police report can only be advised after a criminal offence has been flagged"
        raise OffenceNotFlagged(msg)


def complaint_level_must_rise(
    current: ComplaintLevel | None, to_level: ComplaintLevel, skip_reason: str
) -> None:
    """Invariant 3: levels only go up; skipping a level needs a recorded reason.

    ``current`` is None for a new complaint, which starts at directie unless a reason to skip is
    given (Dutch law lets a complainant go straight to the klachtencommissie).
    """
    current_rank = -1 if current is None else current.rank
    if to_level.rank <= current_rank:
        msg = (
            f"a complaint can only go up a level: it is at '{current}', '{to_level}' is not higher"
        )
        raise ComplaintLevelError(msg)
    if to_level.rank > current_rank + 1 and not skip_reason.strip():
        expected = list(ComplaintLevel)[current_rank + 1]
        msg = (
            f"going to '{to_level}' skips '{expected}': record the reason for skipping "
            "(skip_reason)"
        )
        raise ComplaintLevelError(msg)


def case_may_close(case: Case, reason: CloseReason, explanation: str) -> None:
    """Invariant 4: closed only after aftercare found the bullying stopped and an evaluation.

    Or with an explicit other reason (referred, withdrawn), which then needs an explanation.
    """
    if reason is CloseReason.RESOLVED:
        missing = []
        if not case.aftercare_found_bullying_stopped:
            missing.append("aftercare that recorded the bullying stopped")
        if not case.evaluated:
            missing.append("an evaluation of the case")
        if missing:
            msg = "the case cannot be closed as resolved without " + " and ".join(missing)
            raise CloseNotAllowed(msg)
    elif not explanation.strip():
        msg = f"closing a case as '{reason}' needs an explanation"
        raise CloseNotAllowed(msg)


def text(value: str, field: str, *, required: bool = True) -> str:
    """A free-text field: cleaned, bounded, and present when required
    (:func:`services.shared.text.clean_text`: the one rule for typed text)."""
    return clean_text(value, field, required=required)
