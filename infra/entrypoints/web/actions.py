"""The catalogue of case actions the web edge offers: one per command of the write side.

Each action has a URL name (``/api/cases/{id}/<name>``, the page's form ``/zaken/{id}/<name>``),
the command it builds, a Dutch label for the UI, and a request body type derived from the
command's fields (minus the case id, which comes from the path). Deriving the bodies keeps the
API and the commands from drifting apart; a new command becomes an API route and a form by adding
one line here.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import msgspec
from litestar.params import KwargDefinition

from services.access.roles import Permission
from services.casework import commands as cw
from services.casework.commands import CaseCommand, ReportCase
from services.casework.domain import MAX_INSPECTIE_REFERENCE
from services.casework.vocabulary import (
    CloseReason,
    ComplaintLevel,
    ComplaintOutcome,
    ComplaintSupportRole,
    ConsentGiver,
    ContactChannel,
    ContactParty,
    Form,
    Frequency,
    Impact,
    IncidentCategory,
    IncidentListVersion,
    Location,
    ParticipantRole,
    PoliceAdviceTo,
    ReportChannel,
    ReporterKind,
    StepKind,
)
from services.complaints import commands as cp
from services.shared.text import MAX_TEXT, REQUIRED_TEXT_PATTERN, TEXT_PATTERN

#: Vocabulary of a field, by field name ...
FIELD_VOCABULARIES: dict[str, type[StrEnum]] = {
    "reporter_kind": ReporterKind,
    "role": ParticipantRole,
    "forms": Form,
    "locations": Location,
    "frequency": Frequency,
    "impact": Impact,
    "given_by": ConsentGiver,
    "covers": StepKind,
    "kind": StepKind,
    "advised_to": PoliceAdviceTo,
    "level": ComplaintLevel,
    "to_level": ComplaintLevel,
    "support_role": ComplaintSupportRole,
    "with_whom": ContactParty,
    "channel": ContactChannel,
    "categories": IncidentCategory,
    "list_version": IncidentListVersion,
}
#: ... unless the action names another meaning for it (``reason`` is mostly free text).
ACTION_VOCABULARIES: dict[tuple[str, str], type[StrEnum]] = {
    ("close", "reason"): CloseReason,
    ("decide-complaint", "outcome"): ComplaintOutcome,
    ("record-inspectie-report", "channel"): ReportChannel,
}


def vocabulary_for(action: str, name: str) -> type[StrEnum] | None:
    """The vocabulary of field ``name`` of ``action`` (``None``: free text or not a string)."""
    return ACTION_VOCABULARIES.get((action, name)) or FIELD_VOCABULARIES.get(name)


#: The longest list a body field takes (forms of bullying, lessons, ...).
MAX_ITEMS = 50

TEXT_RULE = (
    "Printable text, tabs and line breaks (no control characters, no lone surrogates), at "
    f"most {MAX_TEXT} characters."
)


def text_type(*, required: bool, max_len: int = MAX_TEXT) -> Any:
    """Free text as a body declares it: its length is checked at the edge, its characters are
    documented (the domain's :func:`~services.shared.text.clean_text` checks them)."""
    rule = TEXT_RULE if max_len == MAX_TEXT else TEXT_RULE.replace(str(MAX_TEXT), str(max_len))
    return Annotated[
        str,
        msgspec.Meta(max_length=max_len),
        KwargDefinition(
            max_length=max_len,
            pattern=REQUIRED_TEXT_PATTERN if required else TEXT_PATTERN,
            description=rule if required else rule + " May be empty.",
        ),
    ]


def list_type(item: Any, *, required: bool) -> Any:
    """A list of at most :data:`MAX_ITEMS`; one the command requires needs at least one."""
    least = 1 if required else 0
    return Annotated[
        list[item],
        msgspec.Meta(min_length=least, max_length=MAX_ITEMS),
        KwargDefinition(min_items=least, max_items=MAX_ITEMS),
    ]


#: The highest version a case can have (the event store keeps versions as bigint).
MAX_VERSION = 2**63 - 1

#: A version of a case: versions start at 1 (the report).
Version = Annotated[
    int,
    msgspec.Meta(ge=1, le=MAX_VERSION),
    KwargDefinition(
        ge=1,
        le=MAX_VERSION,
        description="The case version the command was made against: refused (409) if "
        "the case has changed since.",
    ),
]


#: Text fields shorter than :data:`MAX_TEXT` (the domain checks the same bound).
FIELD_MAX_LENGTHS: dict[str, int] = {"reference": MAX_INSPECTIE_REFERENCE}


def field_type(action: str, name: str, hint: Any, required: bool) -> Any:
    """The body's type of command field ``name``: the command's own type, with the field's
    vocabulary as an enum, text bounded and described, lists bounded, versions from 1."""
    vocabulary = vocabulary_for(action, name)
    if name == "expected_version":
        return Version | None
    if hint is str:
        if vocabulary is not None:
            return vocabulary
        return text_type(required=required, max_len=FIELD_MAX_LENGTHS.get(name, MAX_TEXT))
    if hint == str | None:
        return text_type(required=False) | None
    if hint == list[str]:
        item = vocabulary if vocabulary is not None else text_type(required=False)
        return list_type(item, required=required)
    return hint


def plain(body: Any) -> dict[str, Any]:
    """A body's values as the command takes them: vocabulary values as plain strings."""

    def value(v: Any) -> Any:
        if isinstance(v, StrEnum):
            return v.value
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    return {f.name: value(getattr(body, f.name)) for f in dataclasses.fields(body)}


@dataclass(frozen=True)
class Action:
    name: str
    command: type[CaseCommand]
    label_nl: str
    body: type[Any]

    @property
    def permission(self) -> Permission:
        return self.command.permission

    def build(self, case_id: Any, body: Any, expected_version: int | None = None) -> CaseCommand:
        """The command for ``case_id`` from a decoded body (a :attr:`body` instance)."""
        values = plain(body)
        if values.get("expected_version") is None and expected_version is not None:
            values["expected_version"] = expected_version
        return self.command(case_id=case_id, **values)


def body_type(command: type[Any], action: str) -> type[Any]:
    """A frozen, keyword-only dataclass with the command's fields except ``case_id``, typed by
    :func:`field_type` (so the API document lists the allowed values and bounds)."""
    hints = typing.get_type_hints(command)
    specs: list[tuple[str, Any, Any]] = []
    for f in dataclasses.fields(command):
        if f.name == "case_id" or not f.init or f.metadata.get("internal"):
            continue
        if f.default is not dataclasses.MISSING:
            spec = dataclasses.field(default=f.default)
        elif f.default_factory is not dataclasses.MISSING:
            spec = dataclasses.field(default_factory=f.default_factory)
        else:
            spec = dataclasses.field()
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        specs.append((f.name, field_type(action, f.name, hints[f.name], required), spec))
    body = dataclasses.make_dataclass(command.__name__ + "Body", specs, frozen=True, kw_only=True)
    body.__module__ = __name__
    body.__doc__ = command.__doc__ or f"The body of {command.__name__}."
    return body


_CATALOGUE: tuple[tuple[str, type[CaseCommand], str], ...] = (
    ("assign-owner", cw.AssignOwner, "Eigenaar toewijzen"),
    ("add-participant", cw.AddParticipant, "Betrokken leerling toevoegen"),
    ("hold-intake", cw.HoldIntake, "Opvanggesprek vastleggen"),
    ("map-situation", cw.MapSituation, "Situatie in kaart brengen"),
    ("discuss-solutions", cw.DiscussSolutions, "Oplossingen bespreken"),
    ("give-consent", cw.GiveConsent, "Toestemming vastleggen"),
    ("withdraw-consent", cw.WithdrawConsent, "Toestemming intrekken"),
    ("plan-step", cw.PlanStep, "Stap plannen"),
    ("engage-person", cw.EngagePerson, "Collega betrekken"),
    ("complete-step", cw.CompleteStep, "Stap afronden"),
    ("cancel-step", cw.CancelStep, "Stap annuleren"),
    ("flag-criminal-offence", cw.FlagCriminalOffence, "Strafbaar feit vastleggen"),
    ("advise-police-report", cw.AdvisePoliceReport, "Aangifte adviseren"),
    ("record-agreement", cw.RecordAgreement, "Afspraak vastleggen"),
    ("schedule-follow-up", cw.ScheduleFollowUp, "Nazorg plannen"),
    ("complete-follow-up", cw.CompleteFollowUp, "Nazorg vastleggen"),
    ("add-note", cw.AddNote, "Notitie toevoegen"),
    ("record-contact", cw.RecordContact, "Contact met leerling/ouders vastleggen"),
    ("reply-to-reporter", cw.ReplyToReporter, "Antwoorden aan de melder"),
    ("evaluate", cw.EvaluateCase, "Evalueren"),
    ("share-lessons", cw.ShareLessons, "Leerpunten delen"),
    ("close", cw.CloseCase, "Zaak afsluiten"),
    ("reopen", cw.ReopenCase, "Zaak heropenen"),
    ("request-erasure", cw.RequestErasure, "Leerlinggegevens wissen"),
    ("redact-passages", cw.RedactPassages, "Passages over een leerling wissen"),
    ("categorise-incident", cw.CategoriseIncident, "Incidentcategorieën vastleggen"),
    ("mark-serious-incident", cw.MarkSeriousIncident, "Markeren als ernstig incident"),
    ("record-inspectie-report", cw.RecordInspectieReport, "Melding aan Inspectie vastleggen"),
    ("explain-complaint-procedure", cp.ExplainComplaintProcedure, "Klachtenregeling uitleggen"),
    ("file-complaint", cp.FileComplaint, "Klacht indienen"),
    ("assign-complaint-support", cp.AssignComplaintSupport, "Ondersteuning klager toewijzen"),
    ("escalate-complaint", cp.EscalateComplaint, "Klacht escaleren"),
    ("decide-complaint", cp.DecideComplaint, "Besluit over klacht vastleggen"),
    ("withdraw-complaint", cp.WithdrawComplaint, "Klacht intrekken"),
)

ACTIONS: dict[str, Action] = {
    name: Action(name=name, command=command, label_nl=label, body=body_type(command, name))
    for name, command, label in _CATALOGUE
}

#: The body of a new report (``POST /api/cases``; the page's report form).
ReportBody = body_type(ReportCase, "report")
