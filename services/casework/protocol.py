"""The anti-bullying protocol of a school: its checklist, and where a case stands on it.

The seed ("Gebruik het anti-pestprotocol van school als check bij de stappen") asks the contact
person to use the school's protocol as a check on the steps taken. Here a protocol is an ordered
checklist of :class:`ProtocolStep`: each step is fulfilled by one kind of case event (e.g. the
step "intakegesprek" by ``IntakeHeld``) and may have a deadline in school days, counted from the
day of the report.

Words used here:

- A **school day** is Monday to Friday. School holidays (herfstvakantie, kerstvakantie, ...)
  and public holidays are NOT modelled: a deadline that runs through a holiday falls earlier
  than the school would count it. Schools with different needs configure longer deadlines.
- **Dates** of events are taken in Dutch local time (Europe/Amsterdam): a report at 23:30 UTC on
  a Sunday was made on Monday.

Everything here is pure (no clock, no database): callers pass ``today``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.casework.domain import EVENT_TYPES
from services.shared import clock
from services.shared.errors import InvalidInput

#: The time zone every date of a case is taken in (the write side's clock uses the same).
SCHOOL_TZ = clock.SCHOOL_TZ

#: Names of the case events a protocol step can be fulfilled by.
CASE_EVENT_NAMES: frozenset[str] = frozenset(t.__name__ for t in EVENT_TYPES)

MAX_STEPS = 50
MAX_LABEL = 200
#: About a school year: a longer deadline is a typo, not a protocol.
MAX_DEADLINE_SCHOOL_DAYS = 200
#: A step's key: lowercase letters and digits joined by single underscores, at most KEY_MAX.
KEY_PATTERN = r"^[a-z0-9]+(?:_[a-z0-9]+)*$"
KEY_MAX = 40
_KEY_RE = re.compile(KEY_PATTERN)
_KEY_MAX = KEY_MAX


class InvalidProtocol(InvalidInput):
    """A protocol configuration was refused; nothing was stored."""

    code = "invalid_protocol"


# --- school days ----------------------------------------------------------------------------


def is_school_day(day: date) -> bool:
    """Monday to Friday (holidays are not modelled)."""
    return day.weekday() < 5


def add_school_days(start: date, days: int) -> date:
    """The date ``days`` school days after ``start`` (``days`` >= 0; 0 gives ``start``).

    The start day itself is never counted: a report on Monday with 2 school days is due on
    Wednesday, one on Friday (or Saturday) on Tuesday.
    """
    if days < 0:
        msg = "days must not be negative"
        raise ValueError(msg)
    if days == 0:
        return start
    day = start + timedelta(days=1)  # the first school day after start counts as 1
    while not is_school_day(day):
        day += timedelta(days=1)
    weeks, left = divmod(days - 1, 5)
    day += timedelta(weeks=weeks)  # 5 school days a week, landing on a school day again
    while left:
        day += timedelta(days=1)
        if is_school_day(day):
            left -= 1
    return day


def school_days_between(start: date, end: date) -> int:
    """How many school days lie after ``start`` up to and including ``end``.

    Negative when ``end`` is before ``start``. ``school_days_between(d, add_school_days(d, n))``
    is ``n`` for every day ``d`` and ``n >= 0``.
    """
    if end < start:
        return -school_days_between(end, start)
    weeks, rest = divmod((end - start).days, 7)
    count = weeks * 5
    day = start + timedelta(weeks=weeks)
    for _ in range(rest):
        day += timedelta(days=1)
        if is_school_day(day):
            count += 1
    return count


def local_date(moment: date | datetime) -> date:
    """The Dutch calendar date of a moment (a date is returned unchanged)."""
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(SCHOOL_TZ).date()
    return moment


# --- the protocol ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolStep:
    """One step of the checklist; ``deadline_school_days`` counts from the day of the report."""

    key: str
    label: str
    event_type: str
    deadline_school_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "event_type": self.event_type,
            "deadline_school_days": self.deadline_school_days,
        }


@dataclass(frozen=True)
class ProtocolChecklist:
    """A school's protocol: its steps in order (validated: build with :func:`validate_protocol`)."""

    steps: tuple[ProtocolStep, ...]

    def step(self, key: str) -> ProtocolStep:
        for step in self.steps:
            if step.key == key:
                return step
        msg = f"the protocol has no step '{key}'"
        raise InvalidProtocol(msg)

    def deadline_for(self, event_type: str) -> int | None:
        """The deadline of the first step fulfilled by ``event_type`` (None: no deadline)."""
        for step in self.steps:
            if step.event_type == event_type:
                return step.deadline_school_days
        return None

    @property
    def intake_deadline(self) -> int | None:
        """School days within which the intake must be held (None: the protocol sets none)."""
        return self.deadline_for("IntakeHeld")

    def to_json(self) -> list[dict[str, Any]]:
        return [step.to_json() for step in self.steps]


def _as_step(index: int, raw: ProtocolStep | Mapping[str, Any]) -> ProtocolStep:
    if isinstance(raw, ProtocolStep):
        return raw
    if not isinstance(raw, Mapping):
        msg = f"step {index}: must be an object with key, label, event_type, deadline_school_days"
        raise InvalidProtocol(msg)
    unknown = sorted(set(raw) - {"key", "label", "event_type", "deadline_school_days"})
    if unknown:
        msg = f"step {index}: unknown field(s): {', '.join(map(str, unknown))}"
        raise InvalidProtocol(msg)
    missing = [f for f in ("key", "label", "event_type") if f not in raw]
    if missing:
        msg = f"step {index}: missing field(s): {', '.join(missing)}"
        raise InvalidProtocol(msg)
    return ProtocolStep(
        key=raw["key"],
        label=raw["label"],
        event_type=raw["event_type"],
        deadline_school_days=raw.get("deadline_school_days"),
    )


def validate_protocol(steps: Iterable[ProtocolStep | Mapping[str, Any]]) -> ProtocolChecklist:
    """Check a protocol and return it; every problem is an :class:`InvalidProtocol` naming the
    step (by position and key) and what is wrong.

    Rules: 1 to 50 steps; keys of lowercase letters/digits joined by single underscores (at most
    40), unique; a label of 1-200 characters; the event type one of the case events; the deadline
    a whole number of school days from 0 to 200, or none.
    """
    if isinstance(steps, str | bytes | Mapping):
        msg = "a protocol is a list of steps"
        raise InvalidProtocol(msg)
    checked = [_as_step(i, raw) for i, raw in enumerate(steps, start=1)]
    if not checked:
        msg = "a protocol needs at least one step"
        raise InvalidProtocol(msg)
    if len(checked) > MAX_STEPS:
        msg = f"a protocol has at most {MAX_STEPS} steps, this one has {len(checked)}"
        raise InvalidProtocol(msg)
    seen: set[str] = set()
    cleaned = []
    for index, step in enumerate(checked, start=1):
        key = step.key
        if not isinstance(key, str) or len(key) > _KEY_MAX or not _KEY_RE.match(key):
            msg = (
                f"step {index}: the key must be 1-{_KEY_MAX} lowercase letters and digits "
                "joined by single underscores (e.g. 'intakegesprek')"
            )
            raise InvalidProtocol(msg)
        where = f"step {index} ('{key}')"
        if key in seen:
            msg = f"{where}: duplicate key; every step needs its own key"
            raise InvalidProtocol(msg)
        seen.add(key)
        label = step.label.strip() if isinstance(step.label, str) else None
        if not label or len(label) > MAX_LABEL:
            msg = f"{where}: the label must be 1-{MAX_LABEL} characters"
            raise InvalidProtocol(msg)
        if step.event_type not in CASE_EVENT_NAMES:
            msg = f"{where}: unknown event type; use one of: {', '.join(sorted(CASE_EVENT_NAMES))}"
            raise InvalidProtocol(msg)
        deadline = step.deadline_school_days
        if deadline is not None:
            if isinstance(deadline, bool) or not isinstance(deadline, int):
                msg = f"{where}: the deadline must be a whole number of school days, or none"
                raise InvalidProtocol(msg)
            if deadline < 0:
                msg = f"{where}: the deadline must not be negative"
                raise InvalidProtocol(msg)
            if deadline > MAX_DEADLINE_SCHOOL_DAYS:
                msg = f"{where}: the deadline is at most {MAX_DEADLINE_SCHOOL_DAYS} school days"
                raise InvalidProtocol(msg)
        cleaned.append(ProtocolStep(key, label, step.event_type, deadline))
    return ProtocolChecklist(tuple(cleaned))


#: The protocol of a school that never configured one, after the seed's tasks of the contact
#: person ("Adviespunt": opvangen, nazorg, registratie en evaluatie). Only the intake has a
#: deadline the seed does not leave open; the others are sensible defaults a school can change.
DEFAULT_PROTOCOL = validate_protocol(
    [
        ProtocolStep("melding_vastgelegd", "Melding vastgelegd", "CaseReported", None),
        ProtocolStep(
            "intakegesprek",
            "Intakegesprek met de gepeste leerling (en ouders)",
            "IntakeHeld",
            2,
        ),
        ProtocolStep("situatie_in_kaart", "Pestsituatie in kaart gebracht", "SituationMapped", 5),
        ProtocolStep(
            "oplossingen_besproken",
            "Gewenste en mogelijke oplossingen besproken",
            "SolutionsDiscussed",
            10,
        ),
        ProtocolStep(
            "toestemming_leerling",
            "Leerling weet van de stappen en is eraan toe (toestemming)",
            "ConsentGiven",
            None,
        ),
        ProtocolStep(
            "afspraken_vastgelegd", "Afspraken schriftelijk vastgelegd", "AgreementRecorded", None
        ),
        ProtocolStep("nazorg_ingepland", "Nazorg ingepland", "FollowUpScheduled", None),
        ProtocolStep(
            "nazorg_uitgevoerd",
            "Nazorg: afspraken nagekomen en pesten gestopt?",
            "FollowUpCompleted",
            None,
        ),
        ProtocolStep("geevalueerd", "Casus geëvalueerd", "CaseEvaluated", None),
        ProtocolStep(
            "leerpunten_gedeeld",
            "Leerpunten gedeeld met de anti-pestcoördinator",
            "LessonsShared",
            None,
        ),
    ]
)


# --- progress -------------------------------------------------------------------------------

#: Steps a reopened case has to do again before it can close as resolved (invariant 4: fresh
#: aftercare and a fresh evaluation), and the closing itself.
REDONE_AFTER_REOPENING = frozenset({"FollowUpCompleted", "CaseEvaluated", "CaseClosed"})


def done_events(
    events: Iterable[tuple[str, date | datetime, Mapping[str, Any]]],
) -> dict[str, date | datetime]:
    """When each event type fulfilled its protocol step, from a case's events in order
    (event type, when it was recorded, its fields). Pure: the same events give the same answer.

    An event fulfils its step the first time it happens, except:

    - ``IntakeHeld`` counts on the day the intake was held (``held_on``);
    - ``FollowUpCompleted`` ("Nazorg: afspraken nagekomen en pesten gestopt?") counts only while
      the latest aftercare found the bullying stopped, on that aftercare's day: aftercare that
      found it going on leaves the step open (the case needs new steps and new aftercare);
    - after ``CaseReopened`` the aftercare, the evaluation and the closing are open again, as the
      case needs fresh ones before it can close as resolved.
    """
    done: dict[str, date | datetime] = {}
    for event_type, when, data in events:
        if event_type == "CaseReopened":
            for redone in REDONE_AFTER_REOPENING:
                done.pop(redone, None)
        if event_type == "FollowUpCompleted":
            if data.get("bullying_stopped") is True:
                done[event_type] = when
            else:
                done.pop(event_type, None)
            continue
        if event_type in done:
            continue
        held_on = data.get("held_on") if event_type == "IntakeHeld" else None
        done[event_type] = date.fromisoformat(held_on) if isinstance(held_on, str) else when
    return done


@dataclass(frozen=True)
class StepProgress:
    """Where one case stands on one protocol step (as of ``today``)."""

    key: str
    label: str
    done: bool
    done_on: date | None
    due_on: date | None
    overdue: bool  # not done, and the due date has passed


def progress(
    protocol: ProtocolChecklist,
    done_events: Mapping[str, date | datetime],
    reported_at: date | datetime,
    today: date,
) -> list[StepProgress]:
    """The checklist of one case: ``done_events`` maps an event type to when it first happened.

    A step is due ``deadline_school_days`` school days after the day of the report, and overdue
    when it is not done and ``today`` is after its due day.
    """
    reported_on = local_date(reported_at)
    result = []
    for step in protocol.steps:
        when = done_events.get(step.event_type)
        done_on = local_date(when) if when is not None else None
        due_on = (
            add_school_days(reported_on, step.deadline_school_days)
            if step.deadline_school_days is not None
            else None
        )
        result.append(
            StepProgress(
                key=step.key,
                label=step.label,
                done=done_on is not None,
                done_on=done_on,
                due_on=due_on,
                overdue=done_on is None and due_on is not None and today > due_on,
            )
        )
    return result
