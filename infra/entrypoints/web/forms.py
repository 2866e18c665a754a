"""HTML forms for the case actions, derived from each action's body dataclass.

One convention turns a body field into a form field, so a new command gets its form by adding
it to :data:`infra.entrypoints.web.actions.ACTIONS` (and, at most, a Dutch label here):

=========================================  ======================================================
body field                                 form field
=========================================  ======================================================
``expected_version``                       hidden (the version of the case the page showed)
``UUID`` with a default factory            not shown: a new id, generated when the body is built
                                           (``participant_id``, ``step_id`` of plan-step, ...)
``UUID`` without default                   a select of the things of the case it refers to
                                           (``step_id``, ``consent_id``, ``follow_up_id``,
                                           ``complaint_id``), from the case's detail document
``str`` with a vocabulary                  a select with the Dutch labels (``kind``, ``role``,
                                           ``frequency``, ``level``, close ``reason``, ...)
``list[str]`` with a vocabulary            a group of checkboxes (``forms``, ``covers``, ...)
``list[str]`` without one                  a textarea, one value per line (``lessons``)
``str`` named like long text               a textarea (``summary``, ``description``, ...)
other ``str`` / ``str | None``             a text input (``None`` when left empty)
``date`` / ``date | None``                 ``<input type="date">``
``bool``                                   a checkbox
=========================================  ======================================================

A field without a default is required. :func:`parse_form` turns the posted form back into a
body, or into Dutch messages per field; the domain still checks everything again.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from infra.entrypoints.web.actions import Action, vocabulary_for
from services.access.roles import Role
from services.casework import rules
from services.casework.deciders import may_complain_at_level
from services.casework.labels import dutch_date, label_of, parse_date, vocabulary_label
from services.casework.rules import RecordedConsent
from services.casework.vocabulary import (
    ComplaintLevel,
    ConsentGiver,
    StepKind,
)
from services.shared.text import MAX_TEXT, TextProblem, text_problem


def options_of(kind: type[StrEnum]) -> tuple[Option, ...]:
    return tuple(Option(v.value, label_of(v)) for v in kind)


LONG_TEXT = frozenset(
    {
        "summary",
        "description",
        "notes",
        "note",
        "outcome",
        "text",
        "reason",
        "explanation",
        "desired",
        "possible",
        "chosen_approach",
        "went_well",
        "to_improve",
        "purpose",
        "skip_reason",
        "discussed",
        "agreed",
    }
)

#: Dutch label per field name; ``(action, field)`` overrides where the same name means more.
FIELD_LABELS_NL: dict[str, str] = {
    "owner_id": "Eigenaar",
    "pupil_ref": "Leerlingreferentie (bijvoorbeeld het leerlingnummer)",
    "role": "Rol in deze zaak",
    "display_name": "Naam zoals getoond in de zaak",
    "group": "Groep of klas",
    "pupil_id": "Leerling uit het leerlingregister",
    "held_on": "Datum van het gesprek",
    "summary": "Samenvatting",
    "forms": "Vormen van pesten",
    "locations": "Waar gebeurt het?",
    "since": "Sinds wanneer?",
    "frequency": "Hoe vaak?",
    "impact": "Impact op de leerling",
    "description": "Omschrijving",
    "desired": "Gewenste oplossing van leerling en ouders",
    "possible": "Mogelijke oplossingen",
    "chosen_approach": "Gekozen aanpak",
    "given_by": "Toestemming gegeven door",
    "covers": "Voor welke soorten stappen?",
    "consent_id": "Toestemming",
    "reason": "Reden",
    "kind": "Soort stap",
    "due_on": "Uiterlijk op",
    "assignee_id": "Uitvoerder",
    "step_id": "Stap",
    "user_id": "Collega",
    "staff_role": "In welke functie?",
    "purpose": "Doel",
    "outcome": "Resultaat",
    "advised_to": "Advies gegeven aan",
    "note": "Toelichting",
    "text": "Tekst",
    "parties": "Tussen wie is de afspraak gemaakt?",
    "review_on": "Afspraak evalueren op",
    "follow_up_id": "Nazorgmoment",
    "agreements_kept": "De afspraken zijn nagekomen",
    "bullying_stopped": "Het pesten is gestopt",
    "pupil_feels_safe": "De leerling voelt zich veilig",
    "notes": "Aantekeningen",
    "went_well": "Wat ging goed?",
    "to_improve": "Wat kan beter?",
    "lessons": "Leerpunten (één per regel)",
    "coordinator_id": "Anti-pestcoördinator",
    "explanation": "Toelichting",
    "explained_to": "Uitgelegd aan",
    "complainant": "Klager",
    "level": "Niveau",
    "skip_reason": "Reden om een niveau over te slaan",
    "complaint_id": "Klacht",
    "support_role": "Rol van de ondersteuner",
    "to_level": "Naar niveau",
    "reporter_kind": "Wie meldt het pesten?",
    "open_complaints_acknowledged": "Ik weet dat de klacht blijft lopen en sluit de zaak toch af",
    "with_whom": "Met wie?",
    "channel": "Hoe?",
    "discussed": "Wat is besproken?",
    "agreed": "Wat is afgesproken?",
    "pupil_present": "De leerling was erbij",
    "categories": "Incidentcategorieën",
    "list_version": "Lijst van categorieën",
    "report_due_on": "Melden aan de Inspectie uiterlijk op (optioneel)",
    "reported_on": "Gemeld op",
    "reference": "Kenmerk van de Inspectie (optioneel)",
}
ACTION_FIELD_LABELS_NL: dict[tuple[str, str], str] = {
    ("record-inspectie-report", "channel"): "Hoe gemeld?",
    ("add-note", "text"): "Notitie",
    ("reply-to-reporter", "text"): "Uw bericht aan de melder",
    ("record-agreement", "text"): "Afspraak",
    ("schedule-follow-up", "due_on"): "Datum van het nazorggesprek",
    ("plan-step", "due_on"): "Uiterlijk uitgevoerd op",
    ("assign-complaint-support", "user_id"): "Wie ondersteunt?",
    ("decide-complaint", "outcome"): "Uitkomst",
    ("decide-complaint", "summary"): "Toelichting op het besluit",
    ("file-complaint", "summary"): "Waar gaat de klacht over?",
    ("hold-intake", "summary"): "Samenvatting van het gesprek",
    ("close", "reason"): "Waarom wordt de zaak afgesloten?",
    ("cancel-step", "reason"): "Waarom vervalt de stap?",
    ("withdraw-consent", "reason"): "Reden",
    ("complete-step", "outcome"): "Wat is het resultaat van de stap?",
    ("report", "summary"): "Wat is er gemeld?",
    ("redact-passages", "passages"): "Passages die de leerling noemen",
    ("redact-passages", "replacement"): "Vervangende tekst (optioneel)",
    ("redact-passages", "reason"): "Reden",
}
FIELD_HINTS_NL: dict[tuple[str, str], str] = {
    ("add-participant", "pupil_ref"): (
        "Alleen voor een leerling die niet in het register staat: het leerlingnummer uit de "
        "leerlingadministratie. De leerling wordt dan aan het leerlingregister toegevoegd; staat "
        "er al een leerling met dit nummer in, dan wordt die leerling gekoppeld."
    ),
    ("add-participant", "pupil_id"): (
        "Zoek de leerling hierboven op naam, groep of leerlingnummer en kies de leerling. Staat "
        "de leerling niet in het register? Kies dan 'Niet in het register' en vul hieronder "
        "leerlingnummer, naam en groep in."
    ),
    ("engage-person", "staff_role"): (
        "Leeg laten: de eerste functie van de collega die hiervoor kan worden ingeschakeld."
    ),
    ("engage-person", "user_id"): "Collega's van de school die u bij een stap kunt betrekken.",
    ("assign-complaint-support", "user_id"): (
        "Een vertrouwenspersoon, of de klachtbehandelaar van het niveau van de klacht."
    ),
    ("explain-complaint-procedure", "explained_to"): "Bijvoorbeeld: ouders, leerling.",
    ("file-complaint", "complainant"): "Bijvoorbeeld: ouders, leerling.",
    ("file-complaint", "skip_reason"): (
        "Alleen nodig als de klacht niet bij de directie begint (bijvoorbeeld direct naar de "
        "klachtencommissie)."
    ),
    ("escalate-complaint", "skip_reason"): "Alleen nodig als een niveau wordt overgeslagen.",
    ("give-consent", "covers"): (
        "Er worden nooit stappen gezet zonder dat de gepeste leerling daarvan weet en eraan toe "
        "is. Kies alleen de stappen waarvoor dat geldt."
    ),
    ("close", "explanation"): "Verplicht bij doorverwijzen of intrekken.",
    ("mark-serious-incident", "report_due_on"): (
        "Leeg laten: twee schooldagen vanaf vandaag. Het signaal blijft staan tot de melding is "
        "vastgelegd."
    ),
    ("record-inspectie-report", "reference"): (
        "Alleen het kenmerk of nummer van de melding: geen namen, geen beschrijving."
    ),
    ("hold-intake", "held_on"): "De dag waarop het gesprek plaatsvond: vandaag of eerder.",
    ("map-situation", "since"): "Vandaag of eerder; leeg laten als het niet bekend is.",
    ("decide-complaint", "complaint_id"): (
        "Over een klacht bij de directie besluit de directie, bij het bestuur het bestuur. De "
        "klachtencommissie geeft het bestuur advies; het bestuur besluit daarna en legt dat "
        "besluit hier vast."
    ),
    ("evaluate", "lessons"): "Deze leerpunten deelt u daarna met de anti-pestcoördinator.",
    ("record-agreement", "parties"): "Bijvoorbeeld: leerlingen en mentor.",
    ("reply-to-reporter", "text"): (
        "De melder leest dit met de volgcode. Schrijf eenvoudig en noem geen andere leerlingen."
    ),
    ("record-contact", "held_on"): "De dag van het gesprek, telefoontje, mailtje of de brief.",
    ("record-contact", "pupil_present"): (
        "Alleen nodig bij contact met de ouders: was de leerling bij het gesprek?"
    ),
    ("record-contact", "agreed"): (
        "Afspraken over de aanpak legt u daarnaast vast met 'Afspraak vastleggen'."
    ),
    ("redact-passages", "passages"): (
        "Vangnet zocht de naam en de verwijzing van de leerlingen van deze zaak in alle teksten. "
        "Vink aan wat gewist moet worden: de tekst is daarna voorgoed weg."
    ),
    ("redact-passages", "replacement"): "Leeg laten: de passage toont dan [gewist].",
    ("request-erasure", "reason"): (
        "Wis eerst de passages die de leerling noemen (Passages over een leerling wissen): "
        "na het wissen van de leerlinggegevens kan Vangnet niet meer op de naam zoeken."
    ),
}


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    """One field of an action's form."""

    name: str
    label: str
    #: text | textarea | lines | date | checkbox | checkboxes | select | pupil (the pupil picker:
    #: radio buttons of the register's pupils a search found, see :func:`with_pupil_options`)
    widget: str
    required: bool
    id: str
    options: tuple[Option, ...] = ()
    hint: str = ""
    reference: bool = False
    #: A picker of people of the school (its options: who may take the part).
    person: bool = False


@dataclass
class FormSpec:
    """An action's form as a page shows it: fields, the values and errors of a failed post."""

    action: str
    label: str
    url: str
    fields: list[FieldSpec]
    expected_version: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Why the form is not offered now (Dutch); ``None`` when it is.
    unavailable: str | None = None
    form_error: str | None = None
    #: Something to know before sending the form (Dutch), e.g. a complaint that stays open.
    notice: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def value(self, name: str) -> Any:
        return self.values.get(name, "")


@dataclass(frozen=True)
class Parsed:
    """The result of :func:`parse_form`: a body, or Dutch errors per field (and the values)."""

    body: Any | None
    errors: dict[str, str]
    values: dict[str, Any]


# --- reading a body type -------------------------------------------------------------------


def _hints(body_type: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(body_type)


def _optional(tp: Any) -> tuple[Any, bool]:
    """(the inner type, whether ``None`` is allowed)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _generated(f: dataclasses.Field[Any], tp: Any) -> bool:
    return tp is UUID and f.default_factory is not dataclasses.MISSING


def field_label(action: str, name: str) -> str:
    return ACTION_FIELD_LABELS_NL.get((action, name)) or FIELD_LABELS_NL.get(name) or name


#: Fields that name a pupil of the school's register: the pupil picker (the action page searches
#: the register; the case page links there). Not checked against the options when posted: the
#: domain checks the pupil (``PupilRegister.linkable``), and a search may have shown others.
PUPIL_FIELD_NAMES = frozenset({"pupil_id"})


def _widget(action: str, name: str, tp: Any) -> str:
    inner, _ = _optional(tp)
    if name in PUPIL_FIELD_NAMES and inner is str:
        return "pupil"
    if inner is bool:
        return "checkbox"
    if inner is date:
        return "date"
    if typing.get_origin(inner) is list:
        return "checkboxes" if vocabulary_for(action, name) else "lines"
    if inner is UUID:
        return "select"
    if vocabulary_for(action, name):
        return "select"
    return "textarea" if name in LONG_TEXT else "text"


# --- the case's things a reference field can point to ---------------------------------------


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def active_consents(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {k: c for k, c in (detail.get("consents") or {}).items() if not c.get("withdrawn")}


def covered_kinds(detail: Mapping[str, Any]) -> list[str]:
    """The step kinds an active (not withdrawn) consent covers, in vocabulary order."""
    covered = rules.covered_kinds(
        RecordedConsent.of(c) for c in (detail.get("consents") or {}).values()
    )
    return [k.value for k in StepKind if k.value in covered]


def _step_options(detail: Mapping[str, Any], *, covered_only: bool) -> tuple[Option, ...]:
    covered = set(covered_kinds(detail))
    found = []
    for step_id, step in (detail.get("steps") or {}).items():
        if step.get("status") != "planned":
            continue
        if covered_only and step.get("kind") not in covered:
            continue
        kind = vocabulary_label(StepKind, step.get("kind"))
        found.append(Option(step_id, f"{kind}: {_short(step.get('description', ''))}"))
    return tuple(found)


def _consent_options(detail: Mapping[str, Any]) -> tuple[Option, ...]:
    return tuple(
        Option(
            consent_id,
            f"{vocabulary_label(ConsentGiver, c.get('given_by'))}: "
            + ", ".join(vocabulary_label(StepKind, k) for k in c.get("covers", [])),
        )
        for consent_id, c in active_consents(detail).items()
    )


def _follow_up_options(detail: Mapping[str, Any]) -> tuple[Option, ...]:
    return tuple(
        Option(fid, f"Nazorg gepland op {dutch_date(f.get('due_on'))}")
        for fid, f in sorted(
            (detail.get("follow_ups") or {}).items(), key=lambda kv: kv[1].get("due_on", "")
        )
        if not f.get("completed")
    )


#: A complaint level as the subject or object of a Dutch sentence.
LEVEL_WITH_ARTICLE_NL: dict[ComplaintLevel, str] = {
    ComplaintLevel.MANAGEMENT: "de directie",
    ComplaintLevel.BOARD: "het bestuur",
    ComplaintLevel.COMMITTEE: "de klachtencommissie",
}


def level_with_article(level: object) -> str:
    """``de directie``, ``het bestuur``, ``de klachtencommissie`` (unknown: as it is)."""
    try:
        return LEVEL_WITH_ARTICLE_NL[ComplaintLevel(str(level))]
    except ValueError:
        return str(level)


COMPLAINT_STATUS_NL = {"open": "lopend", "decided": "besloten", "withdrawn": "ingetrokken"}


def _complaint_options(detail: Mapping[str, Any], action: str, role: Role) -> tuple[Option, ...]:
    found = []
    for complaint_id, c in (detail.get("complaints") or {}).items():
        status = c.get("status")
        if action == "escalate-complaint":
            if status == "withdrawn":
                continue
        elif status != "open":
            continue
        if action == "decide-complaint" and not may_complain_at_level(role, c.get("level", "")):
            continue
        level = vocabulary_label(ComplaintLevel, c.get("level"))
        filed = dutch_date(str(c.get("filed_at", ""))[:10])
        status_nl = COMPLAINT_STATUS_NL.get(str(status), str(status))
        found.append(Option(complaint_id, f"Klacht van {filed} bij {level} ({status_nl})"))
    return tuple(found)


def _reference_options(
    action: str, name: str, detail: Mapping[str, Any], role: Role
) -> tuple[Option, ...]:
    if name == "step_id":
        # Engaging someone for or completing a step needs consent for its kind (invariant 1).
        return _step_options(detail, covered_only=action in {"engage-person", "complete-step"})
    if name == "consent_id":
        return _consent_options(detail)
    if name == "follow_up_id":
        return _follow_up_options(detail)
    if name == "complaint_id":
        return _complaint_options(detail, action, role)
    return ()


#: Fields that name a person (their form field is a picker when the page gives its options).
PERSON_FIELD_NAMES = frozenset({"owner_id", "assignee_id", "user_id", "coordinator_id"})
NO_PEOPLE_NL = (
    "Er staat (nog) niemand in de personeelslijst van de school die dit kan doen. Wie inlogt of "
    "door de school wordt aangemeld, verschijnt hier."
)

NO_OPTIONS_NL: dict[str, str] = {
    "step_id": "Er is geen geplande stap waarvoor dit nu kan.",
    "consent_id": "Er is geen geldige toestemming vastgelegd.",
    "follow_up_id": "Er is geen nazorgmoment gepland dat nog moet worden vastgelegd.",
    "complaint_id": "Er is geen klacht waarvoor dit nu kan.",
}


# --- building forms ---------------------------------------------------------------------------


def fields_for(
    body_type: type[Any],
    action: str,
    *,
    detail: Mapping[str, Any] | None = None,
    role: Role | None = None,
    omit: Sequence[str] = (),
    choices: Mapping[str, tuple[Option, ...]] | None = None,
) -> list[FieldSpec]:
    """The visible fields of ``body_type``'s form (see the module docstring). ``choices``: a
    select for these fields with these options (the people pickers, the engaged colleague's
    role), whatever their type."""
    hints = _hints(body_type)
    specs = []
    for f in dataclasses.fields(body_type):
        if f.name == "expected_version" or f.name in omit:
            continue
        tp = hints[f.name]
        inner, _ = _optional(tp)
        if _generated(f, inner):
            continue
        widget = _widget(action, f.name, tp)
        vocabulary = vocabulary_for(action, f.name)
        options: tuple[Option, ...] = ()
        reference = inner is UUID
        picked = (choices or {}).get(f.name)
        if picked is not None:
            widget, options = "select", picked
        elif reference:
            options = _reference_options(action, f.name, detail or {}, role or Role.CONTACT_PERSON)
        elif vocabulary is not None:
            options = options_of(vocabulary)
            if action == "plan-step" and f.name == "kind":
                # Only kinds of steps the pupil (and parents) consented to (invariant 1).
                allowed = set(covered_kinds(detail or {}))
                options = tuple(o for o in options if o.value in allowed)
        required = not _has_default(f) and widget != "checkbox"
        if widget == "checkboxes" and f.default_factory is not dataclasses.MISSING:
            required = False
        specs.append(
            FieldSpec(
                name=f.name,
                label=field_label(action, f.name),
                widget=widget,
                required=required,
                id=f"{action}-{f.name}".replace("_", "-"),
                options=options,
                hint=FIELD_HINTS_NL.get((action, f.name), ""),
                reference=reference,
                person=picked is not None and f.name in PERSON_FIELD_NAMES,
            )
        )
    # The pupil picker first: picking from the register comes before adding one on the spot.
    specs.sort(key=lambda spec: spec.widget != "pupil")
    return specs


def with_pupil_options(form: FormSpec, options: tuple[Option, ...]) -> FormSpec:
    """``form`` with these pupils (a search of the register) offered by its pupil picker."""
    fields = [
        dataclasses.replace(f, options=options) if f.widget == "pupil" else f for f in form.fields
    ]
    return dataclasses.replace(form, fields=fields)


def without_pupil_picker(form: FormSpec) -> FormSpec:
    """``form`` without its pupil picker (a viewer who may not read the register)."""
    return dataclasses.replace(form, fields=[f for f in form.fields if f.widget != "pupil"])


def defaults_for(body_type: type[Any], action: str, today: date) -> dict[str, Any]:
    """Sensible first values: today for the date of what just happened, vocabulary defaults."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(body_type):
        if f.name in {"held_on"}:
            values[f.name] = today.isoformat()
        elif isinstance(f.default, str) and f.default and vocabulary_for(action, f.name):
            values[f.name] = f.default
    return values


def unavailable_reason(fields: Sequence[FieldSpec]) -> str | None:
    """Why the form cannot be used (a required reference or choice without options)."""
    for spec in fields:
        if spec.widget in {"select", "checkboxes"} and spec.required and not spec.options:
            if spec.person:
                return NO_PEOPLE_NL
            if spec.reference:
                return NO_OPTIONS_NL.get(spec.name, "Er is nu niets om uit te kiezen.")
            return f"Er is nu niets om uit te kiezen bij '{spec.label}'."
    return None


# --- parsing a posted form ----------------------------------------------------------------------

REQUIRED_NL = "Vul dit veld in."
CHOOSE_NL = "Maak een keuze."
CHOOSE_ONE_OR_MORE_NL = "Kies ten minste één mogelijkheid."
INVALID_CHOICE_NL = "Deze keuze is niet (meer) mogelijk. Maak een andere keuze."
INVALID_DATE_NL = "Vul een geldige datum in, bijvoorbeeld 21-11-2026."
#: Dutch sentence per problem of :func:`services.shared.text.text_problem`.
TEXT_PROBLEMS_NL: dict[TextProblem, str] = {
    TextProblem.NOT_TEXT: "Vul hier tekst in.",
    TextProblem.REQUIRED: REQUIRED_NL,
    TextProblem.TOO_LONG: f"De tekst is te lang (maximaal {MAX_TEXT} tekens).",
    TextProblem.UNSAFE_CHARACTERS: (
        "De tekst bevat een teken dat niet is toegestaan (een stuurteken). "
        "Gebruik gewone letters, cijfers, leestekens en regels."
    ),
}


def _first(form: Mapping[str, Sequence[Any]], name: str) -> str:
    values = form.get(name) or []
    value = values[0] if values else ""
    return value if isinstance(value, str) else ""


_MISSING = object()


def _parse_checkbox(spec: FieldSpec, form: Mapping[str, Sequence[Any]]) -> tuple[Any, Any, str]:
    value = _first(form, spec.name) in {"on", "true", "1", "ja"}
    return value, value, ""


def _parse_checkboxes(spec: FieldSpec, form: Mapping[str, Sequence[Any]]) -> tuple[Any, Any, str]:
    picked = [v for v in form.get(spec.name, []) if isinstance(v, str) and v]
    if any(v not in {o.value for o in spec.options} for v in picked):
        return picked, _MISSING, INVALID_CHOICE_NL
    if spec.required and not picked:
        return picked, _MISSING, CHOOSE_ONE_OR_MORE_NL
    return picked, picked, ""


def _parse_lines(spec: FieldSpec, form: Mapping[str, Sequence[Any]]) -> tuple[Any, Any, str]:
    raw = _first(form, spec.name)
    lines = []
    for line in raw.splitlines():
        cleaned, problem = text_problem(line, required=False)
        if problem is not None:
            return raw, _MISSING, TEXT_PROBLEMS_NL[problem]
        if cleaned:
            lines.append(cleaned)
    return raw, lines, ""


def _empty(spec: FieldSpec, raw: str, optional: bool, message: str) -> tuple[Any, Any, str]:
    """A field left empty: an error when required, else None (optional) or the default."""
    if spec.required:
        return raw, _MISSING, message
    if optional:
        return raw, None, ""
    return raw, ("" if spec.widget in {"text", "textarea"} else _MISSING), ""


def _parse_select(
    spec: FieldSpec, form: Mapping[str, Sequence[Any]], tp: Any, optional: bool
) -> tuple[Any, Any, str]:
    raw = _first(form, spec.name).strip()
    if not raw:
        return _empty(spec, raw, optional, CHOOSE_NL)
    if raw not in {o.value for o in spec.options}:
        return raw, _MISSING, INVALID_CHOICE_NL
    return raw, (UUID(raw) if tp is UUID else raw), ""


def _parse_date_field(
    spec: FieldSpec, form: Mapping[str, Sequence[Any]], optional: bool
) -> tuple[Any, Any, str]:
    raw = _first(form, spec.name).strip()
    if not raw:
        return _empty(spec, raw, optional, REQUIRED_NL)
    day = parse_date(raw)
    if day is None:
        return raw, _MISSING, INVALID_DATE_NL
    return day.isoformat(), day, ""


def _parse_text(
    spec: FieldSpec, form: Mapping[str, Sequence[Any]], optional: bool
) -> tuple[Any, Any, str]:
    raw = _first(form, spec.name)
    text, problem = text_problem(raw)
    if problem is TextProblem.REQUIRED:
        return _empty(spec, raw, optional, REQUIRED_NL)
    if problem is not None:
        return raw, _MISSING, TEXT_PROBLEMS_NL[problem]
    return raw, text, ""


def parse_field(
    spec: FieldSpec, form: Mapping[str, Sequence[Any]], tp: Any
) -> tuple[Any, Any, str]:
    """(the value to show again, the value for the body or ``_MISSING``, a Dutch error)."""
    inner, optional = _optional(tp)
    if spec.widget == "checkbox":
        return _parse_checkbox(spec, form)
    if spec.widget == "checkboxes":
        return _parse_checkboxes(spec, form)
    if spec.widget == "lines":
        return _parse_lines(spec, form)
    if spec.widget == "select":
        return _parse_select(spec, form, inner, optional)
    if spec.widget == "date":
        return _parse_date_field(spec, form, optional)
    return _parse_text(spec, form, optional)


def parse_form(
    body_type: type[Any],
    form: Mapping[str, Sequence[Any]],
    fields: Sequence[FieldSpec],
) -> Parsed:
    """The body of ``body_type`` from a posted form, or Dutch messages per field.

    ``form`` maps each name to all its posted values (``FormMultiDict.dict()``); ``fields`` are
    the fields the form showed (their options are the only valid choices). Fields the form did
    not show (generated ids) keep the dataclass default; ``expected_version`` comes from the
    hidden field.
    """
    specs = {spec.name: spec for spec in fields}
    hints = _hints(body_type)
    kwargs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for f in dataclasses.fields(body_type):
        if f.name == "expected_version":
            raw = _first(form, "expected_version").strip()
            if raw.isdigit():
                kwargs[f.name] = int(raw)
            continue
        spec = specs.get(f.name)
        if spec is None:
            continue
        shown, value, error = parse_field(spec, form, hints[f.name])
        values[f.name] = shown
        if error:
            errors[f.name] = error
        elif value is not _MISSING:
            kwargs[f.name] = value
    if errors:
        return Parsed(body=None, errors=errors, values=values)
    return Parsed(body=body_type(**kwargs), errors={}, values=values)


ACKNOWLEDGE_OPEN_COMPLAINTS = "open_complaints_acknowledged"


def open_complaints(detail: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The case's complaints that are still open, in the order they were filed."""
    found = [c for c in (detail.get("complaints") or {}).values() if c.get("status") == "open"]
    return sorted(found, key=lambda c: str(c.get("filed_at", "")))


def open_complaints_notice(detail: Mapping[str, Any]) -> str | None:
    """What the close form says while complaints are open (None: none are)."""
    found = open_complaints(detail)
    if not found:
        return None
    which = "; ".join(
        f"bij {level_with_article(c.get('level'))}, ingediend op "
        f"{dutch_date(str(c.get('filed_at', '')))}"
        for c in found
    )
    if len(found) == 1:
        return (
            f"Let op: er loopt nog een klacht ({which}). Afsluiten van de zaak beëindigt de klacht "
            "niet: die blijft lopen tot er over is besloten of de klager haar intrekt."
        )
    return (
        f"Let op: er lopen nog {len(found)} klachten ({which}). Afsluiten van de zaak beëindigt "
        "de klachten niet: die blijven lopen tot er over is besloten of ze worden ingetrokken."
    )


def action_form(
    action: Action,
    case_id: UUID,
    detail: Mapping[str, Any],
    version: int,
    role: Role,
    choices: Mapping[str, tuple[Option, ...]] | None = None,
) -> FormSpec:
    """The form of ``action`` on one case, as the case page offers it.

    Closing asks for the acknowledgement of open complaints, with a warning, only while a
    complaint is open (the domain refuses to close without it then).
    """
    omit: list[str] = []
    notice = None
    if action.name == "close":
        notice = open_complaints_notice(detail)
        if notice is None:
            omit.append(ACKNOWLEDGE_OPEN_COMPLAINTS)
    fields = fields_for(
        action.body, action.name, detail=detail, role=role, omit=omit, choices=choices
    )
    return FormSpec(
        action=action.name,
        label=action.label_nl,
        url=f"/zaken/{case_id}/{action.name}",
        fields=fields,
        expected_version=version,
        unavailable=unavailable_reason(fields),
        notice=notice,
    )
