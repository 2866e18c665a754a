"""One handler for every case command: load, authorize, execute, save.

The school is resolved once at the edge and passed in; what is loaded is checked to belong to it
(Sentry's ``OrganizationEndpoint``; Zulip's ``get_stream_by_id_in_realm``). Authorization asks
the permission table in :mod:`services.access.roles`; nothing here decides roles by itself.

A command made against a version the client saw (``expected_version``) is refused when the case
moved on (:class:`~services.shared.errors.StaleVersion`, 409): the person decided on what they
saw. A command without one (a note, an API call that does not care) does not depend on what the
client saw, so when someone else saved the same case at the same moment the whole
load-authorize-execute-save is repeated on the new state, a bounded number of times with a short
jittered pause; permission and rules are checked again each time.

Within one process, commands on the same case take turns (:class:`CaseLocks`): their saves are
serialised by the event store's table lock anyway, so letting them race only wastes loads and
turns into retries. Collisions then come only from other processes, and the retry handles those.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import UUID

from services.access.need_to_know import sight
from services.access.roles import ENGAGED_PERMISSIONS, Permission, Role, has_permission
from services.casework.application import CaseworkApplication, register_of
from services.casework.commands import AddParticipant, CaseCommand, ReportCase
from services.casework.domain import Case
from services.casework.facts import case_facts
from services.people.lookup import LogPeople, PersonLookup, check_person
from services.people.parts import Part
from services.pupils.register import PupilRegister
from services.shared.actor import Actor, acting_as
from services.shared.clock import SCHOOL_CLOCK, Clock, on_day, seed_moment, stamped
from services.shared.errors import (
    CaseNotFound,
    ConcurrencyConflict,
    PermissionDenied,
    StaleVersion,
)

log = logging.getLogger(__name__)

#: How often a command without an expected version is tried when saves collide.
MAX_ATTEMPTS = 10
#: The pause after the n-th collision is uniform in [0, min(MAX_PAUSE_SECONDS,
#: BACKOFF_SECONDS * 2**n)) ("full jitter"): spread out, so the writers that collided do not
#: all come back at the same moment. At most about 1.4 s of pauses in all.
BACKOFF_SECONDS = 0.005
MAX_PAUSE_SECONDS = 0.25


#: How long a command waits for its turn on a busy case before it is refused as a conflict.
LOCK_WAIT_SECONDS = 10.0


class _Turn:
    """A lock that can be weakly referenced (``threading.Lock`` cannot)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


class CaseBusy(ConcurrencyConflict):
    """The case is so busy that a command did not get its turn in time (409; not retried: it
    already waited)."""


class CaseLocks:
    """One lock per case id, kept only while someone holds or waits for it.

    ``timeout``: seconds a command waits for its turn before :class:`CaseBusy`.
    """

    def __init__(self, timeout: float = LOCK_WAIT_SECONDS) -> None:
        self.timeout = timeout
        self._guard = threading.Lock()
        self._turns: weakref.WeakValueDictionary[UUID, _Turn] = weakref.WeakValueDictionary()

    @contextmanager
    def turn(self, case_id: UUID) -> Iterator[None]:
        """Hold ``case_id``'s lock for the block (:class:`CaseBusy` when it does not come)."""
        with self._guard:
            turn = self._turns.get(case_id)
            if turn is None:
                turn = _Turn()
                self._turns[case_id] = turn
        if not turn.lock.acquire(timeout=self.timeout):
            msg = f"case {case_id} is busy with other changes: try again"
            raise CaseBusy(msg)
        try:
            yield
        finally:
            turn.lock.release()


#: This process's turns on cases (shared by every CaseService: they are made per request).
CASE_LOCKS = CaseLocks()


def retry_pause(attempt: int) -> float:
    """Seconds to wait before trying again after the ``attempt``-th collision."""
    ceiling = min(MAX_PAUSE_SECONDS, BACKOFF_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


def authorize(actor: Actor, permission: Permission, case: Case | None = None) -> None:
    """Refuse, with a clear error, an action the actor's role does not allow (on this case).

    Staff who act only where they are engaged get "not found" for a case they are not engaged
    in (need-to-know: no hint that it exists), as its page and API answer."""
    engaged = case is not None and case.is_engaged(*actor.ids)
    if has_permission(actor.role, permission, engaged=engaged):
        return
    if actor.role is Role.DOMESTIC_VIOLENCE_OFFICER:
        msg = "the domestic-violence officer has no access to bullying cases"
    elif case is not None and permission in ENGAGED_PERMISSIONS.get(actor.role, frozenset()):
        raise CaseNotFound(f"case {case.id} not found")
    else:
        msg = f"role '{actor.role}' may not '{permission}'"
    raise PermissionDenied(msg)


class CaseService:
    """The write side of one school's casework, for one acting user at a time.

    ``on_saved`` is called with the school id after every successful save (the container passes the
    container's notifier, ``infra.adapters.jobs.SavedNotifier``: "catch this school's projections
    up").
    The command has committed by then, so a failing hook is logged and never turns it into an error.
    ``clock`` tells the school's day that commands check their dates against (the system clock
    in Dutch time unless a test or the demo fixes the day). ``people``: the school's staff
    directory every person a command names is checked against (default: the persons in the
    school's own log, :class:`~services.people.lookup.LogPeople`). ``pupils``: the school's
    pupil register every participant is found in or added to (default: the register in the
    school's own log); ``link_pupils=False`` keeps participants as strings of one case (as
    before the register existed: tests of old behaviour).
    """

    def __init__(
        self,
        app: CaseworkApplication,
        school_id: UUID,
        on_saved: Callable[[UUID], None] | None = None,
        clock: Clock = SCHOOL_CLOCK,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        locks: CaseLocks = CASE_LOCKS,
        people: PersonLookup | None = None,
        pupils: PupilRegister | None = None,
        link_pupils: bool = True,
    ) -> None:
        self.app = app
        self.pupils = (
            (pupils if pupils is not None else register_of(app, school_id)) if link_pupils else None
        )
        self.people = people if people is not None else LogPeople(app, school_id)
        self.school_id = school_id
        self.on_saved = on_saved
        self.clock = clock
        self.max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._locks = locks

    def _saved(self) -> None:
        if self.on_saved is None:
            return
        try:
            self.on_saved(self.school_id)
        except Exception as e:
            log.warning("on_saved hook failed for school %s: %s", self.school_id, type(e).__name__)

    def report(self, actor: Actor, command: ReportCase) -> UUID:
        authorize(actor, command.permission)
        owner_id = command.owner_id
        if owner_id:
            owner_id = check_person(self.people, owner_id, "owner_id", Part.CASE_OWNER).id
        elif actor.role is Role.CONTACT_PERSON:
            owner_id = actor.user_id  # the reporting contact person (resolved at the edge)
        with acting_as(actor), stamped(seed_moment(self.clock)):
            case = Case.report(
                school_id=self.school_id,
                reporter_kind=command.reporter_kind,
                summary=command.summary,
                owner_id=owner_id,
            )
        self.app.save_case(case)
        self._saved()
        return case.id

    def handle(self, actor: Actor, command: CaseCommand) -> int:
        """Run one command on one case; returns the case's new version.

        Without ``command.expected_version`` a save that collides with someone else's is
        retried from the load (at most ``max_attempts`` tries in all); with it, the conflict is
        the answer (the client decided on a version that is no longer current).
        """
        if isinstance(command, AddParticipant) and self.pupils is not None:
            # Once, before the retries: finding (or registering) the pupil is not repeated.
            case = self.app.get_case(command.case_id, self.school_id)
            authorize(actor, command.permission, case)
            command = command.with_pupil(self.pupils, actor, case)
        attempt = 1
        while True:
            try:
                with self._locks.turn(command.case_id):
                    version = self._handle_once(actor, command)
            except CaseBusy:
                raise
            except ConcurrencyConflict:
                if command.expected_version is not None or attempt >= self.max_attempts:
                    raise
                log.debug(
                    "case %s: save collided (attempt %d of %d), retrying",
                    command.case_id,
                    attempt,
                    self.max_attempts,
                )
                self._sleep(retry_pause(attempt))
                attempt += 1
            else:
                self._saved()
                return version

    def _handle_once(self, actor: Actor, command: CaseCommand) -> int:
        """Load, authorize, execute and save once (a fresh load each time: nothing carried over
        from an attempt that collided)."""
        case = self.app.get_case(command.case_id, self.school_id)
        authorize(actor, command.permission, case)
        command.authorize_on(actor, case)
        if command.expected_version is not None and command.expected_version != case.version:
            msg = (
                f"case {case.id} is at version {case.version}, the command was made against "
                f"version {command.expected_version}: reload and retry"
            )
            raise StaleVersion(msg)
        command = command.with_people(self.people, case)
        with acting_as(actor), on_day(self.clock.today()), stamped(seed_moment(self.clock)):
            command.execute(case)
        self.app.save_case(case)
        return case.version

    def read(self, actor: Actor, case_id: UUID, version: int | None = None) -> Case:
        """The whole case's current (or historical) state, for those who may read its content
        and see something of it (need-to-know; the parts: ``services.access.need_to_know``)."""
        case = self.app.get_case(case_id, self.school_id)
        authorize(actor, Permission.CASE_READ, case)
        if sight(actor, case_facts(case)).nothing:
            raise CaseNotFound(f"case {case_id} not found")
        if version is not None:
            return self.app.get_case(case_id, self.school_id, version=version)
        return case
