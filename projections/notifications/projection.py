"""Notifications view: what to tell whom, derived from the events only (DESIGN.md §4, §6).

Words:

- ``notification_outbox`` has one row per notification an event calls for: a new report (to the
  school's contact persons), a complaint filed at a level or escalated to the next level (to that
  level's addresses). Its key is ``<case id>:<version>`` of the event, so replaying the log gives
  the same keys.
- ``notification_reminders`` has one row per date somebody has to act on: an aftercare moment
  (``FollowUpScheduled``, key ``follow_up_id``) or the review of an agreement
  (``AgreementRecorded`` with ``review_on``, key ``agreement_id``), with the case owner's person
  id; or a step with a due date (``StepPlanned`` with ``due_on``, key ``step_id``), with the
  step's assignee (the case owner at planning when nobody was assigned; a later owner change does
  not move a step's reminder). ``owner_id`` is the person the reminder goes to.
  ``status`` is ``pending``, ``completed`` (the follow-up was recorded) or ``cancelled`` (the case
  was closed); reopening the case makes its cancelled reminders pending again.
- ``notification_cases`` keeps per case what the rows above need later: the owner, and whether
  the case is closed.

Rows hold ids, kinds, levels and dates only: never free text, never a pupil's name. Nothing here
reads the clock, so a rebuild gives the same rows. Whether a notification was SENT is not part of
this view: that is the ``notification_sent`` ledger (:data:`SENT_TABLE`), created beside the view
but never dropped, renamed or compared by a rebuild, so rebuilding the view resends nothing
(:mod:`infra.bootstrap.notifications`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL, Identifier

from projections.engine import Batch, Target, View
from services.casework.domain import Case

#: The ledger of claimed/sent notifications (school schema, never suffixed, never rebuilt).
SENT_TABLE = "notification_sent"


class OutboxKind(StrEnum):
    CASE_REPORTED = "case_reported"
    COMPLAINT_FILED = "complaint_filed"
    COMPLAINT_ESCALATED = "complaint_escalated"


class ReminderKind(StrEnum):
    FOLLOW_UP = "follow_up"  # nazorgmoment
    AGREEMENT_REVIEW = "agreement_review"  # evaluatie van afspraken
    STEP = "step"  # een stap met een uiterste datum (to its assignee)


class ReminderStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass
class CaseState:
    owner_id: str | None
    closed: bool


@dataclass
class Reminder:
    kind: str
    case_id: UUID
    owner_id: str | None
    due_on: date
    status: str


@dataclass(frozen=True)
class OutboxRow:
    key: str
    kind: str
    case_id: UUID
    complaint_id: UUID | None
    level: str | None
    occurred_at: datetime


def outbox_key(case_id: UUID, version: int) -> str:
    """The deterministic key of the notification an event calls for."""
    return f"{case_id}:{version}"


OUTBOX_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    notification_key text PRIMARY KEY,
    kind text NOT NULL,
    case_id uuid NOT NULL,
    complaint_id uuid,
    level text,
    occurred_at timestamptz NOT NULL
)"""

REMINDERS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    reminder_id uuid PRIMARY KEY,
    kind text NOT NULL,
    case_id uuid NOT NULL,
    owner_id text,
    due_on date NOT NULL,
    status text NOT NULL
)"""

CASES_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    case_id uuid PRIMARY KEY,
    owner_id text,
    closed boolean NOT NULL
)"""

SENT_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    notification_key text PRIMARY KEY,
    claimed_at timestamptz NOT NULL,
    sent_at timestamptz,
    attempts integer NOT NULL DEFAULT 1
)"""


class NotificationsView(View):
    """Outbox and reminder schedule of one school."""

    name = "notifications"
    school_tables = {
        "notification_outbox": OUTBOX_DDL,
        "notification_reminders": REMINDERS_DDL,
        "notification_cases": CASES_DDL,
    }

    def create(self, curs: Cursor[Any], target: Target) -> None:
        super().create(curs, target)
        # The ledger has no suffix: a rebuild (``_next``) or verification (``_verify``) shares
        # the live ledger, and drop/switch/compare only touch ``school_tables``.
        curs.execute(SQL(SENT_DDL).format(table=Identifier(target.schema, SENT_TABLE)))
        # No secondary indexes: per school these tables hold a few thousand rows at most, and
        # index names are schema-wide, so they would not follow the tables through a switch.

    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        ids = sorted({e.originator_id for _, e in batch})
        cases = self._load_cases(curs, target, ids)
        reminders = self._load_reminders(curs, target, ids)
        touched: set[UUID] = set()
        outbox: list[OutboxRow] = []
        for _, event in batch:
            apply(event, cases, reminders, outbox, touched)
        if cases:
            curs.executemany(
                SQL(
                    "INSERT INTO {} (case_id, owner_id, closed) VALUES (%s, %s, %s)"
                    " ON CONFLICT (case_id) DO UPDATE SET owner_id = excluded.owner_id,"
                    " closed = excluded.closed"
                ).format(target.table("notification_cases")),
                [(case_id, c.owner_id, c.closed) for case_id, c in cases.items()],
            )
        if touched:
            curs.executemany(
                SQL(
                    "INSERT INTO {} (reminder_id, kind, case_id, owner_id, due_on, status)"
                    " VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (reminder_id) DO UPDATE SET owner_id = excluded.owner_id,"
                    " status = excluded.status"
                ).format(target.table("notification_reminders")),
                [
                    (rid, r.kind, r.case_id, r.owner_id, r.due_on, r.status)
                    for rid, r in sorted(reminders.items())
                    if rid in touched
                ],
            )
        if outbox:
            curs.executemany(
                SQL(
                    "INSERT INTO {} (notification_key, kind, case_id, complaint_id, level,"
                    " occurred_at) VALUES (%s, %s, %s, %s, %s, %s)"
                ).format(target.table("notification_outbox")),
                [
                    (o.key, o.kind, o.case_id, o.complaint_id, o.level, o.occurred_at)
                    for o in outbox
                ],
            )

    @staticmethod
    def _load_cases(curs: Cursor[Any], target: Target, ids: list[UUID]) -> dict[UUID, CaseState]:
        curs.execute(
            SQL("SELECT case_id, owner_id, closed FROM {} WHERE case_id = ANY(%s)").format(
                target.table("notification_cases")
            ),
            (ids,),
        )
        return {r[0]: CaseState(owner_id=r[1], closed=r[2]) for r in (_tuple(x) for x in curs)}

    @staticmethod
    def _load_reminders(curs: Cursor[Any], target: Target, ids: list[UUID]) -> dict[UUID, Reminder]:
        curs.execute(
            SQL(
                "SELECT reminder_id, kind, case_id, owner_id, due_on, status FROM {}"
                " WHERE case_id = ANY(%s)"
            ).format(target.table("notification_reminders")),
            (ids,),
        )
        return {
            r[0]: Reminder(kind=r[1], case_id=r[2], owner_id=r[3], due_on=r[4], status=r[5])
            for r in (_tuple(x) for x in curs)
        }


def _tuple(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def apply(
    event: Any,
    cases: dict[UUID, CaseState],
    reminders: dict[UUID, Reminder],
    outbox: list[OutboxRow],
    touched: set[UUID],
) -> None:
    """How one event changes the view's rows (pure: no clock, no lookups)."""
    case_id: UUID = event.originator_id
    key = outbox_key(case_id, event.originator_version)
    if isinstance(event, Case.CaseReported):
        cases[case_id] = CaseState(owner_id=event.owner_id, closed=False)
        outbox.append(
            OutboxRow(key, OutboxKind.CASE_REPORTED, case_id, None, None, event.timestamp)
        )
        return
    case = cases.get(case_id)
    assert case is not None, f"event {type(event).__name__} before the case was reported"

    def of_case() -> list[UUID]:
        return [rid for rid, r in reminders.items() if r.case_id == case_id]

    if isinstance(event, Case.OwnerAssigned):
        case.owner_id = event.owner_id
        for rid in of_case():
            if reminders[rid].kind != ReminderKind.STEP:
                reminders[rid].owner_id = event.owner_id
                touched.add(rid)
    elif isinstance(event, Case.StepPlanned) and event.due_on is not None:
        reminders[event.step_id] = Reminder(
            ReminderKind.STEP,
            case_id,
            event.assignee_id or case.owner_id,
            event.due_on,
            ReminderStatus.PENDING,
        )
        touched.add(event.step_id)
    elif isinstance(event, Case.StepCompleted | Case.StepCancelled):
        if event.step_id in reminders:
            done = isinstance(event, Case.StepCompleted)
            reminders[event.step_id].status = (
                ReminderStatus.COMPLETED if done else ReminderStatus.CANCELLED
            )
            touched.add(event.step_id)
    elif isinstance(event, Case.FollowUpScheduled):
        reminders[event.follow_up_id] = Reminder(
            ReminderKind.FOLLOW_UP, case_id, case.owner_id, event.due_on, ReminderStatus.PENDING
        )
        touched.add(event.follow_up_id)
    elif isinstance(event, Case.AgreementRecorded) and event.review_on is not None:
        reminders[event.agreement_id] = Reminder(
            ReminderKind.AGREEMENT_REVIEW,
            case_id,
            case.owner_id,
            event.review_on,
            ReminderStatus.PENDING,
        )
        touched.add(event.agreement_id)
    elif isinstance(event, Case.FollowUpCompleted):
        reminders[event.follow_up_id].status = ReminderStatus.COMPLETED
        touched.add(event.follow_up_id)
    elif isinstance(event, Case.CaseClosed):
        case.closed = True
        _move(reminders, of_case(), ReminderStatus.PENDING, ReminderStatus.CANCELLED, touched)
    elif isinstance(event, Case.CaseReopened):
        case.closed = False
        _move(reminders, of_case(), ReminderStatus.CANCELLED, ReminderStatus.PENDING, touched)
    elif isinstance(event, Case.ComplaintFiled):
        outbox.append(
            OutboxRow(
                key, OutboxKind.COMPLAINT_FILED, case_id, event.complaint_id, event.level,
                event.timestamp,
            )
        )  # fmt: skip
    elif isinstance(event, Case.ComplaintEscalated):
        outbox.append(
            OutboxRow(
                key, OutboxKind.COMPLAINT_ESCALATED, case_id, event.complaint_id, event.to_level,
                event.timestamp,
            )
        )  # fmt: skip


#: The events after which an e-mail may be due: they add an outbox row, add or reopen a reminder,
#: or change whom a reminder goes to. Every other event (a note, a closed case, a completed
#: follow-up) can only leave the e-mails due as they were, or make fewer due.
MAIL_EVENTS: tuple[type, ...] = (
    Case.CaseReported,
    Case.OwnerAssigned,
    Case.StepPlanned,  # a step's due date (its assignee's reminder) may be today already
    Case.FollowUpScheduled,
    Case.AgreementRecorded,
    Case.CaseReopened,
    Case.ComplaintFiled,
    Case.ComplaintEscalated,
)


def calls_for_mail(batch: Batch) -> bool:
    """Whether applying ``batch`` may have made an e-mail due (the mail job has work)."""
    return any(isinstance(event, MAIL_EVENTS) for _, event in batch)


def _move(
    reminders: dict[UUID, Reminder],
    rids: list[UUID],
    from_status: str,
    to_status: str,
    touched: set[UUID],
) -> None:
    for rid in rids:
        if reminders[rid].status == from_status:
            reminders[rid].status = to_status
            touched.add(rid)
