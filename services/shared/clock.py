"""What day it is at a school: the one clock the write side reads.

The domain never reads the system clock itself. A command handler asks its :class:`Clock` for
the school's day once per command and runs the command :func:`on_day` that day (like
:func:`services.shared.actor.acting_as` for the acting user); the command passes
:func:`school_today` explicitly to the aggregate's command method, which uses it to check dates
(e.g. an intake cannot have been held tomorrow). The ``@event`` bodies never see it, so replaying
a case gives the same state whatever day it is replayed on. Tests give the handler a
:class:`FixedClock`.

Events take their time (the library's ``timestamp``) from the system clock, with one exception
for the demo and tests: a :class:`SeedClock` given to a command handler tells both the day and
the moment, and the handler stamps that command's events with it (:func:`stamped`; the case's
event class reads :func:`event_timestamp`). Production handlers run with the
:data:`SCHOOL_CLOCK`, for which :func:`seed_moment` is ``None``: they stamp events with the real
time, also when a caller set a moment around them (the handler resets it).

Every date of a case is a day of the Dutch calendar (Europe/Amsterdam): 23:30 UTC on a Sunday is
already Monday at school.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from eventsourcing.domain import datetime_now_with_tzinfo

#: The time zone every date of a case is taken in.
SCHOOL_TZ = ZoneInfo("Europe/Amsterdam")


class Clock(Protocol):
    """Tells the school's calendar day (a port: the system clock in production, fixed in tests)."""

    def today(self) -> date:
        """The day it is now at the school."""
        ...


@dataclass(frozen=True)
class SchoolClock:
    """The system clock, read as a day in the school's time zone."""

    def today(self) -> date:
        return datetime.now(SCHOOL_TZ).date()


@dataclass(frozen=True)
class FixedClock:
    """A clock that always tells the same day (tests, demo data, replays of a scenario)."""

    day: date

    def today(self) -> date:
        return self.day


@dataclass
class SeedClock:
    """A settable clock for seeding history (the demo, tests): it tells the school's day of
    :attr:`moment` and stamps the events of each command a handler runs with it. Never
    used in production (the container builds handlers with :data:`SCHOOL_CLOCK`)."""

    moment: datetime

    def __post_init__(self) -> None:
        if self.moment.tzinfo is None:
            msg = "a seed moment needs a time zone"
            raise ValueError(msg)

    def today(self) -> date:
        return self.moment.astimezone(SCHOOL_TZ).date()

    def set(self, moment: datetime) -> None:
        """Move to ``moment`` (time-zone aware)."""
        if moment.tzinfo is None:
            msg = "a seed moment needs a time zone"
            raise ValueError(msg)
        self.moment = moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


SCHOOL_CLOCK: Clock = SchoolClock()


def seed_moment(clock: Clock) -> datetime | None:
    """The moment a handler with ``clock`` stamps events with (``None``: the real time)."""
    return clock.moment if isinstance(clock, SeedClock) else None


_event_moment: ContextVar[datetime | None] = ContextVar("event_moment", default=None)


def event_timestamp() -> datetime:
    """The timestamp of an event created now: the real time in UTC, unless a handler with a
    :class:`SeedClock` runs the command (:func:`stamped`)."""
    moment = _event_moment.get()
    if moment is None:
        return datetime_now_with_tzinfo()  # the library's own default
    return moment.astimezone(UTC)


@contextmanager
def stamped(moment: datetime | None) -> Iterator[None]:
    """Stamp the events created in the block with ``moment`` (``None``: the real time, also
    when an outer block set a moment)."""
    token = _event_moment.set(moment)
    try:
        yield
    finally:
        _event_moment.reset(token)


current_day: ContextVar[date | None] = ContextVar("current_day", default=None)


class NoDayError(RuntimeError):
    """A command that checks dates ran outside :func:`on_day`: nobody said what day it is."""


def school_today() -> date:
    """The school's day the current command runs on (set by :func:`on_day`)."""
    day = current_day.get()
    if day is None:
        msg = "no school day set: run the command inside on_day(clock.today())"
        raise NoDayError(msg)
    return day


@contextmanager
def on_day(day: date) -> Iterator[date]:
    """Run the enclosed commands on ``day`` (the school's calendar day)."""
    token = current_day.set(day)
    try:
        yield day
    finally:
        current_day.reset(token)
