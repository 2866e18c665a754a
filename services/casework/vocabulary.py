"""The words of a case (glossary in DESIGN.md §2): fixed vocabularies, stored as plain strings.

Values are stored in events, so they are a permanent contract: add values, never rename them.
Each vocabulary carries its Dutch labels for the UI.
"""

from __future__ import annotations

from enum import StrEnum


class ParticipantRole(StrEnum):
    """The role a pupil has in THIS case; the same pupil may have another role elsewhere."""

    TARGET = "target"  # gepeste leerling
    ACTOR = "actor"  # pester
    BYSTANDER = "bystander"  # meeloper / omstander
    SUPPORTER = "supporter"  # steun (verdediger, maatje)


class ReporterKind(StrEnum):
    """Who brought the report (melding)."""

    TARGET_PUPIL = "target_pupil"
    PARENT = "parent"
    PEER = "peer"
    STAFF = "staff"
    ANONYMOUS = "anonymous"
    OTHER = "other"


class Form(StrEnum):
    """Forms of bullying (SituationMapped)."""

    PHYSICAL = "physical"
    VERBAL = "verbal"
    RELATIONAL = "relational"
    MATERIAL = "material"
    ONLINE = "online"
    SEXUAL = "sexual"
    DISCRIMINATORY = "discriminatory"


class Location(StrEnum):
    CLASSROOM = "classroom"
    SCHOOLYARD = "schoolyard"
    CORRIDOR = "corridor"
    GYM = "gym"
    WAY_TO_SCHOOL = "way_to_school"
    ONLINE = "online"
    OUTSIDE_SCHOOL = "outside_school"
    OTHER = "other"


class Frequency(StrEnum):
    ONCE = "once"
    SOMETIMES = "sometimes"
    WEEKLY = "weekly"
    DAILY = "daily"


class Impact(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class StepKind(StrEnum):
    """Kinds of steps; consent is given for kinds of steps (invariant 1)."""

    TALK_WITH_ACTOR = "talk_with_actor"
    TALK_WITH_BYSTANDERS = "talk_with_bystanders"
    INFORM_PARENTS_OF_ACTOR = "inform_parents_of_actor"
    GROUP_APPROACH = "group_approach"  # steungroep, herstelrecht, klasklimaat
    ENGAGE_COLLEAGUE = "engage_colleague"  # mentor, leerkracht, IB'er
    ENGAGE_SPECIALIST = "engage_specialist"  # schoolmaatschappelijk werk, externe specialist
    SAFETY_MEASURE = "safety_measure"
    OTHER = "other"


class ConsentGiver(StrEnum):
    PUPIL = "pupil"
    PARENTS = "parents"
    PUPIL_AND_PARENTS = "pupil_and_parents"


class PoliceAdviceTo(StrEnum):
    """The seed: advise the parents, or the pupil when of age, to go to the police."""

    PARENTS = "parents"
    ADULT_PUPIL = "adult_pupil"


class ComplaintLevel(StrEnum):
    """Complaint levels, lowest first: directie → bestuur → klachtencommissie."""

    MANAGEMENT = "management"
    BOARD = "board"
    COMMITTEE = "committee"

    @property
    def rank(self) -> int:
        return list(ComplaintLevel).index(self)


class ComplaintOutcome(StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    REJECTED = "rejected"
    SETTLED = "settled"


class ContactParty(StrEnum):
    """With whom the school had contact (the contact log, issue 14 §2)."""

    PUPIL = "pupil"
    PARENTS = "parents"
    PUPIL_AND_PARENTS = "pupil_and_parents"


class ContactChannel(StrEnum):
    CONVERSATION = "conversation"  # gesprek
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"


class ComplaintSupportRole(StrEnum):
    HANDLER = "handler"  # klachtbehandelaar
    CONFIDENTIAL_ADVISOR = "confidential_advisor"  # vertrouwenspersoon


class CloseReason(StrEnum):
    """Why a case closed (invariant 4)."""

    RESOLVED = "resolved"  # aftercare found the bullying stopped, and the case was evaluated
    REFERRED = "referred"  # handed to others (e.g. zorgteam, police, another school)
    WITHDRAWN = "withdrawn"  # the report was withdrawn


class CaseStatus(StrEnum):
    REPORTED = "reported"  # received, no intake yet
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class IncidentCategory(StrEnum):
    """Incident categories (registration model of Dutch schools: the Arbocatalogus-VO
    incidentregistratie and the Inspectie's categories of serious incidents). Every code any
    version of the list ever had; which codes a version offers is :data:`INCIDENT_LISTS`."""

    SEVERE_BULLYING = "severe_bullying"  # grove pesterijen
    DISCRIMINATION = "discrimination"  # discriminatie
    SEXUAL_MISCONDUCT = "sexual_misconduct"  # seksueel grensoverschrijdend gedrag
    THREAT = "threat"  # bedreiging
    VIOLENCE_WITH_INJURY = "violence_with_injury"  # fysiek geweld met letsel
    VIOLENCE_WITHOUT_INJURY = "violence_without_injury"  # fysiek geweld zonder letsel
    WEAPON = "weapon"  # wapenbezit
    VANDALISM_THEFT = "vandalism_theft"  # vernieling / diefstal
    DRUGS = "drugs"  # drugs (bezit, gebruik, handel)
    RADICALISATION = "radicalisation"  # radicalisering / extremistische uitingen
    ONLINE_SHAMING = "online_shaming"  # sexting / shame sexting, online schandpaal
    OTHER = "other"  # anders


#: The versions of the incident category list: version -> the codes it offers, in form order.
#: A case records the version it was categorised with, so a later list (adding or retiring a
#: category) never changes what was recorded. Add a version; never change one.
INCIDENT_LISTS: dict[str, tuple[IncidentCategory, ...]] = {
    "2026.1": (
        IncidentCategory.SEVERE_BULLYING,
        IncidentCategory.DISCRIMINATION,
        IncidentCategory.SEXUAL_MISCONDUCT,
        IncidentCategory.THREAT,
        IncidentCategory.VIOLENCE_WITH_INJURY,
        IncidentCategory.VIOLENCE_WITHOUT_INJURY,
        IncidentCategory.WEAPON,
        IncidentCategory.VANDALISM_THEFT,
        IncidentCategory.DRUGS,
        IncidentCategory.RADICALISATION,
        IncidentCategory.ONLINE_SHAMING,
        IncidentCategory.OTHER,
    ),
}
#: The list new categorisations use unless they name another version.
CURRENT_INCIDENT_LIST = "2026.1"


class IncidentListVersion(StrEnum):
    """The versions of :data:`INCIDENT_LISTS` (a form offers them as a choice)."""

    V2026_1 = "2026.1"


class ReportChannel(StrEnum):
    """How a serious incident was reported to the Inspectie van het Onderwijs."""

    INSPECTIE_PORTAL = "inspectie_portal"  # het meldportaal / Internet Schooldossier
    EMAIL = "email"
    PHONE = "phone"  # vertrouwensinspecteur / meldpunt
    LETTER = "letter"


LABELS_NL: dict[StrEnum, str] = {
    ParticipantRole.TARGET: "gepeste leerling",
    ParticipantRole.ACTOR: "pester",
    ParticipantRole.BYSTANDER: "meeloper / omstander",
    ParticipantRole.SUPPORTER: "steun",
    ReporterKind.TARGET_PUPIL: "gepeste leerling",
    ReporterKind.PARENT: "ouder",
    ReporterKind.PEER: "medeleerling",
    ReporterKind.STAFF: "medewerker",
    ReporterKind.ANONYMOUS: "anoniem",
    ReporterKind.OTHER: "anders",
    Form.PHYSICAL: "fysiek",
    Form.VERBAL: "verbaal",
    Form.RELATIONAL: "relationeel (buitensluiten)",
    Form.MATERIAL: "materieel (spullen)",
    Form.ONLINE: "online",
    Form.SEXUAL: "seksueel",
    Form.DISCRIMINATORY: "discriminerend",
    Location.CLASSROOM: "klaslokaal",
    Location.SCHOOLYARD: "schoolplein",
    Location.CORRIDOR: "gang",
    Location.GYM: "gymzaal",
    Location.WAY_TO_SCHOOL: "onderweg naar school",
    Location.ONLINE: "online",
    Location.OUTSIDE_SCHOOL: "buiten school",
    Location.OTHER: "anders",
    StepKind.TALK_WITH_ACTOR: "gesprek met pester",
    StepKind.TALK_WITH_BYSTANDERS: "gesprek met meelopers/omstanders",
    StepKind.INFORM_PARENTS_OF_ACTOR: "ouders van pester informeren",
    StepKind.GROUP_APPROACH: "groepsaanpak (steungroep, herstelrecht)",
    StepKind.ENGAGE_COLLEAGUE: "collega inschakelen",
    StepKind.ENGAGE_SPECIALIST: "specialist inschakelen",
    StepKind.SAFETY_MEASURE: "veiligheidsmaatregel",
    StepKind.OTHER: "anders",
    ComplaintLevel.MANAGEMENT: "directie",
    ComplaintLevel.BOARD: "bestuur",
    ComplaintLevel.COMMITTEE: "klachtencommissie",
    CloseReason.RESOLVED: "opgelost",
    CloseReason.REFERRED: "doorverwezen",
    CloseReason.WITHDRAWN: "melding ingetrokken",
    CaseStatus.REPORTED: "gemeld",
    CaseStatus.IN_PROGRESS: "in behandeling",
    CaseStatus.CLOSED: "gesloten",
    Frequency.ONCE: "één keer",
    Frequency.SOMETIMES: "af en toe",
    Frequency.WEEKLY: "wekelijks",
    Frequency.DAILY: "dagelijks",
    Impact.LOW: "klein",
    Impact.MODERATE: "merkbaar",
    Impact.HIGH: "groot",
    ConsentGiver.PUPIL: "de leerling",
    ConsentGiver.PARENTS: "de ouders",
    ConsentGiver.PUPIL_AND_PARENTS: "de leerling en de ouders",
    PoliceAdviceTo.PARENTS: "de ouders",
    PoliceAdviceTo.ADULT_PUPIL: "de meerderjarige leerling",
    ComplaintOutcome.UPHELD: "gegrond",
    ComplaintOutcome.PARTLY_UPHELD: "deels gegrond",
    ComplaintOutcome.REJECTED: "ongegrond",
    ComplaintOutcome.SETTLED: "opgelost in overleg",
    ContactParty.PUPIL: "de leerling",
    ContactParty.PARENTS: "de ouders",
    ContactParty.PUPIL_AND_PARENTS: "de leerling en de ouders",
    ContactChannel.CONVERSATION: "gesprek",
    ContactChannel.PHONE: "telefoon",
    ContactChannel.EMAIL: "e-mail",
    ContactChannel.LETTER: "brief",
    ComplaintSupportRole.HANDLER: "klachtbehandelaar",
    ComplaintSupportRole.CONFIDENTIAL_ADVISOR: "vertrouwenspersoon",
    IncidentCategory.SEVERE_BULLYING: "grove pesterijen",
    IncidentCategory.DISCRIMINATION: "discriminatie",
    IncidentCategory.SEXUAL_MISCONDUCT: "seksueel grensoverschrijdend gedrag",
    IncidentCategory.THREAT: "bedreiging",
    IncidentCategory.VIOLENCE_WITH_INJURY: "fysiek geweld met letsel",
    IncidentCategory.VIOLENCE_WITHOUT_INJURY: "fysiek geweld zonder letsel",
    IncidentCategory.WEAPON: "wapenbezit",
    IncidentCategory.VANDALISM_THEFT: "vernieling / diefstal",
    IncidentCategory.DRUGS: "drugs",
    IncidentCategory.RADICALISATION: "radicalisering",
    IncidentCategory.ONLINE_SHAMING: "sexting / online schandpaal",
    IncidentCategory.OTHER: "anders",
    IncidentListVersion.V2026_1: "lijst 2026.1 (registratiemodel; huidige lijst)",
    ReportChannel.INSPECTIE_PORTAL: "meldportaal Inspectie",
    ReportChannel.EMAIL: "e-mail",
    ReportChannel.PHONE: "telefoon",
    ReportChannel.LETTER: "brief",
}
