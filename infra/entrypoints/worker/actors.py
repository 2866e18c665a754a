"""Vangnet's jobs, and the after-commit hint that starts the most common one.

The broker carries hints; the database holds the truth (DESIGN.md §6). After a command commits,
the container's notifier (:class:`infra.adapters.jobs.SavedNotifier`) sends
``catch_up_school(school_id)``. If that message is lost (broker down,
worker killed), nothing is lost: :func:`sweep_schools` finds every school whose projections lag
its log and catches it up, and ``vangnet worker`` runs it every ``VANGNET_SWEEP_SECONDS``.

Jobs take and log ids only (a school id as a string); never case content. Their exceptions are
re-raised as :class:`JobFailed`, which keeps the stack but not the message (an exception message
may quote data), and names the original class for the dead-letter listing.

Adding a job: write a function below the "More jobs" marker and decorate it with
``@job(queue=..., **dramatiq_options)``; it is declared on every broker ``setup_broker`` makes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from infra.adapters.audit.integrity import checkpoint_platform, checkpoint_school
from infra.adapters.jobs import actor_for, job
from infra.adapters.mail import Mailer
from infra.bootstrap import views as school_views
from infra.bootstrap.container import Container, current_container
from infra.bootstrap.notifications import deliver_notifications, send_due_reminders
from infra.bootstrap.retention import expire_school
from projections.db import first
from projections.engine import EVENTS_TABLE, POSITIONS, Batch, head, positions
from projections.notifications.projection import calls_for_mail
from projections.views import ALL_VIEWS
from services.shared.clock import SCHOOL_TZ
from services.shared.errors import SchoolNotFound
from tenants.registry import School, schema_name_for

log = logging.getLogger(__name__)

#: The queue of projection jobs (broker name ``<namespace>.projections``).
PROJECTIONS_QUEUE = "projections"


class JobFailed(Exception):
    """A job's failure, without the original message (which might quote data)."""

    def __init__(self, job_name: str, error_class: str, subject: str) -> None:
        super().__init__(f"{job_name} failed for {subject}: {error_class}")
        self.error_class = error_class


class InvalidJob(Exception):
    """A message no retry can fix (malformed arguments): dead-lettered at once."""


@contextmanager
def _ids_only(job_name: str, subject: str) -> Iterator[None]:
    try:
        yield
    except (JobFailed, InvalidJob):
        raise
    except Exception as e:
        log.warning("%s failed for %s: %s", job_name, subject, type(e).__name__)
        raise JobFailed(job_name, type(e).__name__, subject).with_traceback(
            e.__traceback__
        ) from None


def _school_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except (TypeError, ValueError, AttributeError):
        raise InvalidJob("catch_up_school needs a school id (UUID string)") from None


# --- Projections -----------------------------------------------------------------------------


@job(queue=PROJECTIONS_QUEUE, throws=(InvalidJob,))
def catch_up_school(school_id: str) -> None:
    """Bring one school's projections up to date (a no-op when they already are).

    An event a view cannot apply does not fail the job (no retries, no tracebacks): the engine
    isolates and, after bounded attempts, quarantines it (:mod:`projections.quarantine`); only
    errors of the database itself are raised and retried."""
    sid = _school_id(school_id)
    with _ids_only("catch_up_school", f"school {sid}"):
        container = current_container()
        if _views_at_head(container, sid):
            # Coalescing: an earlier hint's catch-up already applied this command's events
            # (hints queue up per command under load). Nothing to apply, so nothing to mail.
            return
        mail_due = False

        def observe(batch: Batch) -> None:
            nonlocal mail_due
            mail_due = mail_due or calls_for_mail(batch)

        try:
            applied = school_views.catch_up_school(container, sid, observe=observe)
        except SchoolNotFound:
            log.warning("catch_up_school: school %s is not registered; message dropped", sid)
            return
    if applied:
        log.debug("caught up school %s: %d events", sid, applied)
    if mail_due:
        # Only when the new events may have made an e-mail due (a new report, a complaint, a
        # reminder): a note needs no mail job. Date-driven reminders are the mail sweep's.
        _send_mail_hint(sid)


def _views_at_head(container: Container, school_id: UUID) -> bool:
    """Whether every view of the school is already at its log's head — without the registry
    lookup, the view DDL and the mapper of a full catch-up (a few cheap reads). ``False``
    whenever in doubt (no log yet, no positions table, a view missing): then the full
    catch-up runs, as before."""
    schema = schema_name_for(school_id)
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
            (f'"{schema}"."{EVENTS_TABLE}"', f'"{schema}"."{POSITIONS}"'),
        ).fetchone()
        if row is None or not first(row):
            return False
        log_head = head(conn, schema)
        if log_head == 0:
            return False
        now = positions(conn, schema)
    return all(now.get(view.name, 0) >= log_head for view in ALL_VIEWS)


@dataclass
class SweepResult:
    schools: int = 0
    lagging: int = 0
    events: int = 0
    failed: int = 0


def needs_catch_up(container: Container, school: School) -> bool:
    """Whether any view of ``school`` is behind its log (two cheap reads, no DDL).

    Unlike :func:`infra.bootstrap.views.lag` this creates no view tables: a school with an empty
    log, of which a large platform has many, costs one query per sweep.
    """
    schema = school.schema_name
    with container.pool.connection() as conn:
        log_head = head(conn, schema)
        if log_head == 0:
            return False
        row = conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{POSITIONS}"',)).fetchone()
        if row is None or first(row) is None:
            return True
        now = positions(conn, schema)
    return any(now.get(view.name, 0) < log_head for view in ALL_VIEWS)


def sweep_schools(container: Container) -> SweepResult:
    """Catch up every school whose projections lag its log (runs the catch-ups here).

    The sweep does not depend on the broker, so it also converges while the broker is down.
    One school's failure is logged (ids only) and does not stop the others.
    """
    result = SweepResult()
    for school in container.registry.list_schools():
        result.schools += 1
        try:
            if needs_catch_up(container, school):
                result.lagging += 1
                result.events += school_views.catch_up_school(container, school.id)
        except Exception as e:
            result.failed += 1
            log.warning("sweep: catch-up of school %s failed: %s", school.id, type(e).__name__)
    if result.lagging or result.failed:
        log.info(
            "sweep: %d schools, %d lagging, %d events applied, %d failed",
            result.schools, result.lagging, result.events, result.failed,
        )  # fmt: skip
    return result


@job(queue=PROJECTIONS_QUEUE, max_retries=0, max_age=600_000)
def sweep() -> None:
    """:func:`sweep_schools` as a job (e.g. sent by an operator or an external scheduler)."""
    with _ids_only("sweep", "all schools"):
        sweep_schools(current_container())


# --- Mail: notifications from the outbox, aftercare reminders ------------------------------

#: The queue of e-mail jobs (broker name ``<namespace>.mail``).
MAIL_QUEUE = "mail"


def mail_school(container: Container, school_id: UUID, mailer: Mailer) -> int:
    """Send a school's pending notifications and due reminders (each exactly once)."""
    sent = deliver_notifications(container, school_id, mailer, now=datetime.now(UTC))
    today = datetime.now(SCHOOL_TZ).date()
    return sent + send_due_reminders(container, school_id, mailer, today=today)


@job(queue=MAIL_QUEUE, throws=(InvalidJob,))
def deliver_school_mail(school_id: str) -> None:
    """After a catch-up: e-mail what the school's new events call for."""
    sid = _school_id(school_id)
    with _ids_only("deliver_school_mail", f"school {sid}"):
        container = current_container()
        try:
            mail_school(container, sid, container.mailer)
        except SchoolNotFound:
            log.warning("deliver_school_mail: school %s is not registered; dropped", sid)


def mail_sweep(container: Container, mailer: Mailer | None = None) -> SweepResult:
    """Every school: pending notifications and due reminders (date-driven, so periodic).

    Safe to run as often as wanted: every e-mail is claimed once
    (``infra.bootstrap.notifications``).
    """
    result = SweepResult()
    mailer = mailer or container.mailer
    for school in container.registry.list_schools():
        result.schools += 1
        try:
            result.events += mail_school(container, school.id, mailer)
        except Exception as e:
            result.failed += 1
            log.warning("mail sweep: school %s failed: %s", school.id, type(e).__name__)
    return result


def _send_mail_hint(school_id: UUID) -> None:
    try:
        actor_for(deliver_school_mail).send(str(school_id))
    except Exception as e:  # the mail sweep sends it later
        log.warning("mail hint for school %s not sent: %s", school_id, type(e).__name__)


# --- Audit: checkpoints of the logs' hash chains -------------------------------------------


def checkpoint_sweep(container: Container) -> SweepResult:
    """Record the chain heads of the platform's and every school's log (and access log) that
    moved since their last checkpoint (:mod:`infra.adapters.audit.checkpoints`). ``events`` counts
    the
    checkpoints recorded; one log's failure is logged (ids only) and does not stop the others."""
    result = SweepResult()
    try:
        result.events += len(checkpoint_platform(container.pool))
    except Exception as e:
        result.failed += 1
        log.warning("checkpoint of the platform log failed: %s", type(e).__name__)
    for school in container.registry.list_schools():
        result.schools += 1
        try:
            result.events += len(checkpoint_school(container.pool, school))
        except Exception as e:
            result.failed += 1
            log.warning("checkpoint of school %s failed: %s", school.id, type(e).__name__)
    return result


@job(queue=PROJECTIONS_QUEUE, max_retries=0, max_age=600_000)
def checkpoint_chains() -> None:
    """:func:`checkpoint_sweep` as a job (for an operator or an external scheduler)."""
    with _ids_only("checkpoint_chains", "all logs"):
        checkpoint_sweep(current_container())


# --- Privacy: the daily retention run -------------------------------------------------------

#: Seconds between two retention runs of ``vangnet worker`` (the first runs at start).
RETENTION_SWEEP_SECONDS = 24 * 3600


def retention_sweep(container: Container, *, today: date | None = None) -> SweepResult:
    """The worker's daily run: :func:`infra.bootstrap.retention.expire_school` for every school, and
    the hand-over exports whose link expired (``ExportService.expire_due``).
    ``events`` counts the erased cases; one school's failure is logged (ids only) and does not
    stop the others."""
    day = today or datetime.now(UTC).date()
    result = SweepResult()
    for school in container.registry.list_schools():
        result.schools += 1
        try:
            result.events += len(expire_school(container, school.id, today=day).erased)
            # Hand-over exports whose receipt link expired: their files destroyed.
            result.events += container.handover_exports(school).expire_due(datetime.now(UTC))
        except Exception as e:
            result.failed += 1
            log.warning("retention run of school %s failed: %s", school.id, type(e).__name__)
    return result
