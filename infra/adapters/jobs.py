"""The registry of Vangnet's jobs, the broker they are declared on now, and the after-commit
hint (:class:`SavedNotifier`, one per container).

Jobs are plain functions registered with :func:`job` (:mod:`infra.entrypoints.worker.actors`);
:func:`infra.entrypoints.worker.broker.setup_broker` declares every registered job on a new broker
and
installs it here, so :func:`actor_for` finds the actor to send to. This module imports nothing
of Vangnet's: the jobs register themselves here, and the broker module (which imports the jobs)
installs itself here, without a circle.

What stays process-wide, and why: Dramatiq itself keeps one current broker per process
(``dramatiq.set_broker``), and a job that sends a follow-up message (a catch-up sends the mail
hint) runs with its message's arguments only, so the broker it sends on is the process's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import dramatiq

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_NAMESPACE = "vangnet"


@dataclass(frozen=True)
class JobSpec:
    """A registered job: the function and how its actor is declared."""

    fn: Callable[..., Any]
    name: str
    queue: str
    priority: int = 0
    options: dict[str, Any] = field(default_factory=dict)


_jobs: dict[str, JobSpec] = {}


def job(
    *, queue: str = "default", name: str | None = None, priority: int = 0, **options: Any
) -> Callable[[F], F]:
    """Register ``fn`` as a job. It stays a plain function (call it directly in-process).

    ``options`` are Dramatiq actor options (``max_retries``, ``min_backoff``, ``max_backoff``,
    ``time_limit``, ``max_age``, ``throws``, ...); they are checked when a broker is set up.
    """

    def register(fn: F) -> F:
        spec = JobSpec(fn=fn, name=name or fn.__name__, queue=queue, priority=priority,
                       options=dict(options))  # fmt: skip
        existing = _jobs.get(spec.name)
        if existing is not None and existing.fn is not fn:
            msg = f"a job named {spec.name!r} is already registered"
            raise ValueError(msg)
        _jobs[spec.name] = spec
        return fn

    return register


def registered_jobs() -> dict[str, JobSpec]:
    """Every registered job, by name."""
    return dict(_jobs)


def queue_name(namespace: str, queue: str) -> str:
    """The broker's name for one of our queues (``vangnet.projections``)."""
    return f"{namespace}.{queue}"


def job_queues(namespace: str) -> list[str]:
    """Every queue the registered jobs use, by broker name."""
    return sorted({queue_name(namespace, s.queue) for s in registered_jobs().values()})


@dataclass
class _Current:
    broker: dramatiq.Broker | None = None
    namespace: str = DEFAULT_NAMESPACE
    url: str | None = None


_current = _Current()
_lock = threading.Lock()


def install(broker: dramatiq.Broker, namespace: str, url: str | None) -> None:
    """Make ``broker`` (with every job declared on it) the process's broker."""
    with _lock:
        dramatiq.set_broker(broker)
        _current.broker = broker
        _current.namespace = namespace
        _current.url = url


def current_broker() -> dramatiq.Broker:
    """The broker :func:`setup_broker` made last (RuntimeError if none yet)."""
    broker = _current.broker
    if broker is None:
        msg = (
            "no broker set up in this process: call "
            "infra.entrypoints.worker.broker.setup_broker first"
        )
        raise RuntimeError(msg)
    return broker


def current_namespace() -> str:
    return _current.namespace


def actor_for(name_or_fn: str | Callable[..., Any]) -> dramatiq.Actor[..., Any]:
    """The Dramatiq actor of a registered job on the current broker."""
    name = name_or_fn if isinstance(name_or_fn, str) else _name_of(name_or_fn)
    return current_broker().get_actor(name)


def _name_of(fn: Callable[..., Any]) -> str:
    for spec in registered_jobs().values():
        if spec.fn is fn:
            return spec.name
    msg = f"{getattr(fn, '__name__', fn)!r} is not a registered job"
    raise LookupError(msg)


# --- After a command commits -----------------------------------------------------------------

#: The job that brings a school's projections up to date (``infra.entrypoints.worker.actors``).
CATCH_UP_JOB = "catch_up_school"


class SavedNotifier:
    """``CaseService(on_saved=...)``: send the catch-up hint; never fail the command.

    When sending fails (broker down) it logs one warning (ids and error class only) and stops
    trying for ``cooldown`` seconds, so commands do not each wait on a dead broker; the sweep
    catches those schools up.
    """

    def __init__(
        self,
        send: Callable[[str], object] | None = None,
        *,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send or _send_catch_up
        self._cooldown = cooldown
        self._clock = clock
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.sent = 0
        self.skipped = 0

    def __call__(self, school_id: UUID) -> None:
        if self._clock() < self._paused_until:
            self.skipped += 1
            return
        try:
            self._send(str(school_id))
        except Exception as e:
            with self._lock:
                self._paused_until = self._clock() + self._cooldown
                self.skipped += 1
            log.warning(
                "catch-up hint for school %s not sent (%s); the sweep will catch it up; "
                "not sending for %.0f s",
                school_id, type(e).__name__, self._cooldown,
            )  # fmt: skip
        else:
            self.sent += 1


def _send_catch_up(school_id: str) -> None:
    actor_for(CATCH_UP_JOB).send(school_id)


class CoalescingNotifier:
    """``CaseService(on_saved=...)`` for a process on a real broker: the hint leaves the
    command's thread at once and one sender thread sends it, one hint per school however many
    commands of that school committed while the previous send was in flight.

    Why: a send to RabbitMQ waits for the broker's publisher confirm (~5 ms here, measured: more
    than the command itself), and a catch-up applies everything new, so one queued hint per
    school is enough. A hint still pending when the process dies is lost like any other hint:
    the worker's sweep catches the school up. :meth:`close` (the container's) sends what is
    pending first; :meth:`flush` waits until it has gone.
    """

    def __init__(self, notifier: SavedNotifier | None = None) -> None:
        self.notifier = notifier or SavedNotifier()
        self._pending: dict[UUID, None] = {}  # insertion-ordered set: first saved, first sent
        self._in_flight = 0
        self._closed = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.coalesced = 0

    def __call__(self, school_id: UUID) -> None:
        with self._changed:
            if self._closed:
                pass  # after close: send here (a late save of a closing process)
            elif school_id in self._pending:
                self.coalesced += 1
                return
            else:
                self._pending[school_id] = None
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="vangnet-hints", daemon=True
                    )
                    self._thread.start()
                self._changed.notify_all()
                return
        self.notifier(school_id)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._pending and not self._closed:
                    self._changed.wait()
                if not self._pending:
                    return
                batch = list(self._pending)
                self._pending.clear()
                self._in_flight = len(batch)
            for school_id in batch:
                self.notifier(school_id)  # never raises: logs and pauses on a dead broker
            with self._changed:
                self._in_flight = 0
                self._changed.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every pending hint has been sent (or given up on); ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._pending and not self._in_flight, timeout=timeout
            )

    def close(self, timeout: float = 10.0) -> None:
        """Send what is pending, then stop the sender thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    @property
    def sent(self) -> int:
        return self.notifier.sent

    @property
    def skipped(self) -> int:
        return self.notifier.skipped
