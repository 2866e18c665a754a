"""Replay for auditors: a case's full history, its state as of any moment, and what changed
between two moments — all read from the school's event log with the library, never from a view.

Who may: the history needs ``audit.read``; the events' data, the state and the differences are
case content and also need ``case.read`` (the auditor has both; a role with only ``audit.read``
would see who did what when, not what). The case is loaded *before* the permission check, as in
:class:`~services.casework.handlers.CaseService`, so another school's case is "not found" for
everyone, never "forbidden".

"As of" a moment means: the last version whose event's timestamp is at or before the moment,
built from the case's events up to that version (read and decoded once; the same fold as the
library's historical read ``repository.get(case_id, version=v)``). Before the
case was reported there is no state (:class:`~services.shared.errors.NotYetReported`).
Recording that someone read the case is the caller's job (the web layer and the CLI record every
read in the school's access log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from uuid import UUID

from services.access.need_to_know import Part, sight
from services.access.roles import Permission, has_permission
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.casework.facts import case_facts
from services.casework.handlers import authorize
from services.casework.state import FieldChange, State, case_state, diff_states
from services.shared.actor import Actor
from services.shared.errors import (
    CaseNotFound,
    IntegrityViolation,
    InvalidInput,
    NotYetReported,
    PermissionDenied,
)
from services.shared.jsonable import event_data


@dataclass(frozen=True)
class HistoryEntry:
    """One event of the case: which version it made, what, who (and in which role), when."""

    version: int
    event_type: str
    actor_id: str
    actor_role: str
    at: datetime
    #: The event's own fields; ``None`` when the reader may not read case content.
    data: dict[str, Any] | None


@dataclass(frozen=True)
class StateAt:
    """The case as it was at ``as_of``: version ``version``, made by the event at ``changed_at``."""

    case_id: UUID
    as_of: datetime
    version: int
    changed_at: datetime
    state: State


@dataclass(frozen=True)
class CaseDiff:
    """What changed between ``start`` and ``end``: the fields, and the events in between."""

    case_id: UUID
    start: datetime
    end: datetime
    from_version: int | None  # None: the case did not exist yet at ``start``
    to_version: int | None
    changes: list[FieldChange]
    events: list[HistoryEntry]


#: A moment as the audit reads take it: a date, or a date-time to the minute, second or
#: microsecond, with or without a zone (``Z`` or ``+01:00``). The API document shows it.
MOMENT_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)


def parse_moment(raw: str | None, name: str, default: datetime, local: tzinfo) -> datetime:
    """An ISO 8601 date-time (or date: its start) typed by a person; without a time zone it is
    taken in ``local`` (the school's clock). ``default`` when empty."""
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        msg = f"{name} must be an ISO 8601 date-time, e.g. 2026-11-20T14:30:00+01:00"
        raise InvalidInput(msg, field=name, reason="invalid_format") from None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=local)
    return _representable(moment, name)


def parse_until(raw: str | None, name: str, default: datetime, local: tzinfo) -> datetime:
    """Like :func:`parse_moment`, for the end of a period ("as of", "to"): a date alone means the
    end of that day, a time to the minute (what a ``datetime-local`` field sends) the end of
    that minute — so "as of 14:16" includes what happened during 14:16."""
    text = (raw or "").strip()
    if len(text) == len("2026-11-20"):
        day = parse_moment(text, name, default, local).date()
        return _representable(datetime.combine(day, time.max, tzinfo=local), name)
    moment = parse_moment(raw, name, default, local)
    if len(text) == len("2026-11-20T14:16"):
        try:
            return _representable(moment + timedelta(minutes=1, microseconds=-1), name)
        except OverflowError:
            raise _out_of_range(name) from None
    return moment


def _representable(moment: datetime, name: str) -> datetime:
    """``moment``, if it can be compared with the events' UTC times (years 1 to 9999 in UTC
    too: 0001-01-01T00:00+01:00 and 9999-12-31T23:59-01:00 cannot)."""
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _out_of_range(name) from None
    return moment


def _out_of_range(name: str) -> InvalidInput:
    return InvalidInput(
        f"{name} is outside the range of dates that can be compared",
        field=name,
        reason="out_of_range",
    )


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"{name} needs a time zone (e.g. 2026-11-20T14:30:00+01:00)"
        raise InvalidInput(msg)
    return moment


class CaseReplay:
    """The audit reads of one school's cases."""

    def __init__(self, app: CaseworkApplication, school_id: UUID) -> None:
        self.app = app
        self.school_id = school_id

    def _events(self, case_id: UUID) -> list[Case.Event]:
        """Every event of a case of this school (``CaseNotFound`` otherwise)."""
        events: list[Any] = list(self.app.events.get(case_id))
        first = events[0] if events else None
        if not isinstance(first, Case.CaseReported) or first.school_id != self.school_id:
            raise CaseNotFound(f"case {case_id} not found")
        for expected, event in enumerate(events, start=1):
            if event.originator_version != expected:
                # A history with a hole shown as if complete would mislead the auditor.
                msg = (
                    f"the stored events of case {case_id} do not follow each other: version "
                    f"{expected} is missing (deleted or moved outside Vangnet)"
                )
                raise IntegrityViolation(msg, originator_id=case_id, originator_version=expected)
        return events

    @staticmethod
    def _entry(event: Case.Event, with_data: bool) -> HistoryEntry:
        return HistoryEntry(
            version=event.originator_version,
            event_type=type(event).__name__,
            actor_id=event.actor_id,
            actor_role=event.actor_role,
            at=event.timestamp,
            data=(event_data(event) if with_data else None),
        )

    def _needs_history(self, actor: Actor, events: list[Case.Event]) -> None:
        """Need-to-know: the replay is the ``history`` part of the case (the auditor's);
        a case of which the actor sees nothing is "not found"."""
        case: Any = None
        for event in events:
            case = event.mutate(case)
        seen = sight(actor, case_facts(case))
        if seen.nothing:
            raise CaseNotFound(f"case {events[0].originator_id} not found")
        if not seen.sees(Part.HISTORY):
            raise PermissionDenied(f"role '{actor.role}' may not replay a case's history")

    def history(self, actor: Actor, case_id: UUID) -> list[HistoryEntry]:
        """Every event, oldest first; the data only for readers of case content."""
        events = self._events(case_id)
        authorize(actor, Permission.AUDIT_READ)
        self._needs_history(actor, events)
        with_data = has_permission(actor.role, Permission.CASE_READ)
        return [self._entry(e, with_data) for e in events]

    def _version_at(self, events: list[Case.Event], moment: datetime) -> Case.Event | None:
        last = None
        for event in events:
            if event.timestamp > moment:
                break
            last = event
        return last

    @staticmethod
    def _state_at(events: list[Case.Event], event: Case.Event | None) -> State | None:
        """The state made by ``event``: the events up to it (already read and decoded, oldest
        first) applied to a fresh aggregate — what ``repository.get(version=v)`` does, without
        reading and decoding the log a second time."""
        if event is None:
            return None
        case: Any = None
        for each in events:
            case = each.mutate(case)
            if each is event:
                break
        assert isinstance(case, Case)
        return case_state(case)

    def _authorize_content(self, actor: Actor) -> None:
        authorize(actor, Permission.AUDIT_READ)
        authorize(actor, Permission.CASE_READ)

    def state_as_of(self, actor: Actor, case_id: UUID, as_of: datetime) -> StateAt:
        """The case as it was at ``as_of`` (timezone-aware)."""
        moment = _aware(as_of, "as_of")
        events = self._events(case_id)
        self._authorize_content(actor)
        self._needs_history(actor, events)
        event = self._version_at(events, moment)
        if event is None:
            msg = f"case {case_id} was reported only at {events[0].timestamp.isoformat()}"
            raise NotYetReported(msg)
        state = self._state_at(events, event)
        assert state is not None
        return StateAt(case_id, moment, event.originator_version, event.timestamp, state)

    def diff(self, actor: Actor, case_id: UUID, start: datetime, end: datetime) -> CaseDiff:
        """The fields that differ between the states at ``start`` and ``end`` (``start`` may be
        before the report: then everything is new), and the events in between."""
        start, end = _aware(start, "from"), _aware(end, "to")
        if end < start:
            raise InvalidInput("'to' must not be before 'from'")
        events = self._events(case_id)
        self._authorize_content(actor)
        self._needs_history(actor, events)
        before, after = self._version_at(events, start), self._version_at(events, end)
        between = [e for e in events if start < e.timestamp <= end]
        return CaseDiff(
            case_id=case_id,
            start=start,
            end=end,
            from_version=before.originator_version if before else None,
            to_version=after.originator_version if after else None,
            changes=diff_states(self._state_at(events, before), self._state_at(events, after)),
            events=[self._entry(e, with_data=True) for e in between],
        )
