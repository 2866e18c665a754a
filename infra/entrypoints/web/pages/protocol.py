"""The protocol checklist editor (coordinator and operator): a form of rows, one per step.

Saving replaces the whole checklist (PUT semantics): rows left empty or marked "verwijderen"
are dropped, the "volgorde" numbers set the order. The rules are the registry's
(:func:`services.casework.protocol.validate_protocol`), checked here first to answer in Dutch
per row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.entrypoints.web.labels import event_options
from services.casework.protocol import (
    CASE_EVENT_NAMES,
    MAX_DEADLINE_SCHOOL_DAYS,
    MAX_LABEL,
    MAX_STEPS,
    ProtocolChecklist,
)

EXTRA_ROWS = 3
_KEY_RE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_KEY_MAX = 40


@dataclass
class StepRow:
    index: int
    position: str
    key: str = ""
    label: str = ""
    event_type: str = ""
    deadline: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def field_id(self, name: str) -> str:
        return f"stap-{self.index}-{name}"


@dataclass
class ProtocolForm:
    rows: list[StepRow]
    is_default: bool
    url: str
    errors: list[str] = field(default_factory=list)

    @property
    def event_options(self) -> list[tuple[str, str]]:
        return event_options()

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(r.errors for r in self.rows)


def protocol_form(protocol: ProtocolChecklist, *, is_default: bool, url: str) -> ProtocolForm:
    rows = [
        StepRow(
            index=i,
            position=str(i + 1),
            key=step.key,
            label=step.label,
            event_type=step.event_type,
            deadline="" if step.deadline_school_days is None else str(step.deadline_school_days),
        )
        for i, step in enumerate(protocol.steps)
    ]
    start = len(rows)
    rows += [StepRow(index=start + i, position=str(start + i + 1)) for i in range(EXTRA_ROWS)]
    return ProtocolForm(rows=rows, is_default=is_default, url=url)


def _first(form: Mapping[str, Sequence[Any]], name: str) -> str:
    values = form.get(name) or []
    value = values[0] if values else ""
    return value.strip() if isinstance(value, str) else ""


def key_from_label(label: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")[:_KEY_MAX].strip("_")


def parse_protocol(
    form: Mapping[str, Sequence[Any]], *, is_default: bool, url: str
) -> tuple[list[dict[str, Any]] | None, ProtocolForm]:
    """The steps to store (None when a row has errors) and the form to show again."""
    raw_count = _first(form, "steps-count")
    count = min(int(raw_count), MAX_STEPS + EXTRA_ROWS + 10) if raw_count.isdigit() else 0
    kept: list[tuple[float, int, StepRow]] = []
    for i in range(count):
        row = StepRow(
            index=i,
            position=_first(form, f"steps-{i}-position"),
            key=_first(form, f"steps-{i}-key"),
            label=_first(form, f"steps-{i}-label"),
            event_type=_first(form, f"steps-{i}-event_type"),
            deadline=_first(form, f"steps-{i}-deadline"),
        )
        removed = _first(form, f"steps-{i}-remove") == "on"
        if removed or not (row.key or row.label or row.event_type or row.deadline):
            continue
        try:
            order = float(row.position.replace(",", "."))
        except ValueError:
            order = float(i + 1)
        kept.append((order, i, row))
    kept.sort(key=lambda t: (t[0], t[1]))
    ordered = [row for _, _, row in kept]
    errors: list[str] = []
    if not ordered:
        errors.append("Het protocol heeft ten minste één stap nodig.")
    if len(ordered) > MAX_STEPS:
        errors.append(f"Het protocol heeft hoogstens {MAX_STEPS} stappen.")
    seen: set[str] = set()
    steps: list[dict[str, Any]] = []
    for row in ordered:
        if not row.key and row.label:
            row.key = key_from_label(row.label)
        if not row.key or len(row.key) > _KEY_MAX or not _KEY_RE.match(row.key):
            row.errors["key"] = (
                "Gebruik kleine letters en cijfers, eventueel met een liggend streepje "
                f"(_) ertussen; hoogstens {_KEY_MAX} tekens. Bijvoorbeeld: intakegesprek."
            )
        elif row.key in seen:
            row.errors["key"] = "Deze sleutel komt al eerder voor; elke stap heeft een eigen."
        seen.add(row.key)
        if not row.label or len(row.label) > MAX_LABEL:
            row.errors["label"] = f"Vul een omschrijving in van hoogstens {MAX_LABEL} tekens."
        if row.event_type not in CASE_EVENT_NAMES:
            row.errors["event_type"] = "Kies waarmee deze stap klaar is."
        deadline: int | None = None
        if row.deadline:
            if not row.deadline.isdigit() or int(row.deadline) > MAX_DEADLINE_SCHOOL_DAYS:
                row.errors["deadline"] = (
                    f"Vul een heel aantal schooldagen in (0 tot {MAX_DEADLINE_SCHOOL_DAYS}), "
                    "of laat het veld leeg."
                )
            else:
                deadline = int(row.deadline)
        steps.append(
            {
                "key": row.key,
                "label": row.label,
                "event_type": row.event_type,
                "deadline_school_days": deadline,
            }
        )
    for position, row in enumerate(ordered, start=1):
        row.position = str(position)
    shown = ProtocolForm(rows=[], is_default=is_default, url=url, errors=errors)
    shown.rows = [*ordered]
    start = len(shown.rows)
    for i in range(EXTRA_ROWS):
        shown.rows.append(StepRow(index=start + i, position=str(start + i + 1)))
    for i, row in enumerate(shown.rows):
        row.index = i
    if shown.has_errors:
        return None, shown
    return steps, shown
