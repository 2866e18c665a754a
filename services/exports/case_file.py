"""The case file (dossier) of one case, in Dutch: for the complaints committee, or anyone who
must read the whole case on paper.

Built from the case's events (:class:`~services.exports.reader.CaseRecord`, read from the
school's log) and the Dutch words of the case (:mod:`services.casework.labels`, and the case
page's wording of each timeline entry, passed in), so the file says what the page says. One
document serves both formats: the JSON export is :class:`CaseFile` as it is (stable English
keys, Dutch content), the PDF (:mod:`infra.adapters.exports.pdf`) prints the same sections and the
same
timeline.

Words used here: a **section** is a part of the file ("Stappen"), an **entry** one thing in it
(one step), a **line** one labelled value ("Uiterlijk: 21 november 2026").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from services.access.need_to_know import Part, Sight, first_name
from services.access.roles import ROLE_LABELS_NL, Role
from services.casework.domain import Case
from services.casework.labels import dutch_date, event_label, vocabulary_label
from services.casework.vocabulary import (
    CaseStatus,
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
    Location,
    ParticipantRole,
    PoliceAdviceTo,
    ReportChannel,
    ReporterKind,
    StepKind,
)
from services.exports.reader import CaseRecord
from services.people.names import Names, ids_in
from services.shared.actor import Actor
from services.shared.clock import SCHOOL_TZ
from services.shared.jsonable import event_data

FORMAT = "vangnet.case-file/1"
TITLE = "Dossier pestzaak"
NONE = "\u2013"  # an en dash: nothing recorded
STEP_STATUS_NL = {"planned": "gepland", "completed": "afgerond", "cancelled": "vervallen"}
COMPLAINT_STATUS_NL = {"open": "lopend", "decided": "besloten", "withdrawn": "ingetrokken"}


class Described(Protocol):
    """One labelled value of a timeline entry, in the words of the case page."""

    @property
    def label(self) -> str: ...

    @property
    def value(self) -> str: ...


#: What one timeline entry says, field by field (the case page's
#: :func:`infra.entrypoints.web.labels.describe`; passed in so the file says what the page says).
Describe = Callable[[str, Mapping[str, Any], Mapping[str, Any]], Iterable[Described]]


@dataclass(frozen=True)
class Line:
    label: str
    value: str


@dataclass(frozen=True)
class Entry:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    entries: tuple[Entry, ...]
    #: What the file says when nothing was recorded in this section.
    empty: str = "Niets vastgelegd."


@dataclass(frozen=True)
class TimelineItem:
    """One event: when (UTC and on the school's clock), what (in Dutch), who and in which role."""

    version: int
    at: datetime
    at_local: str
    event_type: str
    label: str
    actor_id: str
    actor_role: str
    actor_role_label: str
    details: tuple[Line, ...]
    #: Who, by name (the staff directory; "[onbekend]" for an id it does not know).
    actor_name: str = ""


@dataclass(frozen=True)
class CaseFile:
    """The whole case file; serialised as it is for the JSON export."""

    format: str
    title: str
    school_id: UUID
    school_name: str
    school_slug: str
    case_id: UUID
    version: int
    status: str
    status_label: str
    reported_at: datetime
    last_changed_at: datetime
    exported_at: datetime
    exported_by_id: str
    exported_by_role: str
    header: tuple[Line, ...]
    sections: tuple[Section, ...]
    timeline: tuple[TimelineItem, ...]


# --- formatting -----------------------------------------------------------------------------


def moment(value: datetime) -> str:
    """``21 november 2026, 14:30`` on the school's clock."""
    local = value.astimezone(SCHOOL_TZ)
    return f"{dutch_date(local.date())}, {local:%H:%M}"


def day(value: date | str | None) -> str:
    return dutch_date(value) or NONE


def yes_no(value: bool | None) -> str:
    if value is None:
        return "onbekend"
    return "ja" if value else "nee"


def role_label(role: str) -> str:
    try:
        return ROLE_LABELS_NL[Role(role)]
    except ValueError:
        return role


def labels(kind: type[StrEnum], values: Iterable[str]) -> str:
    """Dutch labels of several values, in the vocabulary's order."""
    order = {v.value: i for i, v in enumerate(kind)}
    ordered = sorted((str(v) for v in values), key=lambda v: order.get(v, len(order)))
    return ", ".join(vocabulary_label(kind, v) for v in ordered) or NONE


def who(event: Case.Event, names: Names) -> str:
    """Who recorded an event: their name and role."""
    return names.actor(event.actor_id, event.actor_role)


def _lines(*pairs: tuple[str, str | None]) -> tuple[Line, ...]:
    """Lines of the pairs with a value (empty text left out)."""
    return tuple(Line(label, value) for label, value in pairs if value not in (None, ""))


# --- folding the events into the sections ----------------------------------------------------


@dataclass
class _Thing:
    """One thing of the case (a step, a complaint, ...): its title and lines, in order."""

    title: str
    lines: list[Line] = field(default_factory=list)

    def add(self, label: str, value: str | None) -> None:
        if value not in (None, ""):
            self.lines.append(Line(label, str(value)))

    def entry(self) -> Entry:
        return Entry(self.title, tuple(self.lines))


class _Fold:
    """Walks the events once and collects what each section shows."""

    def __init__(self, names: Names, *, first_names_only: bool = False) -> None:
        self.names = names
        #: Need-to-know: the pupils by first name, group and role only (no reference).
        self.first_names_only = first_names_only
        self.summary: list[Entry] = []
        self.participants: list[Entry] = []
        self.intake: list[Entry] = []
        self.situation: list[Entry] = []
        self.solutions: list[Entry] = []
        self.consents: dict[UUID, _Thing] = {}
        self.steps: dict[UUID, _Thing] = {}
        self.police: list[Entry] = []
        self.agreements: list[Entry] = []
        self.follow_ups: dict[UUID, _Thing] = {}
        self.notes: list[Entry] = []
        self.attachments: list[Entry] = []
        self.contacts: list[Entry] = []
        self.reporter_messages: list[Entry] = []
        #: Explanations of the procedure (entries) and complaints (by id), in recorded order.
        self.complaints: list[Entry | UUID] = []
        self.complaint_things: dict[UUID, _Thing] = {}
        self.evaluation: list[Entry] = []
        self.closing: list[Entry] = []
        self.owner: list[Entry] = []
        #: Steps and complaints as the timeline's details name them (like the case view's).
        self.detail: dict[str, dict[str, dict[str, Any]]] = {"steps": {}, "complaints": {}}

    def apply(self, event: Case.Event) -> None:
        handler = getattr(self, "on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    # Each handler reads the event's own fields; the event types are a permanent contract.

    def on_CaseReported(self, e: Any) -> None:  # noqa: N802
        self.summary.append(
            Entry(
                f"Melding van {moment(e.timestamp)}",
                _lines(
                    ("Gemeld door", vocabulary_label(ReporterKind, e.reporter_kind)),
                    ("Wat is er gemeld?", e.summary),
                    ("Vastgelegd door", who(e, self.names)),
                ),
            )
        )

    def on_OwnerAssigned(self, e: Any) -> None:  # noqa: N802
        self.owner.append(
            Entry(
                f"Eigenaar toegewezen op {moment(e.timestamp)}",
                _lines(("Eigenaar", self.names(e.owner_id)), ("Door", who(e, self.names))),
            )
        )

    def on_ParticipantAdded(self, e: Any) -> None:  # noqa: N802
        if self.first_names_only:
            self.participants.append(
                Entry(
                    first_name(e.display_name) or vocabulary_label(ParticipantRole, e.role),
                    _lines(
                        ("Rol in deze zaak", vocabulary_label(ParticipantRole, e.role)),
                        ("Groep of klas", e.group),
                    ),
                )
            )
            return
        self.participants.append(
            Entry(
                e.display_name or e.pupil_ref,
                _lines(
                    ("Naam zoals getoond in de zaak", e.display_name),
                    ("Rol in deze zaak", vocabulary_label(ParticipantRole, e.role)),
                    ("Groep of klas", e.group),
                    ("Leerlingreferentie", e.pupil_ref),
                    ("Toegevoegd op", moment(e.timestamp)),
                ),
            )
        )

    def on_IntakeHeld(self, e: Any) -> None:  # noqa: N802
        self.intake.append(
            Entry(
                f"Opvanggesprek op {day(e.held_on)}",
                _lines(("Samenvatting", e.summary), ("Vastgelegd door", who(e, self.names))),
            )
        )

    def on_SituationMapped(self, e: Any) -> None:  # noqa: N802
        self.situation.append(
            Entry(
                f"In kaart gebracht op {moment(e.timestamp)}",
                _lines(
                    ("Vormen van pesten", labels(Form, e.forms)),
                    ("Waar", labels(Location, e.locations) if e.locations else None),
                    ("Sinds", day(e.since) if e.since else None),
                    ("Hoe vaak", vocabulary_label(Frequency, e.frequency)),
                    ("Impact op de leerling", vocabulary_label(Impact, e.impact)),
                    ("Omschrijving", e.description),
                ),
            )
        )

    def on_SolutionsDiscussed(self, e: Any) -> None:  # noqa: N802
        self.solutions.append(
            Entry(
                f"Besproken op {moment(e.timestamp)}",
                _lines(
                    ("Gewenst door leerling en ouders", e.desired),
                    ("Mogelijke oplossingen", e.possible),
                    ("Gekozen aanpak", e.chosen_approach),
                ),
            )
        )

    def on_ConsentGiven(self, e: Any) -> None:  # noqa: N802
        thing = _Thing(f"Toestemming van {vocabulary_label(ConsentGiver, e.given_by)}")
        thing.add("Voor de stappen", labels(StepKind, e.covers))
        thing.add("Vastgelegd op", moment(e.timestamp))
        thing.add("Vastgelegd door", who(e, self.names))
        self.consents[e.consent_id] = thing

    def on_ConsentWithdrawn(self, e: Any) -> None:  # noqa: N802
        thing = self.consents.get(e.consent_id)
        if thing is not None:
            thing.add("Ingetrokken op", moment(e.timestamp))
            thing.add("Reden van intrekken", e.reason)

    def on_StepPlanned(self, e: Any) -> None:  # noqa: N802
        kind = vocabulary_label(StepKind, e.kind)
        thing = _Thing(kind)
        thing.add("Omschrijving", e.description)
        thing.add("Gepland op", moment(e.timestamp))
        thing.add("Uiterlijk uitgevoerd op", day(e.due_on) if e.due_on else None)
        thing.add("Uitvoerder", self.names(e.assignee_id) if e.assignee_id else None)
        self.steps[e.step_id] = thing
        self.detail["steps"][str(e.step_id)] = {"kind": e.kind, "description": e.description}

    def on_PersonEngaged(self, e: Any) -> None:  # noqa: N802
        thing = self.steps.get(e.step_id)
        if thing is not None:
            purpose = f", doel: {e.purpose}" if e.purpose else ""
            thing.add(
                "Ingeschakeld",
                f"{self.names(e.user_id)} ({role_label(e.staff_role)}){purpose}",
            )

    def on_StepCompleted(self, e: Any) -> None:  # noqa: N802
        thing = self.steps.get(e.step_id)
        if thing is not None:
            thing.add("Afgerond op", moment(e.timestamp))
            thing.add("Resultaat", e.outcome)

    def on_StepCancelled(self, e: Any) -> None:  # noqa: N802
        thing = self.steps.get(e.step_id)
        if thing is not None:
            thing.add("Vervallen op", moment(e.timestamp))
            thing.add("Reden", e.reason)

    def on_CriminalOffenceFlagged(self, e: Any) -> None:  # noqa: N802
        self.police.append(
            Entry(
                f"Strafbaar feit vastgelegd op {moment(e.timestamp)}",
                _lines(("Omschrijving", e.description), ("Vastgelegd door", who(e, self.names))),
            )
        )

    def on_PoliceReportAdvised(self, e: Any) -> None:  # noqa: N802
        self.police.append(
            Entry(
                f"Aangifte geadviseerd op {moment(e.timestamp)}",
                _lines(
                    ("Advies gegeven aan", vocabulary_label(PoliceAdviceTo, e.advised_to)),
                    ("Toelichting", e.note),
                    ("Vastgelegd door", who(e, self.names)),
                ),
            )
        )

    def on_IncidentCategorised(self, e: Any) -> None:  # noqa: N802
        labels = ", ".join(vocabulary_label(IncidentCategory, c) for c in e.categories)
        self.police.append(
            Entry(
                f"Incidentcategorieën vastgelegd op {moment(e.timestamp)}",
                _lines(
                    ("Categorieën", labels),
                    ("Lijst", e.list_version),
                    ("Vastgelegd door", who(e, self.names)),
                ),
            )
        )

    def on_SeriousIncidentMarked(self, e: Any) -> None:  # noqa: N802
        self.police.append(
            Entry(
                f"Gemarkeerd als ernstig incident op {moment(e.timestamp)}",
                _lines(
                    ("Melding aan de Inspectie uiterlijk", day(e.report_due_on)),
                    ("Vastgelegd door", who(e, self.names)),
                ),
            )
        )

    def on_InspectieReportRecorded(self, e: Any) -> None:  # noqa: N802
        self.police.append(
            Entry(
                f"Melding aan de Inspectie vastgelegd op {moment(e.timestamp)}",
                _lines(
                    ("Gemeld op", day(e.reported_on)),
                    ("Kanaal", vocabulary_label(ReportChannel, e.channel)),
                    ("Kenmerk Inspectie", e.reference),
                    ("Vastgelegd door", who(e, self.names)),
                ),
            )
        )

    def on_AgreementRecorded(self, e: Any) -> None:  # noqa: N802
        self.agreements.append(
            Entry(
                f"Afspraak van {moment(e.timestamp)}",
                _lines(
                    ("Afspraak", e.text),
                    ("Tussen", e.parties),
                    ("Evalueren op", day(e.review_on) if e.review_on else None),
                ),
            )
        )

    def on_FollowUpScheduled(self, e: Any) -> None:  # noqa: N802
        thing = _Thing(f"Nazorg gepland op {day(e.due_on)}")
        thing.add("Ingepland op", moment(e.timestamp))
        self.follow_ups[e.follow_up_id] = thing

    def on_FollowUpCompleted(self, e: Any) -> None:  # noqa: N802
        thing = self.follow_ups.get(e.follow_up_id)
        if thing is not None:
            thing.add("Uitgevoerd op", moment(e.timestamp))
            thing.add("De afspraken zijn nagekomen", yes_no(e.agreements_kept))
            thing.add("Het pesten is gestopt", yes_no(e.bullying_stopped))
            thing.add("De leerling voelt zich veilig", yes_no(e.pupil_feels_safe))
            thing.add("Aantekeningen", e.notes)

    def on_NoteAdded(self, e: Any) -> None:  # noqa: N802
        self.notes.append(
            Entry(
                f"Notitie van {moment(e.timestamp)}",
                _lines(("Notitie", e.text), ("Door", who(e, self.names))),
            )
        )

    def on_ContactRecorded(self, e: Any) -> None:  # noqa: N802
        self.contacts.append(
            Entry(
                f"Contact op {day(e.held_on)}",
                _lines(
                    ("Met", vocabulary_label(ContactParty, e.with_whom)),
                    ("Hoe", vocabulary_label(ContactChannel, e.channel)),
                    ("Leerling erbij", yes_no(e.pupil_present)),
                    ("Besproken", e.discussed),
                    ("Afgesproken", e.agreed),
                    ("Vastgelegd door", who(e, self.names)),
                ),
            )
        )

    def on_ReporterAccessIssued(self, e: Any) -> None:  # noqa: N802
        # The public form: the case's summary says so; the code's hash is never shown.
        self.reporter_messages.append(
            Entry(
                f"Melding via het meldformulier, {moment(e.timestamp)}",
                _lines(("Volgcode", "gegeven aan de melder (niet bewaard)")),
            )
        )

    def on_ReporterMessagePosted(self, e: Any) -> None:  # noqa: N802
        sender = "de school" if e.sender == "school" else "de melder"
        self.reporter_messages.append(
            Entry(
                f"Bericht van {sender}, {moment(e.timestamp)}",
                _lines(("Bericht", e.text), ("Door", who(e, self.names))),
            )
        )

    def on_AttachmentAdded(self, e: Any) -> None:  # noqa: N802
        self.attachments.append(
            Entry(
                f"Bijlage van {moment(e.timestamp)}",
                _lines(
                    ("Bestand", e.file_name),
                    ("Soort", e.media_type),
                    ("Grootte", f"{e.size} bytes"),
                    ("SHA-256", e.sha256),
                    ("Bijschrift", e.caption),
                    ("Door", who(e, self.names)),
                ),
            )
        )

    def on_ComplaintProcedureExplained(self, e: Any) -> None:  # noqa: N802
        self.complaints.append(
            Entry(
                f"Klachtenregeling uitgelegd op {moment(e.timestamp)}",
                _lines(("Uitgelegd aan", e.explained_to), ("Door", who(e, self.names))),
            )
        )

    def on_ComplaintFiled(self, e: Any) -> None:  # noqa: N802
        thing = _Thing(f"Klacht ingediend op {moment(e.timestamp)}")
        thing.add("Ingediend bij", vocabulary_label(ComplaintLevel, e.level))
        thing.add("Klager", e.complainant)
        thing.add("Waar gaat de klacht over?", e.summary)
        thing.add("Reden om een niveau over te slaan", e.skip_reason)
        thing.add("Vastgelegd door", who(e, self.names))
        self.complaint_things[e.complaint_id] = thing
        self.complaints.append(e.complaint_id)
        self.detail["complaints"][str(e.complaint_id)] = {"filed_at": e.timestamp.isoformat()}

    def on_ComplaintSupportAssigned(self, e: Any) -> None:  # noqa: N802
        thing = self.complaint_things.get(e.complaint_id)
        if thing is not None:
            support = vocabulary_label(ComplaintSupportRole, e.support_role)
            thing.add(
                "Ondersteuning", f"{self.names(e.user_id)} als {support} ({day(e.timestamp)})"
            )

    def on_ComplaintEscalated(self, e: Any) -> None:  # noqa: N802
        thing = self.complaint_things.get(e.complaint_id)
        if thing is not None:
            levels = (
                f"van {vocabulary_label(ComplaintLevel, e.from_level)} naar "
                f"{vocabulary_label(ComplaintLevel, e.to_level)} op {moment(e.timestamp)}"
            )
            thing.add("Voorgelegd", levels)
            thing.add("Reden", e.reason)
            thing.add("Reden om een niveau over te slaan", e.skip_reason)

    def on_ComplaintDecided(self, e: Any) -> None:  # noqa: N802
        thing = self.complaint_things.get(e.complaint_id)
        if thing is not None:
            level = vocabulary_label(ComplaintLevel, e.level)
            outcome = vocabulary_label(ComplaintOutcome, e.outcome)
            thing.add("Besluit", f"{outcome} (door {level}, {moment(e.timestamp)})")
            thing.add("Toelichting op het besluit", e.summary)

    def on_ComplaintWithdrawn(self, e: Any) -> None:  # noqa: N802
        thing = self.complaint_things.get(e.complaint_id)
        if thing is not None:
            thing.add("Ingetrokken op", moment(e.timestamp))
            thing.add("Reden van intrekken", e.reason)

    def on_CaseEvaluated(self, e: Any) -> None:  # noqa: N802
        self.evaluation.append(
            Entry(
                f"Geëvalueerd op {moment(e.timestamp)}",
                _lines(
                    ("Wat ging goed?", e.went_well),
                    ("Wat kan beter?", e.to_improve),
                    ("Leerpunten", "; ".join(e.lessons)),
                    ("Door", who(e, self.names)),
                ),
            )
        )

    def on_LessonsShared(self, e: Any) -> None:  # noqa: N802
        self.evaluation.append(
            Entry(
                f"Leerpunten gedeeld op {moment(e.timestamp)}",
                _lines(("Met de anti-pestcoördinator", self.names(e.coordinator_id))),
            )
        )

    def on_CaseClosed(self, e: Any) -> None:  # noqa: N802
        self.closing.append(
            Entry(
                f"Afgesloten op {moment(e.timestamp)}",
                _lines(
                    ("Reden", vocabulary_label(CloseReason, e.reason)),
                    ("Toelichting", e.explanation),
                    ("Door", who(e, self.names)),
                ),
            )
        )

    def on_CaseReopened(self, e: Any) -> None:  # noqa: N802
        self.closing.append(
            Entry(
                f"Heropend op {moment(e.timestamp)}",
                _lines(("Reden", e.reason), ("Door", who(e, self.names))),
            )
        )

    def on_ErasureRequested(self, e: Any) -> None:  # noqa: N802
        self.closing.append(
            Entry(
                f"Leerlinggegevens gewist op {moment(e.timestamp)}",
                _lines(("Reden", e.reason), ("Door", who(e, self.names))),
            )
        )

    def on_PassagesRedacted(self, e: Any) -> None:  # noqa: N802
        self.closing.append(
            Entry(
                f"Passages over een leerling gewist op {moment(e.timestamp)}",
                _lines(
                    ("Aantal passages", str(len(e.passages))),
                    ("Vervangen door", e.replacement),
                    ("Reden", e.reason),
                    ("Door", who(e, self.names)),
                ),
            )
        )

    def complaint_entries(self, case: Case) -> tuple[Entry, ...]:
        """The complaints section: explanations and complaints in recorded order, each complaint
        with its current level and status (from the case's state)."""
        entries: list[Entry] = []
        for item in self.complaints:
            if isinstance(item, Entry):
                entries.append(item)
                continue
            thing = self.complaint_things[item]
            complaint = case.complaints.get(item)
            if complaint is not None:
                status = COMPLAINT_STATUS_NL.get(complaint.status, complaint.status)
                level = vocabulary_label(ComplaintLevel, complaint.level)
                thing.lines.insert(0, Line("Stand", f"{status}, bij {level}"))
            entries.append(thing.entry())
        return tuple(entries)


def _step_entries(fold: _Fold, case: Case) -> tuple[Entry, ...]:
    entries = []
    for step_id, thing in fold.steps.items():
        step = case.steps.get(step_id)
        status = STEP_STATUS_NL.get(step.status, step.status) if step else NONE
        entries.append(Entry(thing.title, (Line("Status", status), *thing.lines)))
    return tuple(entries)


def _consent_entries(fold: _Fold, case: Case) -> tuple[Entry, ...]:
    entries = []
    for consent_id, thing in fold.consents.items():
        consent = case.consents.get(consent_id)
        status = "ingetrokken" if consent is not None and consent.withdrawn else "geldig"
        entries.append(Entry(thing.title, (Line("Status", status), *thing.lines)))
    return tuple(entries)


def _follow_up_entries(fold: _Fold, case: Case) -> tuple[Entry, ...]:
    entries = []
    for follow_up_id, thing in fold.follow_ups.items():
        follow_up = case.follow_ups.get(follow_up_id)
        lines = list(thing.lines)
        if follow_up is not None and follow_up.superseded:
            lines.append(Line("Let op", "vóór het heropenen van de zaak; telt niet meer mee"))
        if follow_up is not None and not follow_up.completed:
            lines.insert(0, Line("Status", "nog niet uitgevoerd"))
        entries.append(Entry(thing.title, tuple(lines)))
    return tuple(entries)


def _timeline(
    events: Iterable[Case.Event],
    detail: Mapping[str, Any],
    describe: Describe,
    names: Names,
    seen: Sight | None = None,
) -> tuple[TimelineItem, ...]:
    items = []
    for event in events:
        name = type(event).__name__
        data: Mapping[str, Any] | None = event_data(event)
        if seen is not None and data is not None:
            data = seen.entry(name, event.actor_id, data)
        if data is None:
            continue
        items.append(
            TimelineItem(
                version=event.originator_version,
                at=event.timestamp,
                at_local=moment(event.timestamp),
                event_type=name,
                label=event_label(name),
                actor_id=event.actor_id,
                actor_role=event.actor_role,
                actor_role_label=role_label(event.actor_role),
                details=tuple(Line(d.label, d.value) for d in describe(name, data, detail)),
                actor_name=names(event.actor_id),
            )
        )
    return tuple(items)


class ExportingSchool(Protocol):
    """What a case file says of the school (a registry entry has these)."""

    @property
    def id(self) -> UUID: ...

    @property
    def name(self) -> str: ...

    @property
    def slug(self) -> str: ...


def build_case_file(
    school: ExportingSchool,
    record: CaseRecord,
    exported_by: Actor,
    now: datetime,
    *,
    describe: Describe,
    names: Names | None = None,
) -> CaseFile:
    """The case file of ``record`` (a case of ``school``), made by ``exported_by`` at ``now``;
    ``describe`` words each timeline entry as the case page does, ``names`` names the people
    (:func:`person_ids` says whom). Need-to-know: only the sections and events of the parts
    ``record.sight`` shows (all without a sight)."""
    case, events, seen = record.case, record.events, record.sight
    names = names if names is not None else Names()
    shown = tuple(
        e
        for e in events
        if seen is None or seen.entry(type(e).__name__, e.actor_id, event_data(e)) is not None
    )
    fold = _Fold(names, first_names_only=seen is not None and not seen.sees(Part.PARTICIPANTS))
    for event in shown:
        fold.apply(event)

    def sees(part: Part) -> bool:
        return seen is None or seen.sees_any(part)

    status = CaseStatus(case.status)
    first, last = events[0], events[-1]
    status_label = vocabulary_label(CaseStatus, status)
    if case.close_reason:
        status_label += f" ({vocabulary_label(CloseReason, case.close_reason)})"
    header = _lines(
        ("School", school.name),
        ("Zaaknummer", str(case.id)),
        ("Status", status_label),
        ("Gemeld op", moment(first.timestamp)),
        ("Gemeld door", vocabulary_label(ReporterKind, case.reporter_kind)),
        ("Eigenaar", names(case.owner_id) if case.owner_id else "nog niemand"),
        (
            "Opvanggesprek",
            (day(case.intake_held_on) if case.intake_held_on else "nog niet")
            if sees(Part.INTAKE)
            else None,
        ),
        ("Laatst gewijzigd op", moment(last.timestamp)),
        ("Aantal gebeurtenissen", str(len(shown))),
        (
            "Hoogste klachtniveau",
            vocabulary_label(ComplaintLevel, case.complaint_level)
            if sees(Part.COMPLAINTS)
            else None,
        ),
        ("Heropend", f"{case.reopened} keer" if case.reopened else None),
        ("Dossier gemaakt op", moment(now)),
        (
            "Dossier gemaakt door",
            f"{names(exported_by.user_id)} ({role_label(exported_by.role)})",
        ),
    )
    every_section: tuple[tuple[Part, Section], ...] = tuple(
        (SECTION_PARTS[section.key], section) for section in _sections(fold, case)
    )
    sections = tuple(section for part, section in every_section if sees(part))
    return CaseFile(
        format=FORMAT,
        title=TITLE,
        school_id=school.id,
        school_name=school.name,
        school_slug=school.slug,
        case_id=case.id,
        version=case.version,
        status=status.value,
        status_label=status_label,
        reported_at=first.timestamp,
        last_changed_at=last.timestamp,
        exported_at=now,
        exported_by_id=exported_by.user_id,
        exported_by_role=str(exported_by.role),
        header=header,
        sections=sections,
        timeline=_timeline(shown, fold.detail, describe, names, seen),
    )


#: Section of the case file -> the part of the case it shows (need-to-know).
SECTION_PARTS: dict[str, Part] = {
    "report": Part.OVERVIEW,
    "participants": Part.PARTICIPANTS,
    "intake": Part.INTAKE,
    "situation": Part.SITUATION,
    "solutions": Part.SITUATION,
    "consents": Part.CONSENTS,
    "steps": Part.STEPS,
    "police": Part.OFFENCE,
    "agreements": Part.AGREEMENTS,
    "aftercare": Part.FOLLOW_UPS,
    "notes": Part.NOTES,
    "contacts": Part.CONTACTS,
    "reporter_messages": Part.MESSAGES,
    "attachments": Part.ATTACHMENTS,
    "complaints": Part.COMPLAINTS,
    "evaluation": Part.EVALUATION,
    "closing": Part.OVERVIEW,
}


def _sections(fold: _Fold, case: Case) -> tuple[Section, ...]:
    return (
        Section("report", "De melding", tuple(fold.summary + fold.owner)),
        Section("participants", "Betrokken leerlingen", tuple(fold.participants)),
        Section("intake", "Opvanggesprek", tuple(fold.intake)),
        Section("situation", "De pestsituatie", tuple(fold.situation)),
        Section("solutions", "Oplossingen", tuple(fold.solutions)),
        Section("consents", "Toestemming", _consent_entries(fold, case)),
        Section("steps", "Stappen", _step_entries(fold, case)),
        Section("police", "Strafbaar feit, politie en incidentregistratie", tuple(fold.police)),
        Section("agreements", "Afspraken", tuple(fold.agreements)),
        Section("aftercare", "Nazorg", _follow_up_entries(fold, case)),
        Section("notes", "Notities", tuple(fold.notes)),
        Section("contacts", "Contact met leerling en ouders", tuple(fold.contacts)),
        Section("reporter_messages", "Berichten met de melder", tuple(fold.reporter_messages)),
        Section("attachments", "Bijlagen", tuple(fold.attachments)),
        Section("complaints", "Klachten", fold.complaint_entries(case)),
        Section("evaluation", "Evaluatie en leerpunten", tuple(fold.evaluation)),
        Section("closing", "Afsluiten en heropenen", tuple(fold.closing)),
    )


def person_ids(record: CaseRecord, exported_by: Actor) -> set[str]:
    """Every person a case file names: the actors, and the people the events name."""
    found = {exported_by.user_id}
    for event in record.events:
        found.add(event.actor_id)
        found |= ids_in(event_data(event))
    if record.case.owner_id:
        found.add(record.case.owner_id)
    return found


def file_name(case_file: CaseFile, extension: str) -> str:
    """The name of a downloaded case file: ids only, never a name."""
    return f"dossier-{str(case_file.case_id)[:8]}-v{case_file.version}.{extension}"
