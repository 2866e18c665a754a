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
from typing import Any

from services.casework import commands as cw
from services.casework.commands import CaseCommand
from services.casework.vocabulary import (
    CloseReason,
    ComplaintLevel,
    ComplaintOutcome,
    ComplaintSupportRole,
    ConsentGiver,
    Form,
    Frequency,
    Impact,
    Location,
    ParticipantRole,
    PoliceAdviceTo,
    ReporterKind,
    StepKind,
)
from services.complaints import commands as cp
from tenants.roles import Permission

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
}
#: ... unless the action names another meaning for it (``reason`` is mostly free text).
ACTION_VOCABULARIES: dict[tuple[str, str], type[StrEnum]] = {
    ("close", "reason"): CloseReason,
    ("decide-complaint", "outcome"): ComplaintOutcome,
}


def vocabulary_for(action: str, name: str) -> type[StrEnum] | None:
    return ACTION_VOCABULARIES.get((action, name)) or FIELD_VOCABULARIES.get(name)


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
        values = {f.name: getattr(body, f.name) for f in dataclasses.fields(body)}
        if values.get("expected_version") is None and expected_version is not None:
            values["expected_version"] = expected_version
        return self.command(case_id=case_id, **values)


def body_type(command: type[CaseCommand]) -> type[Any]:
    """A frozen, keyword-only dataclass with the command's fields except ``case_id``."""
    hints = typing.get_type_hints(command)
    specs: list[tuple[str, Any, Any]] = []
    for f in dataclasses.fields(command):
        if f.name == "case_id" or not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            spec = dataclasses.field(default=f.default)
        elif f.default_factory is not dataclasses.MISSING:
            spec = dataclasses.field(default_factory=f.default_factory)
        else:
            spec = dataclasses.field()
        specs.append((f.name, hints[f.name], spec))
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
    ("evaluate", cw.EvaluateCase, "Evalueren"),
    ("share-lessons", cw.ShareLessons, "Leerpunten delen"),
    ("close", cw.CloseCase, "Zaak afsluiten"),
    ("reopen", cw.ReopenCase, "Zaak heropenen"),
    ("request-erasure", cw.RequestErasure, "Leerlinggegevens wissen"),
    ("explain-complaint-procedure", cp.ExplainComplaintProcedure, "Klachtenregeling uitleggen"),
    ("file-complaint", cp.FileComplaint, "Klacht indienen"),
    ("assign-complaint-support", cp.AssignComplaintSupport, "Ondersteuning klager toewijzen"),
    ("escalate-complaint", cp.EscalateComplaint, "Klacht escaleren"),
    ("decide-complaint", cp.DecideComplaint, "Besluit over klacht vastleggen"),
    ("withdraw-complaint", cp.WithdrawComplaint, "Klacht intrekken"),
)

ACTIONS: dict[str, Action] = {
    name: Action(name=name, command=command, label_nl=label, body=body_type(command))
    for name, command, label in _CATALOGUE
}
