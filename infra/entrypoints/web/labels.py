"""Dutch words for what a case page shows: event types, timeline details, case sections."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from infra.entrypoints.web.actions import ACTIONS, FIELD_VOCABULARIES, ReportBody
from infra.entrypoints.web.forms import field_label
from services.access.roles import ROLE_LABELS_NL, Role
from services.casework.domain import EVENT_TYPES
from services.casework.labels import dutch_date, event_label, vocabulary_label
from services.casework.vocabulary import (
    CloseReason,
    ComplaintLevel,
    ComplaintOutcome,
    ReportChannel,
    StepKind,
)
from services.people.names import PERSON_FIELDS, Names


def event_options() -> list[tuple[str, str]]:
    """(event type, Dutch label) of every case event, in catalogue order."""
    return [(t.__name__, event_label(t.__name__)) for t in EVENT_TYPES]


#: The action whose form records an event (checklist links, field labels in the timeline).
EVENT_ACTIONS: dict[str, str] = {
    "CaseReported": "report",
    "OwnerAssigned": "assign-owner",
    "ParticipantAdded": "add-participant",
    "IntakeHeld": "hold-intake",
    "SituationMapped": "map-situation",
    "SolutionsDiscussed": "discuss-solutions",
    "ConsentGiven": "give-consent",
    "ConsentWithdrawn": "withdraw-consent",
    "StepPlanned": "plan-step",
    "PersonEngaged": "engage-person",
    "StepCompleted": "complete-step",
    "StepCancelled": "cancel-step",
    "CriminalOffenceFlagged": "flag-criminal-offence",
    "PoliceReportAdvised": "advise-police-report",
    "AgreementRecorded": "record-agreement",
    "FollowUpScheduled": "schedule-follow-up",
    "FollowUpCompleted": "complete-follow-up",
    "NoteAdded": "add-note",
    "AttachmentAdded": "add-attachment",
    "ContactRecorded": "record-contact",
    "ComplaintProcedureExplained": "explain-complaint-procedure",
    "ComplaintFiled": "file-complaint",
    "ComplaintSupportAssigned": "assign-complaint-support",
    "ComplaintEscalated": "escalate-complaint",
    "ComplaintDecided": "decide-complaint",
    "ComplaintWithdrawn": "withdraw-complaint",
    "CaseEvaluated": "evaluate",
    "LessonsShared": "share-lessons",
    "CaseClosed": "close",
    "CaseReopened": "reopen",
    "ErasureRequested": "request-erasure",
    "IncidentCategorised": "categorise-incident",
    "SeriousIncidentMarked": "mark-serious-incident",
    "InspectieReportRecorded": "record-inspectie-report",
}

#: Vocabulary of a timeline field where its name alone does not say it.
_EVENT_VOCABULARIES: dict[tuple[str, str], type[StrEnum]] = {
    ("CaseClosed", "reason"): CloseReason,
    ("ComplaintDecided", "outcome"): ComplaintOutcome,
    ("ComplaintDecided", "level"): ComplaintLevel,
    ("ComplaintEscalated", "from_level"): ComplaintLevel,
    ("InspectieReportRecorded", "channel"): ReportChannel,
}
#: Ids of the case's own things: shown through what they point to, never as raw ids.
_THING_IDS = frozenset(
    {"participant_id", "consent_id", "step_id", "agreement_id", "follow_up_id", "complaint_id"}
)
_HIDDEN = (
    frozenset({"school_id", "attachment_id", "sha256", "code_hash", "message_id"}) | _THING_IDS
)
#: Who wrote a message with the reporter of a public report (``ReporterMessagePosted``).
_SENDERS_NL = {"reporter": "de melder", "school": "de school"}
_DATES = frozenset({"held_on", "since", "due_on", "review_on", "report_due_on", "reported_on"})
_EXTRA_LABELS = {
    "from_level": "Van niveau",
    "level": "Niveau",
    "file_name": "Bestand",
    "media_type": "Soort bestand",
    "size": "Grootte (bytes)",
    "caption": "Bijschrift",
    "sender": "Van",
}


@dataclass(frozen=True)
class Detail:
    label: str
    value: str


def role_label(value: object) -> str:
    """A staff role's Dutch label (an unknown value as it is)."""
    try:
        return ROLE_LABELS_NL[Role(str(value))]
    except ValueError:
        return str(value)


def _value(event_type: str, name: str, value: Any, names: Names) -> str:
    if name in PERSON_FIELDS:
        return names(value)
    if name == "staff_role":
        return role_label(value)
    if event_type == "ReporterMessagePosted" and name == "sender":
        return _SENDERS_NL.get(str(value), str(value))
    if isinstance(value, bool):
        return "ja" if value else "nee"
    kind = _EVENT_VOCABULARIES.get((event_type, name)) or FIELD_VOCABULARIES.get(name)
    if isinstance(value, list):
        if kind is not None:
            order = {v.value: i for i, v in enumerate(kind)}
            ordered = sorted((str(v) for v in value), key=lambda v: order.get(v, len(order)))
            return ", ".join(vocabulary_label(kind, v) for v in ordered)
        return "; ".join(str(v) for v in value)
    if name in _DATES:
        return dutch_date(str(value))
    if kind is not None:
        return vocabulary_label(kind, str(value))
    return str(value)


def _step_text(detail: Mapping[str, Any], step_id: Any) -> str | None:
    step = (detail.get("steps") or {}).get(str(step_id))
    if step is None:
        return None
    return f"{vocabulary_label(StepKind, step.get('kind'))}: {step.get('description', '')}"


def _field_order(action: str) -> dict[str, int]:
    """Field positions of the action's body: the timeline lists fields as the form asks them
    (the view stores them as JSON, which does not keep the order)."""
    body = ReportBody if action == "report" else getattr(ACTIONS.get(action), "body", None)
    if body is None:
        return {}
    return {f.name: i for i, f in enumerate(dataclasses.fields(body))}


def describe(
    event_type: str,
    data: Mapping[str, Any],
    detail: Mapping[str, Any],
    names: Names | None = None,
) -> list[Detail]:
    """What one timeline entry says, field by field, in Dutch (empty fields left out; people by
    name, through ``names``)."""
    names = names if names is not None else Names()
    action = EVENT_ACTIONS.get(event_type, "")
    found: list[Detail] = []
    if "step_id" in data and event_type != "StepPlanned":
        step = _step_text(detail, data["step_id"])
        if step:
            found.append(Detail("Stap", step))
    if "complaint_id" in data and event_type != "ComplaintFiled":
        complaint = (detail.get("complaints") or {}).get(str(data["complaint_id"]))
        if complaint is not None:
            found.append(Detail("Klacht", f"ingediend op {dutch_date(complaint.get('filed_at'))}"))
    order = _field_order(action)
    for name, value in sorted(data.items(), key=lambda kv: order.get(kv[0], len(order))):
        if name in _HIDDEN or value is None or value in ("", []):
            continue
        label = _EXTRA_LABELS.get(name) or field_label(action, name)
        found.append(Detail(label, _value(event_type, name, value, names)))
    return found
