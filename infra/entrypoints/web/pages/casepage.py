"""What the case page offers: the forms of the actions the viewer may take now, grouped by the
contact person's tasks, and "what to do next" from the school's protocol checklist.

The rules here only decide what to *offer*; the domain decides what is allowed (a form that is
offered can still be refused, e.g. when someone else changed the case in the meantime).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.adapters.auth.principal import Principal
from infra.entrypoints.web.actions import ACTIONS, Action
from infra.entrypoints.web.forms import (
    FormSpec,
    action_form,
    active_consents,
    covered_kinds,
    without_pupil_picker,
)
from infra.entrypoints.web.labels import EVENT_ACTIONS
from infra.entrypoints.web.pickers import Pickers
from infra.entrypoints.web.refusals import WRONG_STATE_NL
from projections.case_view.queries import CaseDetail
from projections.escalation.queries import Signal, SignalKind
from services.access.roles import Permission, has_permission
from services.casework.protocol import ProtocolChecklist, StepProgress
from services.casework.rules import StateReason

#: The case page's sections, after the seed's tasks of the contact person.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "opvang",
        "Opvangen en in kaart brengen",
        ("assign-owner", "add-participant", "hold-intake", "map-situation", "discuss-solutions"),
    ),
    (
        "stappen",
        "Toestemming en stappen",
        (
            "give-consent",
            "withdraw-consent",
            "plan-step",
            "engage-person",
            "complete-step",
            "cancel-step",
        ),
    ),
    ("politie", "Strafbaar feit", ("flag-criminal-offence", "advise-police-report")),
    (
        "nazorg",
        "Afspraken en nazorg",
        ("record-agreement", "schedule-follow-up", "complete-follow-up"),
    ),
    ("notities", "Notities", ("add-note",)),
    (
        "klachten",
        "Klachtenregeling",
        (
            "explain-complaint-procedure",
            "file-complaint",
            "assign-complaint-support",
            "escalate-complaint",
            "decide-complaint",
            "withdraw-complaint",
        ),
    ),
    ("afsluiten", "Evaluatie en afsluiten", ("evaluate", "share-lessons", "close", "reopen")),
    (
        "incident",
        "Incident registreren en melden bij de Inspectie",
        ("categorise-incident", "mark-serious-incident", "record-inspectie-report"),
    ),
)

COMPLAINT_ACTIONS = frozenset(SECTIONS[5][2])
#: The incident registration (categories, serious incident, the report to the Inspectie): it
#: often follows the closing, so the domain allows it on a closed case too.
INCIDENT_ACTIONS = frozenset(
    {"categorise-incident", "mark-serious-incident", "record-inspectie-report"}
)
#: What can still be done on a closed case (a complaint can be filed after closing; a pupil's
#: data erased; the incident registered and reported).
CLOSED_ACTIONS = (
    COMPLAINT_ACTIONS | INCIDENT_ACTIONS | {"reopen", "request-erasure", "redact-passages"}
)

CONSENT_FIRST_NL = (
    "Er worden nooit stappen gezet zonder dat de gepeste leerling daarvan weet en eraan toe is. "
    "Leg daarom eerst vast dat de leerling (en de ouders) toestemming geven, en voor welke "
    "soorten stappen. Daarna kunt u hier een stap plannen."
)
CONSENT_WITHDRAWN_NL = "De eerder gegeven toestemming is ingetrokken."
OFFENCE_FIRST_NL = (
    "Leg eerst vast dat er sprake is van een strafbaar feit; daarna adviseert u de ouders (of de "
    "meerderjarige leerling) aangifte te doen bij de politie."
)
EVALUATE_FIRST_NL = "Evalueer eerst de zaak en noteer daarbij de leerpunten."
CLOSED_NL = (
    "Deze zaak is afgesloten. Er kan nog een klacht worden ingediend; om verder te werken aan de "
    "zaak heropent u haar eerst."
)


REDACT_ON_OWN_PAGE_NL = (
    "Vangnet zoekt eerst in alle teksten van de zaak naar de naam en de verwijzing van de "
    "leerlingen; u ziet elke gevonden passage en kiest wat gewist wordt."
)


class _Hidden:
    """Not offered at all (done, or not applicable in this state)."""


HIDDEN = _Hidden()


def state_rule(action: str, detail: CaseDetail) -> str | _Hidden | None:
    """Whether the case's state offers ``action``: None (yes), a Dutch reason, or HIDDEN."""
    d = detail.detail
    closed = detail.status == "closed"
    if closed and action not in CLOSED_ACTIONS:
        return HIDDEN
    if not closed and action == "reopen":
        return HIDDEN
    if action == "hold-intake" and d.get("intake"):
        return HIDDEN
    if action == "reply-to-reporter" and not d.get("public_report"):
        return HIDDEN  # only a report through the public form has a reporter to write to
    if action == "advise-police-report" and not d.get("offence_flagged"):
        return OFFENCE_FIRST_NL
    if action == "plan-step" and not covered_kinds(d):
        withdrawn = any(c.get("withdrawn") for c in (d.get("consents") or {}).values())
        return f"{CONSENT_WITHDRAWN_NL} {CONSENT_FIRST_NL}" if withdrawn else CONSENT_FIRST_NL
    if action == "share-lessons" and not (d.get("evaluated") and d.get("lessons")):
        return EVALUATE_FIRST_NL
    incident = d.get("incident") or {}
    if action == "mark-serious-incident" and incident.get("serious"):
        return HIDDEN
    if action == "record-inspectie-report":
        if incident.get("reported_on"):
            return HIDDEN
        if not incident.get("serious"):
            return WRONG_STATE_NL[StateReason.NOT_SERIOUS_INCIDENT]
    return None


def hidden_reason(action: str, detail: CaseDetail) -> str:
    """Why an action is not offered at all in the case's state (a stale page can still post it)."""
    if detail.status == "closed" and action not in CLOSED_ACTIONS:
        return CLOSED_NL
    if action == "reopen" and detail.status != "closed":
        return WRONG_STATE_NL[StateReason.CASE_NOT_CLOSED]
    if action == "hold-intake" and detail.detail.get("intake"):
        return WRONG_STATE_NL[StateReason.INTAKE_RECORDED]
    incident = detail.detail.get("incident") or {}
    if action == "mark-serious-incident" and incident.get("serious"):
        return WRONG_STATE_NL[StateReason.SERIOUS_INCIDENT_MARKED]
    if action == "record-inspectie-report" and incident.get("reported_on"):
        return WRONG_STATE_NL[StateReason.INSPECTIE_REPORTED]
    return "Dit kan niet (meer) in de huidige fase van de zaak."


def may_take(principal: Principal, action: Action, detail: CaseDetail) -> bool:
    recorded = detail.detail.get("engaged_user_ids", [])
    engaged = any(i in recorded for i in principal.ids)
    return has_permission(principal.role, action.permission, engaged=engaged)


def form_for(
    principal: Principal, action: Action, detail: CaseDetail, pickers: Pickers | None = None
) -> FormSpec | None:
    """The action's form on this case (None: the viewer may not take it, or it is HIDDEN);
    ``pickers``: the people its person fields offer."""
    if not may_take(principal, action, detail):
        return None
    rule = state_rule(action.name, detail)
    if isinstance(rule, _Hidden):
        return None
    form = action_form(
        action,
        detail.case_id,
        detail.detail,
        detail.version,
        principal.role,
        choices=(pickers or Pickers()).choices(action.name),
    )
    if not has_permission(principal.role, Permission.PUPILS_READ):
        form = without_pupil_picker(form)
    if rule is not None:
        form.unavailable = rule
    return form


@dataclass
class Section:
    key: str
    title: str
    forms: list[FormSpec] = field(default_factory=list)


@dataclass(frozen=True)
class NextStep:
    """One protocol step with the form that records it (if the viewer may use it now)."""

    progress: StepProgress
    action: str | None
    action_label: str | None


#: When an action's form cannot be used yet, the action that has to come first: aftercare is
#: recorded after it was planned, a step completed after it was planned, and so on.
COMES_FIRST: dict[str, str] = {
    "complete-follow-up": "schedule-follow-up",
    "complete-step": "plan-step",
    "engage-person": "plan-step",
    "plan-step": "give-consent",
    "advise-police-report": "flag-criminal-offence",
    "share-lessons": "evaluate",
    "record-inspectie-report": "mark-serious-incident",
}

INSPECTIE_REPORT_DUE_NL = (
    "Deze zaak is een ernstig incident dat de school moet melden bij de Inspectie van het "
    "Onderwijs. Meld het daar, en leg hier vast wanneer, hoe en met welk kenmerk. In die "
    "vastlegging komen geen namen of andere persoonsgegevens."
)

BULLYING_CONTINUES_NL = (
    "Bij de nazorg bleek dat het pesten nog doorgaat. Bespreek met de leerling (en de ouders) "
    "welke nieuwe stappen nodig zijn, en plan nieuwe nazorg om te checken of de afspraken worden "
    "nagekomen en het pesten stopt."
)


@dataclass(frozen=True)
class Guidance:
    """What "Wat nu?" advises beyond the checklist: a Dutch heading and sentence and the forms
    to use; ``on_closed``: also on a closed case."""

    title: str
    text: str
    actions: tuple[tuple[str, str], ...]  # (action name, Dutch label)
    on_closed: bool = False


def usable_action(name: str | None, forms: dict[str, FormSpec]) -> str | None:
    """``name`` if its form can be used now, else the action that has to come first (if that
    one can), else None."""
    seen: set[str] = set()
    while name is not None and name not in seen:
        seen.add(name)
        form = forms.get(name)
        if form is not None and form.available:
            return name
        name = COMES_FIRST.get(name)
    return None


def bullying_continues_guidance(
    signals: tuple[Signal, ...], forms: dict[str, FormSpec]
) -> Guidance | None:
    """After aftercare found the bullying going on: new steps and new aftercare (the new
    aftercare ends the signal, see :mod:`projections.escalation.queries`)."""
    signal = next((s for s in signals if s.kind is SignalKind.BULLYING_CONTINUES), None)
    if signal is None:
        return None
    return Guidance(
        "Het pesten gaat door.",
        BULLYING_CONTINUES_NL,
        _usable(("plan-step", "schedule-follow-up"), forms),
    )


def inspectie_report_guidance(
    signals: tuple[Signal, ...], forms: dict[str, FormSpec]
) -> Guidance | None:
    """A serious incident whose report to the Inspectie is due (open or closed case)."""
    if not any(s.kind is SignalKind.INSPECTIE_REPORT_DUE for s in signals):
        return None
    return Guidance(
        "Nog melden bij de Inspectie.",
        INSPECTIE_REPORT_DUE_NL,
        _usable(("record-inspectie-report",), forms),
        on_closed=True,
    )


def _usable(wanted: tuple[str, ...], forms: dict[str, FormSpec]) -> tuple[tuple[str, str], ...]:
    found = (usable_action(name, forms) for name in wanted)
    return tuple((name, forms[name].label) for name in found if name is not None)


@dataclass
class CasePage:
    detail: CaseDetail
    sections: list[Section]
    forms: dict[str, FormSpec]
    checklist: list[NextStep]
    next_step: NextStep | None
    closed: bool
    consent_needed: bool
    guidance: tuple[Guidance, ...] = ()
    #: The action at hand, its form open in "Wat nu?" (the guidance's first, else the
    #: protocol's next step's); ``None`` when there is none the viewer can use now.
    current: FormSpec | None = None

    @property
    def d(self) -> dict[str, Any]:
        return self.detail.detail

    @property
    def active_consents(self) -> dict[str, Any]:
        return active_consents(self.detail.detail)


def case_page_model(
    principal: Principal,
    detail: CaseDetail,
    protocol: ProtocolChecklist,
    pickers: Pickers | None = None,
) -> CasePage:
    forms: dict[str, FormSpec] = {}
    for action in ACTIONS.values():
        form = form_for(principal, action, detail, pickers)
        if form is not None:
            if action.name == "redact-passages" and form.available:
                # Its form needs the passages found in the log: only on its own page.
                form.unavailable = REDACT_ON_OWN_PAGE_NL
            forms[action.name] = form
    placed: set[str] = set()
    sections = []
    for key, title, names in SECTIONS:
        section = Section(key, title, [forms[n] for n in names if n in forms])
        placed.update(names)
        if section.forms:
            sections.append(section)
    rest = [f for name, f in forms.items() if name not in placed]
    if rest:
        sections.append(Section("overig", "Overige acties", rest))
    event_types = {step.key: step.event_type for step in protocol.steps}
    checklist = []
    for progress in detail.checklist:
        name = EVENT_ACTIONS.get(event_types.get(progress.key, ""))
        usable = None if progress.done else usable_action(name, forms)
        checklist.append(
            NextStep(
                progress=progress,
                action=usable,
                action_label=forms[usable].label if usable is not None else None,
            )
        )
    next_step = next((s for s in checklist if not s.progress.done), None)
    closed = detail.status == "closed"
    advice = (
        bullying_continues_guidance(detail.signals, forms),
        inspectie_report_guidance(detail.signals, forms),
    )
    guidance = tuple(g for g in advice if g is not None and (g.on_closed or not closed))
    return CasePage(
        detail=detail,
        sections=sections,
        forms=forms,
        checklist=checklist,
        next_step=next_step,
        closed=closed,
        consent_needed=not covered_kinds(detail.detail),
        guidance=guidance,
        current=current_form(forms, None if closed else next_step, guidance),
    )


def current_form(
    forms: dict[str, FormSpec], next_step: NextStep | None, guidance: tuple[Guidance, ...]
) -> FormSpec | None:
    """The form of the action at hand: what the guidance advises first, else the protocol's
    next step (or what has to come before it), if the viewer can use it now."""
    wanted = [name for g in guidance for name, _ in g.actions]
    if next_step is not None and next_step.action is not None:
        wanted.append(next_step.action)
    for name in wanted:
        form = forms.get(name)
        if form is not None and form.available:
            return form
    return None
