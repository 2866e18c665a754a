"""The invariants of a case (DESIGN.md §3), as named rules.

Each rule either returns quietly or raises a :class:`~services.shared.errors.RuleViolation` whose
message names exactly what is missing. Rules are checked by the aggregate's command methods
*before* an event is created, so a refused command never leaves a trace in the log.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from services.casework.vocabulary import CloseReason, ComplaintLevel, StepKind
from services.shared.errors import (
    CaseClosed,
    CloseNotAllowed,
    ComplaintLevelError,
    ConsentMissing,
    InvalidInput,
    OffenceNotFlagged,
)
from services.shared.text import clean_text


class Missing(StrEnum):
    """What has to be recorded (or confirmed) first (``error.missing``)."""

    AFTERCARE = "aftercare_bullying_stopped"  # aftercare that recorded the bullying stopped
    EVALUATION = "evaluation"
    EXPLANATION = "explanation"  # closing as referred or withdrawn says why
    OPEN_COMPLAINTS_ACKNOWLEDGED = "open_complaints_acknowledged"
    CONSENT = "consent"  # consent that covers the step's kind
    CRIMINAL_OFFENCE = "criminal_offence"  # a flagged criminal offence
    SKIP_REASON = "skip_reason"  # the reason for skipping a complaint level
    LESSONS = "lessons"  # lessons in the evaluation


class StateReason(StrEnum):
    """Why a command does not fit the case's current state (``WrongState.reason``)."""

    INTAKE_RECORDED = "intake_recorded"
    STEP_COMPLETED = "step_completed"
    STEP_CANCELLED = "step_cancelled"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    FOLLOW_UP_RECORDED = "follow_up_recorded"
    COMPLAINT_DECIDED = "complaint_decided"
    COMPLAINT_WITHDRAWN = "complaint_withdrawn"
    CASE_NOT_CLOSED = "case_not_closed"
    NOT_EVALUATED = "not_evaluated"
    NO_LESSONS = "no_lessons"
    NOT_SERIOUS_INCIDENT = "not_serious_incident"
    SERIOUS_INCIDENT_MARKED = "serious_incident_marked"
    INSPECTIE_REPORTED = "inspectie_reported"


class DateProblem(StrEnum):
    """What is wrong with a date (``InvalidInput.reason``)."""

    NOT_A_DATE = "not_a_date"
    REQUIRED = "required"
    IN_FUTURE = "in_future"
    TOO_EARLY = "too_early"
    TOO_FAR_AHEAD = "too_far_ahead"


#: No date of a case lies before this day: an earlier one is a typo (0026 for 2026, 1926), not a
#: bullying case of a pupil at school today.
EARLIEST_DATE = date(2000, 1, 1)
#: A due date lies at most this far ahead: a case plans within a school year or two; 2031 for
#: 2026 is a typo.
MAX_DUE_AHEAD = timedelta(days=2 * 366)


class ConsentFacts(Protocol):
    """A recorded consent, as the rules read it."""

    @property
    def covers(self) -> Collection[str]: ...

    @property
    def withdrawn(self) -> bool: ...


class ComplaintFacts(Protocol):
    """A complaint, as the rules read it."""

    @property
    def level(self) -> str: ...


class CaseFacts(Protocol):
    """What the rules read of a case. The aggregate (:class:`services.casework.domain.Case`)
    provides it and calls the rules; the rules never import the aggregate."""

    @property
    def id(self) -> UUID: ...

    @property
    def is_closed(self) -> bool: ...

    @property
    def consents(self) -> Mapping[UUID, ConsentFacts]: ...

    @property
    def offence_flagged(self) -> bool: ...

    @property
    def aftercare_found_bullying_stopped(self) -> bool: ...

    @property
    def aftercare_found_bullying_continues(self) -> bool: ...

    @property
    def evaluated(self) -> bool: ...

    @property
    def open_complaints(self) -> Mapping[UUID, ComplaintFacts]: ...


@dataclass(frozen=True)
class RecordedConsent:
    """A consent as a view or a form holds it (``{"covers": [...], "withdrawn": bool}``)."""

    covers: Collection[str]
    withdrawn: bool

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> RecordedConsent:
        return cls(covers=tuple(raw.get("covers") or ()), withdrawn=bool(raw.get("withdrawn")))


def covered_kinds(consents: Iterable[ConsentFacts]) -> frozenset[str]:
    """The step kinds covered by a consent that was not withdrawn (invariant 1). The one place
    this is computed: the aggregate, the escalation view, the forms and the case page ask it."""
    return frozenset(kind for c in consents if not c.withdrawn for kind in c.covers)


def case_must_be_open(case: CaseFacts) -> None:
    if case.is_closed:
        msg = f"case {case.id} is closed: reopen it before recording casework"
        raise CaseClosed(msg)


def consent_must_cover_step(case: CaseFacts, kind: StepKind) -> None:
    """Invariant 1: no step without the pupil knowing and being ready.

    Planning, engaging someone for or completing a step needs a recorded consent that covers the
    step's kind and has not been withdrawn.
    """
    if kind in covered_kinds(case.consents.values()):
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
    raise ConsentMissing(
        msg,
        reason="withdrawn" if withdrawn else "no_consent",
        missing=(Missing.CONSENT.value,),
        details={"step_kind": str(kind)},
    )


def police_advice_needs_offence(case: CaseFacts) -> None:
    """Invariant 2: police advice needs a flagged criminal offence."""
    if not case.offence_flagged:
        msg = "a police report can only be advised after a criminal offence has been flagged"
        raise OffenceNotFlagged(msg, missing=(Missing.CRIMINAL_OFFENCE.value,))


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
        raise ComplaintLevelError(
            msg, reason="not_higher", details={"level": str(current), "to_level": str(to_level)}
        )
    if to_level.rank > current_rank + 1 and not skip_reason.strip():
        skipped = list(ComplaintLevel)[current_rank + 1 : to_level.rank]
        msg = (
            f"going to '{to_level}' skips '{skipped[0]}': record the reason for skipping "
            "(skip_reason)"
        )
        raise ComplaintLevelError(
            msg,
            reason="skips_level",
            field="skip_reason",
            missing=(Missing.SKIP_REASON.value,),
            details={
                "level": None if current is None else str(current),
                "to_level": str(to_level),
                "skipped": [str(level) for level in skipped],
            },
        )


def case_may_close(
    case: CaseFacts, reason: CloseReason, explanation: str, *, open_complaints_acknowledged: bool
) -> None:
    """Invariant 4: closed only after aftercare found the bullying stopped and an evaluation.

    Or with an explicit other reason (referred, withdrawn), which then needs an explanation.
    Closing never ends a complaint: while one is open (at any level), the closer confirms they
    know it goes on (``open_complaints_acknowledged``), whatever the reason for closing.
    The error names everything that is missing at once (``missing``), and the open complaints
    with their levels (``details``).
    """
    missing: list[Missing] = []
    parts: list[str] = []
    details: dict[str, Any] = {"close_reason": str(reason)}
    if reason is CloseReason.RESOLVED:
        needs = []
        if not case.aftercare_found_bullying_stopped:
            missing.append(Missing.AFTERCARE)
            continues = case.aftercare_found_bullying_continues
            details["aftercare"] = "bullying_continues" if continues else "none"
            needs.append(
                "aftercare that recorded the bullying stopped"
                + (" (the latest aftercare found it had not stopped)" if continues else "")
            )
        if not case.evaluated:
            missing.append(Missing.EVALUATION)
            needs.append("an evaluation of the case")
        if needs:
            parts.append("the case cannot be closed as resolved without " + " and ".join(needs))
    elif not explanation.strip():
        missing.append(Missing.EXPLANATION)
        parts.append(f"closing a case as '{reason}' needs an explanation")
    still_open = case.open_complaints
    if still_open and not open_complaints_acknowledged:
        missing.append(Missing.OPEN_COMPLAINTS_ACKNOWLEDGED)
        details["open_complaints"] = [
            {"complaint_id": str(cid), "level": c.level} for cid, c in still_open.items()
        ]
        named = ", ".join(f"{cid} at '{c.level}'" for cid, c in still_open.items())
        parts.append(
            f"complaint(s) still open: {named}; closing the case does not end them: confirm "
            "this with open_complaints_acknowledged"
        )
    if missing:
        # The acknowledgement is a field of the form; the other items are steps of the case.
        only_ack = missing == [Missing.OPEN_COMPLAINTS_ACKNOWLEDGED]
        raise CloseNotAllowed(
            "; ".join(parts),
            field=Missing.OPEN_COMPLAINTS_ACKNOWLEDGED.value if only_ack else None,
            missing=tuple(m.value for m in missing),
            details=details,
        )


def _as_date(value: object, field: str, *, required: bool) -> date | None:
    if value is None:
        if required:
            raise InvalidInput(f"{field} is required", field=field, reason=DateProblem.REQUIRED)
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        msg = f"{field} must be a date (YYYY-MM-DD)"
        raise InvalidInput(msg, field=field, reason=DateProblem.NOT_A_DATE)
    if value < EARLIEST_DATE:
        msg = f"{field} {value.isoformat()} lies before {EARLIEST_DATE.isoformat()}: a typo?"
        raise InvalidInput(msg, field=field, reason=DateProblem.TOO_EARLY)
    return value


def happened_on(value: object, field: str, *, today: date, required: bool = True) -> date | None:
    """The day something happened (an intake held, bullying going on since): a date, not
    after ``today`` (the school's day, from the handler's clock) and not before 2000."""
    day = _as_date(value, field, required=required)
    if day is not None and day > today:
        msg = (
            f"{field} {day.isoformat()} lies after today ({today.isoformat()}): the day something "
            "happened cannot be in the future"
        )
        raise InvalidInput(msg, field=field, reason=DateProblem.IN_FUTURE)
    return day


def due_date(value: object, field: str, *, today: date, required: bool = True) -> date | None:
    """A day something is due (a step, an aftercare moment, an agreement's review): it may lie
    ahead, at most :data:`MAX_DUE_AHEAD`, and not before 2000.

    A due date in the past is accepted on purpose: aftercare or a step that already took place
    is recorded afterwards with the day it was due, and a late one shows at once among the
    signals (aftercare overdue), which is where a typo is noticed.
    """
    day = _as_date(value, field, required=required)
    if day is not None and day > today + MAX_DUE_AHEAD:
        msg = (
            f"{field} {day.isoformat()} lies more than two years ahead "
            f"(after {(today + MAX_DUE_AHEAD).isoformat()}): a typo?"
        )
        raise InvalidInput(msg, field=field, reason=DateProblem.TOO_FAR_AHEAD)
    return day


def text(value: str, field: str, *, required: bool = True) -> str:
    """A free-text field: cleaned, bounded, and present when required
    (:func:`services.shared.text.clean_text`: the one rule for typed text)."""
    return clean_text(value, field, required=required)
