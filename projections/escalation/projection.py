"""Escalation view: per case, what the signals and the complaint ladder need (school schema).

Words: ``escalation_cases`` has one row per case: status, report time, intake day, the highest
complaint level and every complaint's level and status, the open follow-ups with their due days,
the planned steps waiting for consent, whether an offence was flagged without police advice, and
the last activity. ``state`` is the JSON the row is evolved from (consents, steps, follow-ups,
complaints), kept so a batch can continue where the last one stopped; it also holds
``bullying_continues_since``: the (Dutch) day on which the latest aftercare found that the
bullying had NOT stopped, until new aftercare is scheduled after that finding or the case is
reopened (None otherwise), and ``inspectie_report_due``: the day the report of a serious
incident to the Inspectie is due, until that report is recorded (None otherwise). They live in
``state`` rather than in a column of its own, so views
built before it existed keep working; a rebuild (``vangnet projections rebuild``) fills it in.
``uninformed_since`` (also in ``state``, the same way) is the day of the first step planned,
engaged, completed or cancelled, or agreement recorded, after the last contact with the pupil or
the parents (``ContactRecorded``; None when they were told of everything).
``public_report_waiting_since`` (``state`` too) is the day a report came in through the public
form (``ReporterAccessIssued``) until an owner is assigned or the intake held;
``reporter_message_waiting_since`` the day of the reporter's oldest message the school has not
answered (``ReporterMessagePosted``).

No free text is kept (no summaries, outcomes or reasons), and nothing derived from the clock:
"overdue" and "inactive" are decided at query time from ``today``
(:mod:`projections.escalation.queries`), so replay equals live.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL
from psycopg.types.json import Jsonb

from projections.engine import Batch, Handlers, Target, View
from services.casework import rules
from services.casework.domain import Case
from services.casework.protocol import local_date
from services.casework.rules import RecordedConsent
from services.casework.vocabulary import CaseStatus, ComplaintLevel

Row = dict[str, Any]
HANDLERS = Handlers()
on = HANDLERS.on


def new_row(event: Case.CaseReported) -> Row:
    return {
        "status": CaseStatus.REPORTED.value,
        "reported_at": event.timestamp.isoformat(),
        "intake_on": None,
        "consents": {},  # consent id -> {"covers": [...], "withdrawn": bool}
        "steps": {},  # step id -> {"kind": ..., "status": planned|completed|cancelled}
        "offence_flagged": False,
        "police_advised": False,
        "follow_ups": {},  # follow-up id -> {"due_on": iso date, "completed": bool}
        # complaint id -> {"level": ..., "status": open|decided|withdrawn, "filed_version": n}
        "complaints": {},
        "closed_at": None,
        "bullying_continues_since": None,  # iso day of the latest aftercare that found it going on
        # iso day of the first step or agreement that pupil and parents were not told of since
        "uninformed_since": None,
    }


def _changed(row: Row, e: Case.Event) -> None:
    """A step was taken or an agreement changed: pupil and parents are to be told."""
    if row.get("uninformed_since") is None:
        row["uninformed_since"] = local_date(e.timestamp).isoformat()


@on(Case.ContactRecorded)
def _contact(row: Row, e: Case.ContactRecorded) -> None:
    row["uninformed_since"] = None


@on(Case.ReporterAccessIssued)
def _public_report(row: Row, e: Case.ReporterAccessIssued) -> None:
    # A report through the public form waits until someone picks it up (an owner or an intake).
    row["public_report_waiting_since"] = local_date(e.timestamp).isoformat()


@on(Case.OwnerAssigned)
def _owner(row: Row, e: Case.OwnerAssigned) -> None:
    row["public_report_waiting_since"] = None


@on(Case.ReporterMessagePosted)
def _reporter_message(row: Row, e: Case.ReporterMessagePosted) -> None:
    if e.sender == "school":
        row["reporter_message_waiting_since"] = None
    elif row.get("reporter_message_waiting_since") is None:
        row["reporter_message_waiting_since"] = local_date(e.timestamp).isoformat()


@on(Case.AgreementRecorded)
def _agreement(row: Row, e: Case.AgreementRecorded) -> None:
    _changed(row, e)


@on(Case.PersonEngaged)
def _engaged(row: Row, e: Case.PersonEngaged) -> None:
    _changed(row, e)


@on(Case.IntakeHeld)
def _intake(row: Row, e: Case.IntakeHeld) -> None:
    row["public_report_waiting_since"] = None
    row["intake_on"] = e.held_on.isoformat()
    row["status"] = CaseStatus.IN_PROGRESS.value


@on(Case.ConsentGiven)
def _consent(row: Row, e: Case.ConsentGiven) -> None:
    row["consents"][str(e.consent_id)] = {"covers": sorted(e.covers), "withdrawn": False}


@on(Case.ConsentWithdrawn)
def _consent_withdrawn(row: Row, e: Case.ConsentWithdrawn) -> None:
    row["consents"][str(e.consent_id)]["withdrawn"] = True


@on(Case.StepPlanned)
def _step(row: Row, e: Case.StepPlanned) -> None:
    row["steps"][str(e.step_id)] = {"kind": e.kind, "status": "planned"}
    _changed(row, e)


@on(Case.StepCompleted)
def _step_completed(row: Row, e: Case.StepCompleted) -> None:
    row["steps"][str(e.step_id)]["status"] = "completed"
    _changed(row, e)


@on(Case.StepCancelled)
def _step_cancelled(row: Row, e: Case.StepCancelled) -> None:
    row["steps"][str(e.step_id)]["status"] = "cancelled"
    _changed(row, e)


@on(Case.CriminalOffenceFlagged)
def _offence(row: Row, e: Case.CriminalOffenceFlagged) -> None:
    row["offence_flagged"] = True


@on(Case.PoliceReportAdvised)
def _police(row: Row, e: Case.PoliceReportAdvised) -> None:
    row["police_advised"] = True


@on(Case.FollowUpScheduled)
def _follow_up(row: Row, e: Case.FollowUpScheduled) -> None:
    row["follow_ups"][str(e.follow_up_id)] = {"due_on": e.due_on.isoformat(), "completed": False}
    # New aftercare after a finding that the bullying goes on answers it: someone will check
    # again (and an overdue check is a signal of its own).
    row["bullying_continues_since"] = None


@on(Case.FollowUpCompleted)
def _follow_up_done(row: Row, e: Case.FollowUpCompleted) -> None:
    row["follow_ups"][str(e.follow_up_id)]["completed"] = True
    # The latest aftercare decides, as it does for closing (invariant 4).
    row["bullying_continues_since"] = (
        None if e.bullying_stopped else local_date(e.timestamp).isoformat()
    )


@on(Case.ComplaintFiled)
def _complaint(row: Row, e: Case.ComplaintFiled) -> None:
    row["complaints"][str(e.complaint_id)] = {
        "level": e.level, "status": "open", "filed_version": e.originator_version,
    }  # fmt: skip


@on(Case.ComplaintEscalated)
def _complaint_escalated(row: Row, e: Case.ComplaintEscalated) -> None:
    row["complaints"][str(e.complaint_id)].update(level=e.to_level, status="open")


@on(Case.ComplaintDecided)
def _complaint_decided(row: Row, e: Case.ComplaintDecided) -> None:
    row["complaints"][str(e.complaint_id)]["status"] = "decided"


@on(Case.ComplaintWithdrawn)
def _complaint_withdrawn(row: Row, e: Case.ComplaintWithdrawn) -> None:
    row["complaints"][str(e.complaint_id)]["status"] = "withdrawn"


@on(Case.SeriousIncidentMarked)
def _serious_incident(row: Row, e: Case.SeriousIncidentMarked) -> None:
    # Kept in ``state`` (no column): views built before it keep working; a rebuild fills it in.
    row["inspectie_report_due"] = e.report_due_on.isoformat()


@on(Case.InspectieReportRecorded)
def _inspectie_reported(row: Row, e: Case.InspectieReportRecorded) -> None:
    row["inspectie_report_due"] = None


@on(Case.CaseClosed)
def _closed(row: Row, e: Case.CaseClosed) -> None:
    row.update(status=CaseStatus.CLOSED.value, closed_at=e.timestamp.isoformat())


@on(Case.CaseReopened)
def _reopened(row: Row, e: Case.CaseReopened) -> None:
    row.update(
        status=CaseStatus.IN_PROGRESS.value if row["intake_on"] else CaseStatus.REPORTED.value,
        closed_at=None,
        # A reopened case needs fresh aftercare anyway: the old findings no longer count.
        bullying_continues_since=None,
    )


def evolve(row: Row | None, event: Any) -> Row:
    """The escalation row after ``event`` (pure: the same events always give the same row)."""
    if isinstance(event, Case.CaseReported):
        row = new_row(event)
    else:
        assert row is not None, f"event {type(event).__name__} before the case was reported"
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(row, event)
    row["version"] = event.originator_version
    row["last_activity_at"] = event.timestamp.isoformat()
    return row


# --- derived values (shared with the queries) -------------------------------------------------


def complaint_level(row: Row) -> str | None:
    """The highest level any complaint of the case reached (None: no complaint)."""
    levels = [ComplaintLevel(c["level"]) for c in row["complaints"].values()]
    return max(levels, key=lambda level: level.rank).value if levels else None


def open_follow_up_dues(row: Row) -> list[str]:
    """Due days (ISO) of the follow-ups not yet recorded, earliest first."""
    return sorted(f["due_on"] for f in row["follow_ups"].values() if not f["completed"])


def covered_kinds(row: Row) -> frozenset[str]:
    """Step kinds covered by a consent that was not withdrawn (the write side's rule)."""
    return rules.covered_kinds(RecordedConsent.of(c) for c in row["consents"].values())


def waiting_step_kinds(row: Row) -> list[str]:
    """Kinds of planned steps no longer covered by a consent (e.g. after ConsentWithdrawn)."""
    covered = covered_kinds(row)
    return sorted({s["kind"] for s in row["steps"].values() if s["status"] == "planned"} - covered)


def waiting_step_count(row: Row) -> int:
    covered = covered_kinds(row)
    return sum(
        1 for s in row["steps"].values() if s["status"] == "planned" and s["kind"] not in covered
    )


ESCALATION_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    case_id uuid PRIMARY KEY,
    status text NOT NULL,
    reported_at timestamptz NOT NULL,
    intake_on date,
    complaint_level text,
    open_complaints integer NOT NULL,
    next_follow_up_due date,
    open_follow_up_dues date[] NOT NULL,
    waiting_step_kinds text[] NOT NULL,
    waiting_steps integer NOT NULL,
    offence_flagged boolean NOT NULL,
    police_advised boolean NOT NULL,
    last_activity_at timestamptz NOT NULL,
    closed_at timestamptz,
    version integer NOT NULL,
    state jsonb NOT NULL
)"""


class EscalationView(View):
    """Escalation status and the inputs of the signals, per case of one school."""

    name = "escalation"
    school_tables = {"escalation_cases": ESCALATION_DDL}

    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        ids = sorted({e.originator_id for _, e in batch})
        curs.execute(
            SQL("SELECT case_id, state FROM {} WHERE case_id = ANY(%s)").format(
                target.table("escalation_cases")
            ),
            (ids,),
        )
        rows: dict[UUID, Row] = {}
        for r in curs.fetchall():
            case_id, state = (r["case_id"], r["state"]) if isinstance(r, dict) else r
            rows[case_id] = state if isinstance(state, dict) else json.loads(state)
        touched: set[UUID] = set()
        for _, event in batch:
            if not isinstance(event, Case.Event):
                continue  # not a case event (the log holds cases only, but be strict)
            rows[event.originator_id] = evolve(rows.get(event.originator_id), event)
            touched.add(event.originator_id)
        if not touched:
            return
        curs.executemany(
            SQL(
                "INSERT INTO {} (case_id, status, reported_at, intake_on, complaint_level,"
                " open_complaints, next_follow_up_due, open_follow_up_dues, waiting_step_kinds,"
                " waiting_steps, offence_flagged, police_advised, last_activity_at, closed_at,"
                " version, state)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (case_id) DO UPDATE SET status = excluded.status,"
                " intake_on = excluded.intake_on, complaint_level = excluded.complaint_level,"
                " open_complaints = excluded.open_complaints,"
                " next_follow_up_due = excluded.next_follow_up_due,"
                " open_follow_up_dues = excluded.open_follow_up_dues,"
                " waiting_step_kinds = excluded.waiting_step_kinds,"
                " waiting_steps = excluded.waiting_steps,"
                " offence_flagged = excluded.offence_flagged,"
                " police_advised = excluded.police_advised,"
                " last_activity_at = excluded.last_activity_at, closed_at = excluded.closed_at,"
                " version = excluded.version, state = excluded.state"
            ).format(target.table("escalation_cases")),
            [_columns(case_id, rows[case_id]) for case_id in sorted(touched)],
        )


def _columns(case_id: UUID, row: Row) -> tuple[Any, ...]:
    dues = [date.fromisoformat(d) for d in open_follow_up_dues(row)]
    return (
        case_id,
        row["status"],
        datetime.fromisoformat(row["reported_at"]),
        date.fromisoformat(row["intake_on"]) if row["intake_on"] else None,
        complaint_level(row),
        sum(1 for c in row["complaints"].values() if c["status"] == "open"),
        dues[0] if dues else None,
        dues,
        waiting_step_kinds(row),
        waiting_step_count(row),
        row["offence_flagged"],
        row["police_advised"],
        datetime.fromisoformat(row["last_activity_at"]),
        datetime.fromisoformat(row["closed_at"]) if row["closed_at"] else None,
        row["version"],
        Jsonb(row),
    )
