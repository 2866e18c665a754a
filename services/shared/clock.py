"""What day it is at a school: the one clock the write side reads.

The domain never reads the system clock itself. A command handler asks its :class:`Clock` for
the school's day once per command and runs the command :func:`on_day` that day (like
:func:`services.shared.actor.acting_as` for the acting user); the command passes
:func:`school_today` explicitly to the aggregate's command method, which uses it to check dates
(e.g. an intake cannot have been held tomorrow). The ``@event`` bodies never see it, so replaying
a case gives the same state whatever day it is replayed on. Tests give the handler a
:class:`FixedClock`.

Every date of a case is a day of the Dutch calendar (Europe/Amsterdam): 23:30 UTC on a Sunday is
already Monday at school.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

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


SCHOOL_CLOCK: Clock = SchoolClock()


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
