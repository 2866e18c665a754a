"""Who is acting: set once per request or command, read by every event.

The web layer (or the CLI, or a job) calls :func:`acting_as` around a command; the base event class
of every aggregate reads :data:`current_actor` when the event is created, so no command method has
to pass "who did it" along by hand (eventsourcing ``examples/contentmanagement``; Zulip's
``acting_user``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from services.access.roles import Role


@dataclass(frozen=True)
class Actor:
    """A person acting in one role. ``user_id`` is an opaque identifier, never a name: the
    person's id in the school's staff directory (``services.people``), or a technical id
    (``system``, a test's). ``aliases``: ids the same person was recorded under before the
    directory existed (their identity provider's subject), so a check of "is this the person
    engaged in that case?" also finds events written before."""

    user_id: str
    role: Role
    aliases: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id this person may be recorded under, their own first."""
        return (self.user_id, *(a for a in self.aliases if a and a != self.user_id))


current_actor: ContextVar[Actor | None] = ContextVar("current_actor", default=None)

SYSTEM = Actor(user_id="system", role=Role.OPERATOR)
#: The technical actor of everything a visitor of a school's public report form does (the report,
#: their messages, reading their status with the follow-up code): never a person's id.
PUBLIC_REPORTER = Actor(user_id="meldformulier", role=Role.OPERATOR)
#: The technical actor of what the receiver of a hand-over outside the platform does through
#: their receipt link (downloading, confirming): never a person's id.
RECEIPT_LINK = Actor(user_id="ontvangstlink", role=Role.OPERATOR)


class NoActorError(RuntimeError):
    """An event was created outside :func:`acting_as`: every event needs an actor."""


def require_actor() -> Actor:
    actor = current_actor.get()
    if actor is None:
        msg = "no acting user set: wrap the command in acting_as(actor)"
        raise NoActorError(msg)
    return actor


def actor_id_now() -> str:
    return require_actor().user_id


def actor_role_now() -> str:
    return str(require_actor().role)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run the enclosed commands as ``actor``."""
    token = current_actor.set(actor)
    try:
        yield actor
    finally:
        current_actor.reset(token)
