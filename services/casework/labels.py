"""The Dutch words of a case: its vocabulary's labels, its events' names, its dates.

One place for what a case is called in Dutch, so the pages, the e-mails and the case file say
the same (the vocabulary's own labels are ``services.casework.vocabulary.LABELS_NL``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from services.casework.vocabulary import LABELS_NL
from services.shared.clock import SCHOOL_TZ


def label_of(value: StrEnum) -> str:
    """The Dutch label of one vocabulary value (the value itself if none is known)."""
    return LABELS_NL.get(value) or str(value)


def vocabulary_label(kind: type[StrEnum], value: str | None) -> str:
    """The Dutch label of ``value`` in ``kind``; unknown values are shown as they are."""
    if value is None:
        return ""
    try:
        return label_of(kind(value))
    except ValueError:
        return value


#: Every case event type, in Dutch (the timeline and the protocol editor).
EVENT_LABELS_NL: dict[str, str] = {
    "CaseReported": "Melding vastgelegd",
    "OwnerAssigned": "Eigenaar toegewezen",
    "ParticipantAdded": "Betrokken leerling toegevoegd",
    "IntakeHeld": "Opvanggesprek (intake) gehouden",
    "SituationMapped": "Pestsituatie in kaart gebracht",
    "SolutionsDiscussed": "Oplossingen besproken",
    "ConsentGiven": "Toestemming vastgelegd",
    "ConsentWithdrawn": "Toestemming ingetrokken",
    "StepPlanned": "Stap gepland",
    "PersonEngaged": "Collega ingeschakeld",
    "StepCompleted": "Stap afgerond",
    "StepCancelled": "Stap vervallen",
    "CriminalOffenceFlagged": "Strafbaar feit vastgelegd",
    "PoliceReportAdvised": "Aangifte bij de politie geadviseerd",
    "AgreementRecorded": "Afspraak vastgelegd",
    "FollowUpScheduled": "Nazorg gepland",
    "FollowUpCompleted": "Nazorg uitgevoerd",
    "NoteAdded": "Notitie toegevoegd",
    "AttachmentAdded": "Bijlage toegevoegd",
    "ReporterAccessIssued": "Melding via het meldformulier: volgcode gegeven",
    "ReporterMessagePosted": "Bericht met de melder",
    "ContactRecorded": "Contact met leerling/ouders vastgelegd",
    "ComplaintProcedureExplained": "Klachtenregeling uitgelegd",
    "ComplaintFiled": "Klacht ingediend",
    "ComplaintSupportAssigned": "Ondersteuning van de klager toegewezen",
    "ComplaintEscalated": "Klacht voorgelegd aan een hoger niveau",
    "ComplaintDecided": "Besluit over de klacht",
    "ComplaintWithdrawn": "Klacht ingetrokken",
    "CaseEvaluated": "Zaak geëvalueerd",
    "LessonsShared": "Leerpunten gedeeld met de anti-pestcoördinator",
    "CaseClosed": "Zaak afgesloten",
    "CaseReopened": "Zaak heropend",
    "ErasureRequested": "Leerlinggegevens gewist",
    "PassagesRedacted": "Passages over een leerling gewist",
    "IncidentCategorised": "Incidentcategorieën vastgelegd",
    "SeriousIncidentMarked": "Gemarkeerd als ernstig incident",
    "InspectieReportRecorded": "Melding aan de Inspectie vastgelegd",
}


def event_label(event_type: str) -> str:
    return EVENT_LABELS_NL.get(event_type, event_type)


def parse_date(raw: str) -> date | None:
    """``2026-11-21`` (what date inputs send) or ``21-11-2026`` (typed by hand)."""
    raw = raw.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    parts = raw.replace("/", "-").replace(".", "-").split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        try:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            return None
    return None


# --- Dutch dates ---------------------------------------------------------------------------

MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def dutch_date(value: date | str | None) -> str:
    """``21 november 2026`` (empty for None; unparseable text is returned as it is). A moment
    (a datetime, or its ISO text with a time, as the views keep ``filed_at``) is named by its
    Dutch calendar day: a complaint filed at 00:30 in Amsterdam was filed on that day, not on
    the UTC day before."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        moment = _moment(value) if len(value) > 10 else None
        parsed = moment if moment is not None else parse_date(value[:10])
        if parsed is None:
            return value
        value = parsed
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        value = aware.astimezone(SCHOOL_TZ).date()
    return f"{value.day} {MONTHS_NL[value.month - 1]} {value.year}"


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
