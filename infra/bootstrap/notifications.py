"""Sending the notifications view's e-mails exactly once (DESIGN.md §6).

The worker calls, per school (after catching its projections up):

- :func:`deliver_notifications` — the outbox: a new report (to the contact persons), a complaint
  filed at or escalated to a level (management, board; for the klachtencommissie: the school's
  management, who forward it);
- :func:`send_due_reminders` — aftercare moments and agreement reviews due within
  ``VANGNET_REMINDER_DAYS`` days (to the case owner), and once per follow-up a "nazorg te laat"
  e-mail to the anti-bullying coordinators when its date passed without a recorded result.

Exactly once, with the ``notification_sent`` ledger (school schema, keyed by the deterministic
notification key ``outbox:<case id>:<version>``, ``reminder:<id>``, ``overdue:<follow-up id>``):

1. **claim**: ``INSERT … ON CONFLICT DO UPDATE … WHERE <claim expired> RETURNING`` in its own
   committed statement; only the worker that gets the row back goes on. A redelivered message, a
   second run or a second worker finds the claim and does nothing.
2. **send** (no transaction, no connection held while talking SMTP);
3. **mark** ``sent_at``.

If sending raises, the claim is released at once (the e-mail was not accepted), the other
notifications still go out, and the call raises :class:`DeliveryFailed` at the end so the job is
retried. If the process dies between claim and mark, the claim stays and is taken over after
:data:`CLAIM_LEASE` (15 minutes): a crash right after the SMTP server accepted the message but
before the mark is the one case in which an e-mail can go out twice; a lost e-mail is not
possible.

The ledger is not part of the view: rebuilding or verifying the view never touches it, and since
the rebuilt rows have the same keys, delivery after a rebuild sends nothing new. Outbox rows
older than :data:`OUTBOX_MAX_AGE` are not sent, so creating the view on a school with history
does not mail about old reports. Reminders are sent while the due date is at most
``reminder_days_before`` days ahead and not yet passed (the daily job has that many retries).

Recipients: a reminder goes to the person whose date it is (the case owner for aftercare and
agreement reviews, the assignee for a step), at their e-mail address in the school's staff
directory (:func:`person_addresses`); only when that person has none (unknown, deactivated, no
address in their claims or SCIM record) it goes to the school's contact persons. Everything else
goes to the school's ``notification_contacts`` (registry, ``ContactsConfigured``). A
notification without any address is left pending (logged), and goes out once addresses are
configured (within the limits above). No e-mail names a pupil or holds free text of a case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier

from infra.adapters.mail import (
    MailContext,
    Mailer,
    MailText,
    complaint_text,
    mailer_from_settings,
    new_report_text,
    overdue_text,
    reminder_text,
)
from infra.adapters.people.store import PostgresPeopleStore
from infra.bootstrap.container import Container
from infra.bootstrap.views import ensure_school_views
from projections.engine import Target
from projections.notifications.projection import (
    SENT_TABLE,
    OutboxKind,
    ReminderKind,
    ReminderStatus,
)
from services.casework.vocabulary import ComplaintLevel

log = logging.getLogger(__name__)

#: A claim older than this without ``sent_at`` is considered crashed and may be taken over.
CLAIM_LEASE = timedelta(minutes=15)
#: Outbox notifications older than this (by their event's time) are never sent.
OUTBOX_MAX_AGE = timedelta(days=7)

__all__ = [
    "CLAIM_LEASE",
    "OUTBOX_MAX_AGE",
    "Contacts",
    "DeliveryFailed",
    "deliver_notifications",
    "mailer_from_settings",
    "send_due_reminders",
]


class DeliveryFailed(RuntimeError):
    """Some e-mails could not be sent (their claims were released: a retry sends them)."""


@dataclass(frozen=True)
class Contacts:
    """A school's notification addresses (from the registry's ``notification_contacts``)."""

    contact_person_emails: tuple[str, ...] = ()
    coordinator_emails: tuple[str, ...] = ()
    management_emails: tuple[str, ...] = ()
    board_emails: tuple[str, ...] = ()

    @classmethod
    def of_school(cls, school: object) -> Contacts:
        """Read ``school.notification_contacts`` (an object or a mapping; missing: none)."""
        raw = getattr(school, "notification_contacts", None)
        if raw is None:
            return cls()

        def field(name: str) -> tuple[str, ...]:
            value = raw.get(name) if isinstance(raw, Mapping) else getattr(raw, name, None)
            if not value:
                return ()
            values = [value] if isinstance(value, str) else list(value)
            return tuple(sorted({str(v).strip() for v in values if str(v).strip()}))

        return cls(
            contact_person_emails=field("contact_person_emails"),
            coordinator_emails=field("coordinator_emails"),
            management_emails=field("management_emails"),
            board_emails=field("board_emails"),
        )

    def for_level(self, level: ComplaintLevel) -> tuple[str, ...]:
        """Who receives a complaint at ``level`` (the committee's go via management)."""
        if level is ComplaintLevel.BOARD:
            return self.board_emails
        return self.management_emails


def person_addresses(
    email_of: Callable[[str], str], contacts: Contacts, person_id: str | None
) -> tuple[str, ...]:
    """Where a reminder for ``person_id`` goes: their address in the staff directory
    (``email_of``), else the school's contact persons."""
    email = email_of(person_id) if person_id else ""
    return (email,) if email else contacts.contact_person_emails


@dataclass(frozen=True)
class _Pending:
    key: str
    kind: str
    to: tuple[str, ...]
    text: MailText


# --- the entry points the worker calls -------------------------------------------------------


def deliver_notifications(
    container: Container, school_id: UUID, mailer: Mailer, *, now: datetime
) -> int:
    """Send the school's outbox notifications not sent yet; returns how many e-mails went out."""
    if now.tzinfo is None:
        msg = "now must be timezone-aware"
        raise ValueError(msg)
    target, ctx, contacts = _school(container, school_id)
    rows = _fetch(
        container,
        SQL(
            "SELECT o.notification_key, o.kind, o.case_id, o.level FROM {outbox} o"
            " LEFT JOIN {sent} s ON s.notification_key = 'outbox:' || o.notification_key"
            " WHERE o.occurred_at >= %(since)s AND {open_claim}"
            " ORDER BY o.occurred_at, o.notification_key"
        ),
        target,
        {"since": now - OUTBOX_MAX_AGE},
    )
    pending = []
    for r in rows:
        kind = OutboxKind(r["kind"])
        if kind is OutboxKind.CASE_REPORTED:
            to = contacts.contact_person_emails
            text = new_report_text(ctx, r["case_id"])
        else:
            level = ComplaintLevel(r["level"])
            to = contacts.for_level(level)
            text = complaint_text(
                ctx, r["case_id"], level, escalated=kind is OutboxKind.COMPLAINT_ESCALATED
            )
        pending.append(_Pending("outbox:" + r["notification_key"], kind, to, text))
    return _deliver_all(container, target, mailer, pending)


def send_due_reminders(
    container: Container, school_id: UUID, mailer: Mailer, *, today: date
) -> int:
    """Send the reminders due ``today`` and the overdue-aftercare e-mails; returns how many."""
    target, ctx, contacts = _school(container, school_id)
    school = container.registry.school(school_id)
    people = PostgresPeopleStore(container.schools.get(school_id), school_id, school.schema_name)
    days = container.settings.reminder_days_before
    pending = []
    upcoming = _fetch(
        container,
        SQL(
            "SELECT o.reminder_id, o.kind, o.case_id, o.owner_id, o.due_on FROM {reminders} o"
            " LEFT JOIN {sent} s ON s.notification_key = 'reminder:' || o.reminder_id"
            " WHERE o.status = %(pending)s AND o.due_on BETWEEN %(today)s AND %(last)s"
            " AND {open_claim} ORDER BY o.due_on, o.reminder_id"
        ),
        target,
        {"pending": ReminderStatus.PENDING.value, "today": today,
         "last": today + timedelta(days=days)},
    )  # fmt: skip
    for r in upcoming:
        kind = ReminderKind(r["kind"])
        pending.append(
            _Pending(
                f"reminder:{r['reminder_id']}",
                f"reminder_{kind}",
                person_addresses(people.email, contacts, r["owner_id"]),
                reminder_text(ctx, r["case_id"], kind, r["due_on"], today=today),
            )
        )
    overdue = _fetch(
        container,
        SQL(
            "SELECT o.reminder_id, o.case_id, o.due_on FROM {reminders} o"
            " LEFT JOIN {sent} s ON s.notification_key = 'overdue:' || o.reminder_id"
            " WHERE o.kind = %(follow_up)s AND o.status = %(pending)s AND o.due_on < %(today)s"
            " AND {open_claim} ORDER BY o.due_on, o.reminder_id"
        ),
        target,
        {"follow_up": ReminderKind.FOLLOW_UP.value, "pending": ReminderStatus.PENDING.value,
         "today": today},
    )  # fmt: skip
    for r in overdue:
        pending.append(
            _Pending(
                f"overdue:{r['reminder_id']}",
                "follow_up_overdue",
                contacts.coordinator_emails,
                overdue_text(ctx, r["case_id"], r["due_on"]),
            )
        )
    return _deliver_all(container, target, mailer, pending)


# --- claim, send, mark ----------------------------------------------------------------------


def _school(container: Container, school_id: UUID) -> tuple[Target, MailContext, Contacts]:
    school = container.registry.school(school_id)
    target = ensure_school_views(container, school_id)
    ctx = MailContext(public_url=container.settings.public_url, school_slug=school.slug)
    return target, ctx, Contacts.of_school(school)


def _fetch(
    container: Container, query: SQL, target: Target, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows of the live view whose ledger entry is absent or an expired, unsent claim."""
    params = {**params, "lease": CLAIM_LEASE}
    open_claim = SQL(
        "(s.notification_key IS NULL OR (s.sent_at IS NULL AND s.claimed_at < now() - %(lease)s))"
    )
    with container.pool.connection() as conn:
        rows = conn.execute(
            query.format(
                outbox=target.table("notification_outbox"),
                reminders=target.table("notification_reminders"),
                sent=_sent(target),
                open_claim=open_claim,
            ),
            params,
        ).fetchall()
    return [dict(r) for r in rows]


def _sent(target: Target) -> Identifier:
    return Identifier(target.schema, SENT_TABLE)


def _deliver_all(
    container: Container, target: Target, mailer: Mailer, pending: Sequence[_Pending]
) -> int:
    sent = 0
    failures: list[BaseException] = []
    without_address = 0
    for item in pending:
        if not item.to:
            without_address += 1
            continue
        try:
            if _deliver_one(container, target, mailer, item):
                sent += 1
        except Exception as e:  # one failing e-mail must not hold up the others
            log.warning("e-mail %s (%s) failed: %s", item.kind, item.key, type(e).__name__)
            failures.append(e)
    if without_address:
        log.info(
            "%d notification(s) of school schema %s wait for addresses (notification contacts)",
            without_address,
            target.schema,
        )
    if failures:
        msg = f"{len(failures)} e-mail(s) of school schema {target.schema} failed; will retry"
        raise DeliveryFailed(msg) from failures[0]
    return sent


def _deliver_one(container: Container, target: Target, mailer: Mailer, item: _Pending) -> bool:
    if not _claim(container, target, item.key):
        return False  # another worker has it, or it was sent meanwhile
    try:
        mailer.send(list(item.to), item.text.subject, item.text.body)
    except BaseException:
        _release(container, target, item.key)
        raise
    with container.pool.connection() as conn:
        conn.execute(
            SQL("UPDATE {} SET sent_at = now() WHERE notification_key = %s").format(_sent(target)),
            (item.key,),
        )
    log.info("e-mail %s sent (%s) to %d recipient(s)", item.kind, item.key, len(item.to))
    return True


def _claim(container: Container, target: Target, key: str) -> bool:
    """Take the notification (committed before sending); False if someone else holds it."""
    with container.pool.connection() as conn:
        # The database's clock (the same for every worker), read first and bound: a distributed
        # schema (Citus) accepts only immutable expressions in ON CONFLICT … WHERE.
        clock = conn.execute("SELECT now() AS now").fetchone()
        assert clock is not None
        now = clock["now"]
        row = conn.execute(
            SQL(
                "INSERT INTO {sent} AS s (notification_key, claimed_at) VALUES (%s, %s)"
                " ON CONFLICT (notification_key) DO UPDATE SET claimed_at = excluded.claimed_at,"
                " attempts = s.attempts + 1"
                " WHERE s.sent_at IS NULL AND s.claimed_at < %s"
                " RETURNING s.notification_key"
            ).format(sent=_sent(target)),
            (key, now, now - CLAIM_LEASE),
        ).fetchone()
    return row is not None


def _release(container: Container, target: Target, key: str) -> None:
    with container.pool.connection() as conn:
        conn.execute(
            SQL("DELETE FROM {} WHERE notification_key = %s AND sent_at IS NULL").format(
                _sent(target)
            ),
            (key,),
        )
