"""Case view: the case list and the case detail with its full timeline (school schema).

Words: ``cases`` has one row per case (filterable columns plus ``detail``, a JSON document of
everything the case page shows); ``case_timeline`` has one row per event, with actor, role and
time. Both are rebuilt from the events only (no clock, no lookups), so replay equals live.

Pupil fields and free text are kept *sealed*, as the log holds them (``{"sealed", "ct"}``; the
engine reads with :meth:`~services.casework.application.CaseworkApplication.read_side_mapper`):
the tables, and so PostgreSQL's WAL and backups, hold no pupil's name in plain text; a page opens
them as it is rendered (:func:`services.casework.sealing.unseal_tree`). ``detail.redactions``
maps each redacted passage (key id) to the text it reads as.

An ``ErasureRequested`` event erases the case's pupil fields (``[gewist]``) in both tables, as far
as the case got; saving the request has already done so (:meth:`CaseView.erase`, run by
``infra.adapters.privacy.purge``), so applying it repeats that, and a replay gives the same rows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL
from psycopg.types.json import Jsonb

from projections.engine import Batch, Handlers, Target, View
from services.casework.domain import Case
from services.casework.sealing import ERASED, LINK_FIELD, SEALED_FIELDS, is_sealed
from services.casework.vocabulary import CaseStatus, ComplaintLevel
from services.shared.jsonable import event_data, jsonable

Row = dict[str, Any]
HANDLERS = Handlers()
on = HANDLERS.on


def new_row(event: Case.CaseReported) -> Row:
    return {
        "case_id": str(event.originator_id),
        "status": CaseStatus.REPORTED.value,
        "owner_id": event.owner_id,
        "reporter_kind": event.reporter_kind,
        "reported_at": event.timestamp.isoformat(),
        "reported_by": event.actor_id,
        "summary": event.summary,
        "intake": None,
        "situation": None,
        "solutions": None,
        "participants": {},
        "consents": {},
        "steps": {},
        "offence_flagged": False,
        "police_advised": False,
        "agreements": {},
        "follow_ups": {},
        "notes": 0,
        "attachments": {},
        "contacts": [],
        "last_informed": {"pupil": None, "parents": None},
        "complaint_explained": False,
        "complaints": {},
        "evaluated": False,
        "lessons": [],
        "lessons_shared": False,
        "closed_at": None,
        "close_reason": None,
        "reopened": 0,
        "engaged_user_ids": [],
        "redactions": {},
        "done": [],
    }


@on(Case.OwnerAssigned)
def _owner(row: Row, e: Case.OwnerAssigned) -> None:
    row["owner_id"] = e.owner_id


@on(Case.ParticipantAdded)
def _participant(row: Row, e: Case.ParticipantAdded) -> None:
    participant = {
        "pupil_ref": e.pupil_ref, "display_name": e.display_name, "group": e.group,
        "role": e.role,
    }  # fmt: skip
    if e.pupil_id is not None:
        # Only when linked: rows of participants added before the register stay as they were,
        # so a rebuild equals the live view.
        participant[LINK_FIELD] = str(e.pupil_id)
    row["participants"][str(e.participant_id)] = participant


@on(Case.IntakeHeld)
def _intake(row: Row, e: Case.IntakeHeld) -> None:
    row["intake"] = {"held_on": e.held_on.isoformat(), "summary": e.summary}
    row["status"] = CaseStatus.IN_PROGRESS.value


@on(Case.SituationMapped)
def _situation(row: Row, e: Case.SituationMapped) -> None:
    row["situation"] = event_data(e)


@on(Case.SolutionsDiscussed)
def _solutions(row: Row, e: Case.SolutionsDiscussed) -> None:
    row["solutions"] = event_data(e)


@on(Case.ConsentGiven)
def _consent(row: Row, e: Case.ConsentGiven) -> None:
    row["consents"][str(e.consent_id)] = {
        "given_by": e.given_by, "covers": sorted(e.covers), "withdrawn": False,
    }  # fmt: skip


@on(Case.ConsentWithdrawn)
def _consent_withdrawn(row: Row, e: Case.ConsentWithdrawn) -> None:
    row["consents"][str(e.consent_id)]["withdrawn"] = True


@on(Case.StepPlanned)
def _step(row: Row, e: Case.StepPlanned) -> None:
    row["steps"][str(e.step_id)] = {
        "kind": e.kind, "description": e.description, "status": "planned",
        "due_on": jsonable(e.due_on), "assignee_id": e.assignee_id, "engaged": [], "outcome": "",
    }  # fmt: skip


@on(Case.PersonEngaged)
def _engaged(row: Row, e: Case.PersonEngaged) -> None:
    row["steps"][str(e.step_id)]["engaged"].append({"user_id": e.user_id, "role": e.staff_role})
    if e.user_id not in row["engaged_user_ids"]:
        row["engaged_user_ids"].append(e.user_id)


@on(Case.StepCompleted)
def _step_completed(row: Row, e: Case.StepCompleted) -> None:
    row["steps"][str(e.step_id)].update(status="completed", outcome=e.outcome)


@on(Case.StepCancelled)
def _step_cancelled(row: Row, e: Case.StepCancelled) -> None:
    row["steps"][str(e.step_id)].update(status="cancelled", outcome=e.reason)


@on(Case.CriminalOffenceFlagged)
def _offence(row: Row, e: Case.CriminalOffenceFlagged) -> None:
    row["offence_flagged"] = True


@on(Case.PoliceReportAdvised)
def _police(row: Row, e: Case.PoliceReportAdvised) -> None:
    row["police_advised"] = True


@on(Case.IncidentCategorised)
def _incident_categories(row: Row, e: Case.IncidentCategorised) -> None:
    # ``incident`` is set from the first incident event on (older rows simply lack it).
    row.setdefault("incident", {}).update(list_version=e.list_version, categories=e.categories)


@on(Case.SeriousIncidentMarked)
def _serious_incident(row: Row, e: Case.SeriousIncidentMarked) -> None:
    row.setdefault("incident", {}).update(serious=True, report_due_on=e.report_due_on.isoformat())


@on(Case.InspectieReportRecorded)
def _inspectie_report(row: Row, e: Case.InspectieReportRecorded) -> None:
    row.setdefault("incident", {}).update(
        reported_on=e.reported_on.isoformat(), channel=e.channel, reference=e.reference
    )


@on(Case.AgreementRecorded)
def _agreement(row: Row, e: Case.AgreementRecorded) -> None:
    row["agreements"][str(e.agreement_id)] = event_data(e, skip=["agreement_id"])


@on(Case.FollowUpScheduled)
def _follow_up(row: Row, e: Case.FollowUpScheduled) -> None:
    row["follow_ups"][str(e.follow_up_id)] = {"due_on": e.due_on.isoformat(), "completed": False}


@on(Case.FollowUpCompleted)
def _follow_up_done(row: Row, e: Case.FollowUpCompleted) -> None:
    row["follow_ups"][str(e.follow_up_id)].update(
        completed=True, completed_at=e.timestamp.isoformat(), agreements_kept=e.agreements_kept,
        bullying_stopped=e.bullying_stopped, pupil_feels_safe=e.pupil_feels_safe,
    )  # fmt: skip


@on(Case.NoteAdded)
def _note(row: Row, e: Case.NoteAdded) -> None:
    row["notes"] += 1


@on(Case.ContactRecorded)
def _contact(row: Row, e: Case.ContactRecorded) -> None:
    row.setdefault("contacts", []).append({
        "contact_id": str(e.contact_id), "with_whom": e.with_whom, "channel": e.channel,
        "held_on": e.held_on.isoformat(), "discussed": e.discussed, "agreed": e.agreed,
        "pupil_present": e.pupil_present, "recorded_at": e.timestamp.isoformat(),
        "recorded_by": e.actor_id,
    })  # fmt: skip
    informed = row.setdefault("last_informed", {"pupil": None, "parents": None})
    day = e.held_on.isoformat()
    parties = []
    if e.pupil_present or e.with_whom != "parents":
        parties.append("pupil")
    if e.with_whom != "pupil":
        parties.append("parents")
    for party in parties:
        if informed.get(party) is None or informed[party] < day:
            informed[party] = day


@on(Case.ReporterAccessIssued)
def _public_report(row: Row, e: Case.ReporterAccessIssued) -> None:
    row["public_report"] = True  # never the code's hash


@on(Case.ReporterMessagePosted)
def _reporter_message(row: Row, e: Case.ReporterMessagePosted) -> None:
    row.setdefault("reporter_messages", []).append({
        "message_id": str(e.message_id), "sender": e.sender, "text": e.text,
        "posted_at": e.timestamp.isoformat(), "posted_by": e.actor_id,
    })  # fmt: skip


@on(Case.AttachmentAdded)
def _attachment(row: Row, e: Case.AttachmentAdded) -> None:
    row.setdefault("attachments", {})[str(e.attachment_id)] = {
        "file_name": e.file_name, "media_type": e.media_type, "size": e.size,
        "caption": e.caption, "added_at": e.timestamp.isoformat(), "added_by": e.actor_id,
    }  # fmt: skip


@on(Case.ComplaintProcedureExplained)
def _explained(row: Row, e: Case.ComplaintProcedureExplained) -> None:
    row["complaint_explained"] = True


@on(Case.ComplaintFiled)
def _complaint(row: Row, e: Case.ComplaintFiled) -> None:
    row["complaints"][str(e.complaint_id)] = {
        "level": e.level, "status": "open", "outcome": "", "support": {},
        "filed_at": e.timestamp.isoformat(),
    }  # fmt: skip


@on(Case.ComplaintSupportAssigned)
def _complaint_support(row: Row, e: Case.ComplaintSupportAssigned) -> None:
    row["complaints"][str(e.complaint_id)]["support"][e.user_id] = e.support_role


@on(Case.ComplaintEscalated)
def _complaint_escalated(row: Row, e: Case.ComplaintEscalated) -> None:
    row["complaints"][str(e.complaint_id)].update(level=e.to_level, status="open")


@on(Case.ComplaintDecided)
def _complaint_decided(row: Row, e: Case.ComplaintDecided) -> None:
    row["complaints"][str(e.complaint_id)].update(status="decided", outcome=e.outcome)


@on(Case.ComplaintWithdrawn)
def _complaint_withdrawn(row: Row, e: Case.ComplaintWithdrawn) -> None:
    row["complaints"][str(e.complaint_id)]["status"] = "withdrawn"


@on(Case.CaseEvaluated)
def _evaluated(row: Row, e: Case.CaseEvaluated) -> None:
    row["evaluated"] = True
    row["lessons"] = list(e.lessons)


@on(Case.LessonsShared)
def _lessons_shared(row: Row, e: Case.LessonsShared) -> None:
    row["lessons_shared"] = True


@on(Case.CaseClosed)
def _closed(row: Row, e: Case.CaseClosed) -> None:
    row.update(
        status=CaseStatus.CLOSED.value, closed_at=e.timestamp.isoformat(), close_reason=e.reason
    )


@on(Case.CaseReopened)
def _reopened(row: Row, e: Case.CaseReopened) -> None:
    row.update(
        status=CaseStatus.IN_PROGRESS.value if row["intake"] else CaseStatus.REPORTED.value,
        closed_at=None, close_reason=None, reopened=row["reopened"] + 1, evaluated=False,
    )  # fmt: skip


@on(Case.ErasureRequested)
def _erased(row: Row, e: Case.ErasureRequested) -> None:
    erase_participants(row)


@on(Case.PassagesRedacted)
def _redacted(row: Row, e: Case.PassagesRedacted) -> None:
    # What each redacted passage reads as (its key is destroyed; the view keeps its ciphertext).
    redactions = row.setdefault("redactions", {})
    for passage in e.passages:
        redactions[passage] = e.replacement


# --- erasure: what the view keeps of a pupil goes with the pupil's key ----------------------

#: Per event type (timeline ``event_type``), the fields that identify a pupil (sealed in the log).
PUPIL_FIELDS: dict[str, tuple[str, ...]] = {t.__name__: f for t, f in SEALED_FIELDS.items()}


def erase_participants(row: Row) -> None:
    """Every participant's pupil fields read as erased, as a replay after the keys were destroyed
    shows them (also for events written before sealing existed, which a replay alone would not
    erase: the ``ErasureRequested`` event does, live and in a replay alike)."""
    for participant in row["participants"].values():
        for name in PUPIL_FIELDS["ParticipantAdded"]:
            participant[name] = ERASED
        participant.pop(LINK_FIELD, None)  # the link to the register goes with the case's keys


def erase_pupil_in(row: Row, pupil_id: str) -> bool:
    """The register pupil's fields read as erased in every participant that is them (the link
    stays: a replay after the pupil's key is gone reads the same); whether any was."""
    changed = False
    for participant in row["participants"].values():
        if participant.get(LINK_FIELD) == pupil_id:
            for name in PUPIL_FIELDS["ParticipantAdded"]:
                # Sealed (every row since issue 12 §4): the ciphertext stays, unreadable once
                # the pupil's key is gone, as a rebuild keeps it; older plain rows are erased.
                if not is_sealed(participant.get(name)) and participant.get(name) != ERASED:
                    participant[name] = ERASED
                    changed = True
    return changed


def erase_timeline(curs: Cursor[Any], target: Target, case_id: UUID, before: int | None) -> None:
    """Erase the pupil fields in the case's timeline entries (those before version ``before``:
    a participant added after an erasure keeps its data until the next one)."""
    query = SQL(
        "SELECT version, event_type, data FROM {} WHERE case_id = %s AND event_type = ANY(%s)"
    ).format(target.table("case_timeline"))
    params: list[Any] = [case_id, list(PUPIL_FIELDS)]
    if before is not None:
        query += SQL(" AND version < %s")
        params.append(before)
    updates = []
    for r in curs.execute(query, params).fetchall():
        version, event_type, data = (
            (r["version"], r["event_type"], r["data"]) if isinstance(r, dict) else r
        )
        erased = {**data, **{f: ERASED for f in PUPIL_FIELDS[event_type] if f in data}}
        erased.pop(LINK_FIELD, None)
        if erased != data:
            updates.append((Jsonb(erased), case_id, version))
    if updates:
        curs.executemany(
            SQL("UPDATE {} SET data = %s WHERE case_id = %s AND version = %s").format(
                target.table("case_timeline")
            ),
            updates,
        )


def evolve(row: Row | None, event: Any) -> Row:
    """The case row after ``event`` (pure: the same events always give the same row)."""
    if isinstance(event, Case.CaseReported):
        row = new_row(event)
    else:
        assert row is not None, f"event {type(event).__name__} before the case was reported"
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(row, event)
    name = type(event).__name__
    if name not in row["done"]:
        row["done"].append(name)
    row["version"] = event.originator_version
    row["last_activity_at"] = event.timestamp.isoformat()
    return row


def complaint_level(row: Row) -> str | None:
    levels = [ComplaintLevel(c["level"]) for c in row["complaints"].values()]
    return max(levels, key=lambda level: level.rank).value if levels else None


def next_follow_up_due(row: Row) -> str | None:
    open_dates = [f["due_on"] for f in row["follow_ups"].values() if not f["completed"]]
    return min(open_dates) if open_dates else None


CASES_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    case_id uuid PRIMARY KEY,
    status text NOT NULL,
    owner_id text,
    reporter_kind text NOT NULL,
    reported_at timestamptz NOT NULL,
    intake_on date,
    forms text[] NOT NULL,
    locations text[] NOT NULL,
    complaint_level text,
    next_follow_up_due date,
    last_activity_at timestamptz NOT NULL,
    closed_at timestamptz,
    version integer NOT NULL,
    engaged_user_ids text[] NOT NULL,
    detail jsonb NOT NULL
)"""

TIMELINE_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    case_id uuid NOT NULL,
    version integer NOT NULL,
    at timestamptz NOT NULL,
    event_type text NOT NULL,
    actor_id text NOT NULL,
    actor_role text NOT NULL,
    data jsonb NOT NULL,
    PRIMARY KEY (case_id, version)
)"""


class CaseView(View):
    """Case list, case detail and timeline of one school."""

    name = "case_view"
    holds_pupil_data = True
    school_tables = {"cases": CASES_DDL, "case_timeline": TIMELINE_DDL}

    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        ids = sorted({e.originator_id for _, e in batch})
        curs.execute(
            SQL("SELECT case_id, detail FROM {} WHERE case_id = ANY(%s)").format(
                target.table("cases")
            ),
            (ids,),
        )
        rows: dict[UUID, Row] = {}
        for r in curs.fetchall():
            case_id, detail = (r["case_id"], r["detail"]) if isinstance(r, dict) else r
            rows[case_id] = detail if isinstance(detail, dict) else json.loads(detail)
        timeline = []
        erasures = []
        for _, event in batch:
            rows[event.originator_id] = evolve(rows.get(event.originator_id), event)
            if isinstance(event, Case.ErasureRequested):
                erasures.append(event)
            timeline.append((
                event.originator_id, event.originator_version, event.timestamp,
                type(event).__name__, event.actor_id, event.actor_role,
                Jsonb(event_data(event, skip=_unlinked(event))),
            ))  # fmt: skip
        curs.executemany(
            SQL(
                "INSERT INTO {} (case_id, status, owner_id, reporter_kind, reported_at, intake_on,"
                " forms, locations, complaint_level, next_follow_up_due, last_activity_at,"
                " closed_at, version, engaged_user_ids, detail)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (case_id) DO UPDATE SET status = excluded.status,"
                " owner_id = excluded.owner_id, intake_on = excluded.intake_on,"
                " forms = excluded.forms, locations = excluded.locations,"
                " complaint_level = excluded.complaint_level,"
                " next_follow_up_due = excluded.next_follow_up_due,"
                " last_activity_at = excluded.last_activity_at, closed_at = excluded.closed_at,"
                " version = excluded.version, engaged_user_ids = excluded.engaged_user_ids,"
                " detail = excluded.detail"
            ).format(target.table("cases")),
            [_columns(case_id, row) for case_id, row in rows.items()],
        )
        # One COPY instead of an INSERT per event (the timeline only ever gains rows here).
        with curs.copy(
            SQL(
                "COPY {} (case_id, version, at, event_type, actor_id, actor_role, data) FROM STDIN"
            ).format(target.table("case_timeline"))
        ) as copy:
            for entry in timeline:
                copy.write_row(entry)
        for event in erasures:
            erase_timeline(curs, target, event.originator_id, before=event.originator_version)

    def erase(self, curs: Cursor[Any], target: Target, case_id: UUID) -> None:
        """Erase the case's pupil data from this view's rows now (before the erasure event is
        stored and applied; applying it later erases the same fields again)."""
        found = curs.execute(
            SQL("SELECT detail FROM {} WHERE case_id = %s FOR UPDATE").format(
                target.table("cases")
            ),
            (case_id,),
        ).fetchone()
        if found is not None:
            detail = found["detail"] if isinstance(found, dict) else found[0]
            row = detail if isinstance(detail, dict) else json.loads(detail)
            erase_participants(row)
            curs.execute(
                SQL("UPDATE {} SET detail = %s WHERE case_id = %s").format(target.table("cases")),
                (Jsonb(row), case_id),
            )
        erase_timeline(curs, target, case_id, before=None)

    def erase_pupil(self, curs: Cursor[Any], target: Target, pupil_id: UUID) -> None:
        """Erase a register pupil's number, name and group in every case they take part in."""
        key = str(pupil_id)
        found = curs.execute(
            SQL(
                "SELECT case_id, detail FROM {} WHERE jsonb_path_exists(detail,"
                " '$.participants.*.pupil_id ? (@ == $p)', jsonb_build_object('p', %s::text))"
                " FOR UPDATE"
            ).format(target.table("cases")),
            (key,),
        ).fetchall()
        for r in found:
            case_id, detail = (r["case_id"], r["detail"]) if isinstance(r, dict) else r
            row = detail if isinstance(detail, dict) else json.loads(detail)
            if erase_pupil_in(row, key):
                curs.execute(
                    SQL("UPDATE {} SET detail = %s WHERE case_id = %s").format(
                        target.table("cases")
                    ),
                    (Jsonb(row), case_id),
                )
        fields = PUPIL_FIELDS["ParticipantAdded"]
        rows = curs.execute(
            SQL(
                "SELECT case_id, version, data FROM {} WHERE event_type = 'ParticipantAdded'"
                " AND data->>'pupil_id' = %s"
            ).format(target.table("case_timeline")),
            (key,),
        ).fetchall()
        updates = []
        for r in rows:
            case_id, version, data = (
                (r["case_id"], r["version"], r["data"]) if isinstance(r, dict) else r
            )
            plain = [f for f in fields if f in data and not is_sealed(data[f])]
            if plain:
                updates.append((Jsonb({**data, **dict.fromkeys(plain, ERASED)}), case_id, version))
        if updates:
            curs.executemany(
                SQL("UPDATE {} SET data = %s WHERE case_id = %s AND version = %s").format(
                    target.table("case_timeline")
                ),
                updates,
            )


def _unlinked(event: Any) -> tuple[str, ...]:
    """A participant without a register pupil is shown as before the register existed (no
    ``pupil_id``), so timelines written then equal a rebuild's."""
    if isinstance(event, Case.ParticipantAdded) and event.pupil_id is None:
        return (LINK_FIELD,)
    return ()


def _columns(case_id: UUID, row: Row) -> tuple[Any, ...]:
    situation = row["situation"] or {}
    return (
        case_id,
        row["status"],
        row["owner_id"],
        row["reporter_kind"],
        datetime.fromisoformat(row["reported_at"]),
        row["intake"]["held_on"] if row["intake"] else None,
        situation.get("forms", []),
        situation.get("locations", []),
        complaint_level(row),
        next_follow_up_due(row),
        datetime.fromisoformat(row["last_activity_at"]),
        datetime.fromisoformat(row["closed_at"]) if row["closed_at"] else None,
        row["version"],
        row["engaged_user_ids"],
        Jsonb(row),
    )
