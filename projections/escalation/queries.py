"""Signals and escalation status of a school's cases, read from the escalation view (asyncpg).

Signals are decided here, at query time, from ``today`` and the school's protocol; the view's
rows hold only what the events say (see :mod:`projections.escalation.projection`). Signals are
raised for open cases only: a closed case needs no action (reopen it to act again) — except
``inspectie_report_due``, which stays on a closed case until the report is recorded (closing the
case does not report the serious incident, and the report can be recorded on a closed case).

=============================== ====================================================================
kind                            raised when (for an open case)
=============================== ====================================================================
``aftercare_overdue``           a follow-up (nazorg) is not recorded and its due day has passed
``bullying_continues``          the latest aftercare found that the bullying had not stopped, and no
                                new aftercare was scheduled after that finding ("pesten gaat door":
                                plan new steps and new aftercare; the new aftercare clears it, as
                                only aftercare can find that the bullying stopped and let the case
                                close as resolved)
``intake_overdue``              no intake, and the protocol's intake deadline (school days from the
                                day of the report) has passed
``steps_waiting_for_consent``   a planned step's kind is not covered by a consent that was not
                                withdrawn (e.g. after ``ConsentWithdrawn``)
``offence_without_police_advice`` a criminal offence was flagged and no police report advised
``inactive``                    nothing was recorded on the case for ``inactivity_days`` days
``not_informed``                a step was planned, engaged, completed or cancelled, or an agreement
                                recorded, and no contact with the pupil or the parents was recorded
                                since (seed: nothing happens without the pupil knowing)
``inspectie_report_due``        the case was marked a serious incident and its report to the
                                Inspectie is not recorded yet (raised from the marking on: it
                                is due; ``due_on`` says by when), also when the case is closed
``public_report_waiting``       a report came in through the public form and nobody picked it up
                                yet (no owner assigned, no intake held)
``reporter_message_waiting``    the reporter of a public report wrote and the school did not answer
=============================== ====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg

from projections.db import table
from services.casework.protocol import SCHOOL_TZ, ProtocolChecklist, add_school_days, local_date
from services.casework.vocabulary import LABELS_NL, ComplaintLevel
from services.shared.errors import InvalidInput

TABLE = "escalation_cases"
DEFAULT_INACTIVITY_DAYS = 14


class SignalKind(StrEnum):
    AFTERCARE_OVERDUE = "aftercare_overdue"
    BULLYING_CONTINUES = "bullying_continues"
    INTAKE_OVERDUE = "intake_overdue"
    STEPS_WAITING_FOR_CONSENT = "steps_waiting_for_consent"
    OFFENCE_WITHOUT_POLICE_ADVICE = "offence_without_police_advice"
    INACTIVE = "inactive"
    NOT_INFORMED = "not_informed"
    INSPECTIE_REPORT_DUE = "inspectie_report_due"
    PUBLIC_REPORT_WAITING = "public_report_waiting"
    REPORTER_MESSAGE_WAITING = "reporter_message_waiting"


SIGNAL_LABELS_NL: dict[SignalKind, str] = {
    SignalKind.AFTERCARE_OVERDUE: "Nazorg over de datum",
    SignalKind.BULLYING_CONTINUES: "Pesten gaat door",
    SignalKind.INTAKE_OVERDUE: "Geen intakegesprek binnen de termijn van het protocol",
    SignalKind.STEPS_WAITING_FOR_CONSENT: "Stappen wachten op toestemming van de leerling",
    SignalKind.OFFENCE_WITHOUT_POLICE_ADVICE: "Strafbaar feit zonder advies aangifte bij politie",
    SignalKind.INACTIVE: "Geen activiteit",
    SignalKind.NOT_INFORMED: "Leerling en ouders nog niet geïnformeerd over een stap of afspraak",
    SignalKind.INSPECTIE_REPORT_DUE: "Ernstig incident nog niet gemeld bij de Inspectie",
    SignalKind.PUBLIC_REPORT_WAITING: "Melding via het meldformulier nog niet opgepakt",
    SignalKind.REPORTER_MESSAGE_WAITING: "Bericht van de melder nog niet beantwoord",
}


def signal_kind(value: str) -> SignalKind:
    try:
        return SignalKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in SignalKind)
        msg = f"signal must be one of: {allowed}"
        raise InvalidInput(msg) from None


@dataclass(frozen=True)
class Signal:
    """Something on a case that needs attention. Carries no free text of the case.

    ``due_on``: the passed deadline (earliest overdue follow-up, or the intake deadline);
    ``since``: the day of the last activity (inactive); ``step_kinds``: kinds of the steps
    waiting for consent; ``count``: overdue follow-ups or waiting steps; ``found_on``: the day
    aftercare found the bullying going on (bullying_continues).
    """

    kind: SignalKind
    label: str
    due_on: date | None = None
    since: date | None = None
    step_kinds: tuple[str, ...] = ()
    count: int = 0
    found_on: date | None = None


def _signal(kind: SignalKind, **details: Any) -> Signal:
    return Signal(kind=kind, label=SIGNAL_LABELS_NL[kind], **details)


def case_signals(
    row: Mapping[str, Any],
    *,
    today: date,
    protocol: ProtocolChecklist,
    inactivity_days: int = DEFAULT_INACTIVITY_DAYS,
) -> list[Signal]:
    """The signals of one case (pure), from a row of the escalation view, in SignalKind order.
    A closed case has one signal left at most: its serious incident's report to the Inspectie,
    while that is due (closing the case does not report it)."""
    if row["status"] == "closed":
        return incident_signals(row)
    found: list[Signal] = []
    overdue = sorted(d for d in (row["open_follow_up_dues"] or []) if d < today)
    if overdue:
        found.append(_signal(SignalKind.AFTERCARE_OVERDUE, due_on=overdue[0], count=len(overdue)))
    continues = row.get("bullying_continues_since")
    if continues:
        found_on = continues if isinstance(continues, date) else date.fromisoformat(continues)
        found.append(_signal(SignalKind.BULLYING_CONTINUES, found_on=found_on))
    deadline = protocol.intake_deadline
    if row["intake_on"] is None and deadline is not None:
        due = add_school_days(local_date(row["reported_at"]), deadline)
        if today > due:
            found.append(_signal(SignalKind.INTAKE_OVERDUE, due_on=due))
    if row["waiting_steps"]:
        found.append(
            _signal(
                SignalKind.STEPS_WAITING_FOR_CONSENT,
                step_kinds=tuple(row["waiting_step_kinds"]),
                count=row["waiting_steps"],
            )
        )
    if row["offence_flagged"] and not row["police_advised"]:
        found.append(_signal(SignalKind.OFFENCE_WITHOUT_POLICE_ADVICE))
    last_on = local_date(row["last_activity_at"])
    if (today - last_on).days >= inactivity_days:
        found.append(_signal(SignalKind.INACTIVE, since=last_on))
    uninformed = row.get("uninformed_since")
    if uninformed:
        day = uninformed if isinstance(uninformed, date) else date.fromisoformat(uninformed)
        found.append(_signal(SignalKind.NOT_INFORMED, due_on=day))
    found.extend(incident_signals(row))
    for kind, key in (
        (SignalKind.PUBLIC_REPORT_WAITING, "public_report_waiting_since"),
        (SignalKind.REPORTER_MESSAGE_WAITING, "reporter_message_waiting_since"),
    ):
        since = row.get(key)
        if since:
            day = since if isinstance(since, date) else date.fromisoformat(since)
            found.append(_signal(kind, due_on=day))
    return found


def incident_signals(row: Mapping[str, Any]) -> list[Signal]:
    """The serious-incident signal of one case (pure): its report to the Inspectie is due."""
    due = row.get("inspectie_report_due")
    if not due:
        return []
    due_on = due if isinstance(due, date) else date.fromisoformat(due)
    return [_signal(SignalKind.INSPECTIE_REPORT_DUE, due_on=due_on)]


def _inactive_before(today: date, inactivity_days: int) -> datetime:
    """Activity before this moment (Dutch midnight) makes a case inactive as of ``today``."""
    return datetime.combine(today - timedelta(days=inactivity_days - 1), time(), SCHOOL_TZ)


async def signals(
    conn: asyncpg.Connection,
    schema: str,
    *,
    today: date,
    protocol: ProtocolChecklist,
    inactivity_days: int = DEFAULT_INACTIVITY_DAYS,
    case_ids: Sequence[UUID] | None = None,
) -> dict[UUID, list[Signal]]:
    """Signals per open case of the school (cases without signals are left out), and per closed
    case whose serious incident is still to be reported to the Inspectie.

    ``case_ids`` limits the answer to those cases. Rows that cannot have a signal are filtered
    in SQL; the exact decision is :func:`case_signals`.
    """
    if isinstance(inactivity_days, bool) or not isinstance(inactivity_days, int):
        raise InvalidInput("inactivity_days must be a whole number of days")
    if inactivity_days < 1:
        raise InvalidInput("inactivity_days must be at least 1")
    query = (
        "SELECT case_id, status, reported_at, intake_on, open_follow_up_dues,"  # noqa: S608 (identifiers via table(); values are parameters)
        " waiting_step_kinds, waiting_steps, offence_flagged, police_advised, last_activity_at,"
        " state ->> 'bullying_continues_since' AS bullying_continues_since,"
        " state ->> 'uninformed_since' AS uninformed_since,"
        " state ->> 'inspectie_report_due' AS inspectie_report_due,"
        " state ->> 'public_report_waiting_since' AS public_report_waiting_since,"
        " state ->> 'reporter_message_waiting_since' AS reporter_message_waiting_since"
        f" FROM {table(schema, TABLE)}"
        " WHERE ((status <> 'closed'"
        " AND (next_follow_up_due < $1 OR intake_on IS NULL OR waiting_steps > 0"
        " OR (offence_flagged AND NOT police_advised) OR last_activity_at < $2"
        " OR state ->> 'bullying_continues_since' IS NOT NULL"
        " OR state ->> 'uninformed_since' IS NOT NULL"
        " OR state ->> 'public_report_waiting_since' IS NOT NULL"
        " OR state ->> 'reporter_message_waiting_since' IS NOT NULL))"
        " OR state ->> 'inspectie_report_due' IS NOT NULL)"  # the filter below applies to all
    )
    params: list[Any] = [today, _inactive_before(today, inactivity_days)]
    if case_ids is not None:
        query += " AND case_id = ANY($3::uuid[])"
        params.append(list(case_ids))
    result: dict[UUID, list[Signal]] = {}
    for record in await conn.fetch(query, *params):
        found = case_signals(
            record, today=today, protocol=protocol, inactivity_days=inactivity_days
        )
        if found:
            result[record["case_id"]] = found
    return result


# --- escalation status ------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintState:
    complaint_id: UUID
    level: str
    level_label: str
    status: str  # open | decided | withdrawn


@dataclass(frozen=True)
class CaseEscalation:
    """The complaint ladder of one case: its highest level and every complaint's state."""

    case_id: UUID
    case_status: str
    level: str
    level_label: str
    open_complaints: int
    complaints: tuple[ComplaintState, ...]


_LEVELS = [level.value for level in ComplaintLevel]


def level_label(level: str) -> str:
    return LABELS_NL.get(ComplaintLevel(level), level)


async def escalations(conn: asyncpg.Connection, schema: str) -> list[CaseEscalation]:
    """Every case with a complaint, highest level first (then the oldest report first)."""
    records = await conn.fetch(
        "SELECT case_id, status, complaint_level, open_complaints, state -> 'complaints' AS c"  # noqa: S608 (identifiers via table(); values are parameters)
        f" FROM {table(schema, TABLE)} WHERE complaint_level IS NOT NULL"
        " ORDER BY array_position($1::text[], complaint_level) DESC, reported_at, case_id",
        _LEVELS,
    )
    result = []
    for r in records:
        complaints: dict[str, Any] = r["c"]
        ordered = sorted(complaints.items(), key=lambda item: item[1]["filed_version"])
        result.append(
            CaseEscalation(
                case_id=r["case_id"],
                case_status=r["status"],
                level=r["complaint_level"],
                level_label=level_label(r["complaint_level"]),
                open_complaints=r["open_complaints"],
                complaints=tuple(
                    ComplaintState(
                        complaint_id=UUID(cid),
                        level=c["level"],
                        level_label=level_label(c["level"]),
                        status=c["status"],
                    )
                    for cid, c in ordered
                ),
            )
        )
    return result
