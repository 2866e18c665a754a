"""A refused command, said in Dutch: what is missing, for the person at the form.

The domain refuses with an English message for the API and the same facts in a structured form
(``reason``, ``field``, ``missing``, ``details``: :mod:`services.shared.errors`). This module
turns those facts into plain Dutch for busy school staff: the sentence for the top of the form
(:func:`refusal_nl`) and, when one field is to blame, the message beside it
(:func:`field_error_nl`).
Nothing here reads the English message, and nothing here decides a rule: the domain does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.entrypoints.web.forms import (
    INVALID_DATE_NL,
    REQUIRED_NL,
    TEXT_PROBLEMS_NL,
    level_with_article,
)
from infra.entrypoints.web.problems import dutch_title
from services.casework.labels import vocabulary_label
from services.casework.rules import DateProblem, Missing, StateReason
from services.casework.vocabulary import CloseReason, ComplaintLevel, StepKind
from services.shared.errors import (
    CaseClosed,
    CloseNotAllowed,
    ComplaintLevelError,
    ConsentMissing,
    DomainError,
    InvalidInput,
    OffenceNotFlagged,
    PermissionDenied,
    WrongState,
)
from services.shared.text import TextProblem

WRONG_STATE_NL: dict[StateReason, str] = {
    StateReason.INTAKE_RECORDED: "Het opvanggesprek is al vastgelegd.",
    StateReason.STEP_COMPLETED: "Deze stap is al afgerond.",
    StateReason.STEP_CANCELLED: "Deze stap is al vervallen.",
    StateReason.CONSENT_WITHDRAWN: "Deze toestemming is al ingetrokken.",
    StateReason.FOLLOW_UP_RECORDED: "Dit nazorgmoment is al vastgelegd.",
    StateReason.COMPLAINT_DECIDED: (
        "Over deze klacht is op dit niveau al besloten. Is de klager het er niet mee eens, zet "
        "de klacht dan door naar het volgende niveau."
    ),
    StateReason.COMPLAINT_WITHDRAWN: "Deze klacht is ingetrokken.",
    StateReason.CASE_NOT_CLOSED: "De zaak is niet afgesloten: heropenen is niet nodig.",
    StateReason.NOT_EVALUATED: (
        "Leerpunten delen kan pas na de evaluatie: evalueer eerst de zaak en noteer daarbij de "
        "leerpunten."
    ),
    StateReason.NO_LESSONS: (
        "De evaluatie bevat geen leerpunten om te delen: evalueer de zaak opnieuw en noteer de "
        "leerpunten."
    ),
    StateReason.NOT_SERIOUS_INCIDENT: (
        "Deze zaak is niet gemarkeerd als ernstig incident: markeer de zaak eerst, dan kunt u de "
        "melding aan de Inspectie vastleggen."
    ),
    StateReason.SERIOUS_INCIDENT_MARKED: "Deze zaak is al gemarkeerd als ernstig incident.",
    StateReason.INSPECTIE_REPORTED: "De melding aan de Inspectie is al vastgelegd.",
}

DATE_PROBLEMS_NL: dict[DateProblem, str] = {
    DateProblem.NOT_A_DATE: INVALID_DATE_NL,
    DateProblem.REQUIRED: REQUIRED_NL,
    DateProblem.IN_FUTURE: (
        "Deze datum ligt in de toekomst. Vul de dag in waarop het gebeurde (uiterlijk vandaag)."
    ),
    DateProblem.TOO_EARLY: "Deze datum ligt vóór het jaar 2000. Controleer het jaartal.",
    DateProblem.TOO_FAR_AHEAD: (
        "Deze datum ligt meer dan twee jaar vooruit. Controleer het jaartal."
    ),
}

OTHER_FIELD_PROBLEMS_NL: dict[str, str] = {
    "duplicate": "Deze leerling is al betrokken bij deze zaak.",
    "not_a_pupil_id": "Kies een leerling uit het leerlingregister.",
    "unknown_pupil": (
        "Deze leerling staat niet in het leerlingregister van de school. Zoek de leerling opnieuw."
    ),
    "erased_pupil": "De gegevens van deze leerling zijn gewist. Kies een andere leerling.",
    "invalid_school_year": "Vul een schooljaar in zoals 2025-2026.",
    "invalid_average": (
        "Vul een getal van 0 tot en met 100 in, met hoogstens één decimaal (bijvoorbeeld 87,5)."
    ),
}

SKIP_REASON_FIELD_NL = "Vul de reden in om een niveau over te slaan."
ACKNOWLEDGE_FIELD_NL = "Bevestig dat de klacht blijft lopen als u de zaak afsluit."


def _level(value: Any) -> str:
    return level_with_article(value)


def _and(parts: Sequence[str]) -> str:
    """``a``, ``a en b``, ``a, b en c``."""
    parts = list(parts)
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " en " + parts[-1]


def _open_complaints_nl(complaints: Sequence[dict[str, Any]]) -> str:
    levels = []
    for complaint in complaints:
        level = _level(complaint.get("level"))
        if level not in levels:
            levels.append(level)
    if len(complaints) == 1:
        return (
            f"Er loopt nog een klacht bij {_and(levels)}. Die klacht blijft lopen als u de zaak "
            "afsluit: bevestig dat u dat weet."
        )
    return (
        f"Er lopen nog {len(complaints)} klachten (bij {_and(levels)}). Die klachten blijven "
        "lopen als u de zaak afsluit: bevestig dat u dat weet."
    )


def _close_nl(error: DomainError) -> str:
    missing = set(error.missing)
    sentences = []
    needs = []
    if Missing.AFTERCARE in missing:
        needs.append("de nazorg heeft vastgelegd dat het pesten is gestopt")
    if Missing.EVALUATION in missing:
        needs.append("de zaak is geëvalueerd")
    if needs:
        sentences.append(f"Afsluiten als opgelost kan pas als {_and(needs)}.")
    if error.details.get("aftercare") == "bullying_continues":
        sentences.append(
            "Bij de laatste nazorg ging het pesten nog door: plan nieuwe stappen en nieuwe nazorg."
        )
    if Missing.EXPLANATION in missing:
        reason = vocabulary_label(CloseReason, error.details.get("close_reason"))
        sentences.append(
            f'Bij afsluiten als "{reason}" hoort een toelichting: vul in waarom de zaak wordt '
            "afgesloten."
        )
    if Missing.OPEN_COMPLAINTS_ACKNOWLEDGED in missing:
        sentences.append(_open_complaints_nl(error.details.get("open_complaints") or []))
    return " ".join(sentences) or dutch_title(error.code)


def _complaint_level_nl(error: DomainError) -> str:
    to_level = _level(error.details.get("to_level"))
    if error.reason == "not_higher":
        return (
            "Een klacht gaat alleen naar een hoger niveau. Deze klacht ligt al bij "
            f"{_level(error.details.get('level'))}; {to_level} is geen hoger niveau."
        )
    if error.reason == "skips_level":
        skipped = _and([_level(level) for level in error.details.get("skipped") or []])
        current = error.details.get("level")
        start = (
            f"Een klacht direct bij {to_level} indienen"
            if current is None
            else f"Een klacht van {_level(current)} naar {to_level} doorzetten"
        )
        return (
            f"{start} slaat {skipped} over. Dat kan (de wet staat het toe), maar vul dan de "
            "reden in om een niveau over te slaan."
        )
    return dutch_title(error.code)


def _consent_nl(error: DomainError) -> str:
    kind = vocabulary_label(StepKind, error.details.get("step_kind"))
    if error.reason == "withdrawn":
        return (
            f'De toestemming voor stappen van de soort "{kind}" is ingetrokken. Leg eerst '
            "opnieuw vast dat de leerling (en de ouders) van deze stap weten en eraan toe zijn."
        )
    return (
        f'Er is geen toestemming voor stappen van de soort "{kind}". Leg eerst vast dat de '
        "leerling (en de ouders) van deze stap weten en eraan toe zijn."
    )


def _permission_nl(error: DomainError) -> str:
    if error.reason == "other_decider":
        level = error.details.get("level")
        deciders = _and([_decider(role) for role in error.details.get("deciders") or []])
        if level == ComplaintLevel.COMMITTEE:
            return (
                f"Over een klacht bij de klachtencommissie besluit {deciders or 'het bestuur'}, "
                "op advies van de commissie. Dat besluit legt het bestuur vast."
            )
        return f"Over een klacht bij {_level(level)} besluit {deciders}."
    return dutch_title(error.code)


def _decider(role: str) -> str:
    return {"management": "de directie", "board": "het bestuur"}.get(role, role)


def refusal_nl(error: DomainError) -> str:
    """The Dutch sentence(s) for a refused command: what is missing or why it cannot be now."""
    if isinstance(error, CloseNotAllowed):
        return _close_nl(error)
    if isinstance(error, ComplaintLevelError):
        return _complaint_level_nl(error)
    if isinstance(error, ConsentMissing):
        return _consent_nl(error)
    if isinstance(error, OffenceNotFlagged):
        return (
            "Leg eerst vast dat er sprake is van een strafbaar feit; daarna adviseert u de ouders "
            "(of de meerderjarige leerling) aangifte te doen bij de politie."
        )
    if isinstance(error, CaseClosed):
        return "De zaak is afgesloten. Heropen de zaak eerst om er verder aan te werken."
    if isinstance(error, WrongState) and error.reason is not None:
        try:
            return WRONG_STATE_NL[StateReason(error.reason)]
        except ValueError:
            return dutch_title(error.code)
    if isinstance(error, PermissionDenied):
        return _permission_nl(error)
    if isinstance(error, InvalidInput) and error.field is not None:
        return field_problem_nl(error)
    return dutch_title(error.code)


def field_problem_nl(error: DomainError) -> str:
    """The Dutch message for the field an error names (by its ``reason``)."""
    reason = error.reason or ""
    for vocabulary in (TextProblem, DateProblem):
        try:
            problem = vocabulary(reason)
        except ValueError:
            continue
        if isinstance(problem, TextProblem):
            return TEXT_PROBLEMS_NL[problem]
        return DATE_PROBLEMS_NL[problem]
    return OTHER_FIELD_PROBLEMS_NL.get(reason, dutch_title("invalid_input"))


def field_error_nl(error: DomainError, field_names: Sequence[str]) -> tuple[str, str] | None:
    """``(field, Dutch message)`` when the error blames one field of the form, else None."""
    if error.field is None or error.field not in field_names:
        return None
    if isinstance(error, ComplaintLevelError):
        return error.field, SKIP_REASON_FIELD_NL
    if isinstance(error, CloseNotAllowed):
        return error.field, ACKNOWLEDGE_FIELD_NL
    if isinstance(error, InvalidInput):
        return error.field, field_problem_nl(error)
    return None
