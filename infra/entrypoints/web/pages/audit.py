"""The auditor's page of a case: its history, its state as of a moment, the differences between
two moments, and who read it (``/zaken/{case_id}/geschiedenis``).

The same reads as the audit API (:mod:`infra.entrypoints.web.api.audit`), from the school's event
log;
each
part shown is recorded in the school's access log before the page is returned. The forms use GET
(nothing changes), with ``datetime-local`` fields on the school's clock.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from infra.entrypoints.web.api.audit import BEGINNING, moment_or_day, parse_moment
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.labels import describe
from infra.entrypoints.web.pages.common import Viewer, render, school_required, viewer_of
from infra.entrypoints.web.problems import dutch_title
from infra.entrypoints.web.reads import reads_of_case, record_read
from services.access.roles import Permission
from services.audit.access_log import READ_KIND_LABELS_NL, ReadKind
from services.audit.replay import CaseDiff, StateAt
from services.casework.labels import event_label
from services.casework.state import FieldChange
from services.people.names import PERSON_FIELDS, Names, ids_in
from services.shared.clock import SCHOOL_TZ
from services.shared.errors import InvalidInput, NotYetReported
from tenants.registry import School

#: Dutch names of the fields of a case's state (``services.casework.state.case_state``).
STATE_LABELS_NL: dict[str, str] = {
    "school_id": "School",
    "status": "Status",
    "reporter_kind": "Gemeld door",
    "summary": "De melding",
    "owner_id": "Eigenaar",
    "participants": "Betrokken leerlingen",
    "intake_held_on": "Opvanggesprek gehouden op",
    "situation": "De pestsituatie",
    "solutions": "Oplossingen",
    "consents": "Toestemming",
    "steps": "Stappen",
    "engaged_user_ids": "Ingeschakelde collega's",
    "offence_flagged": "Strafbaar feit vastgelegd",
    "police_advised": "Aangifte geadviseerd",
    "agreements": "Afspraken",
    "follow_ups": "Nazorg",
    "notes": "Aantal notities",
    "complaint_explained": "Klachtenregeling uitgelegd",
    "complaints": "Klachten",
    "complaint_level": "Hoogste klachtniveau",
    "evaluated": "Geëvalueerd",
    "lessons": "Leerpunten",
    "lessons_shared": "Leerpunten gedeeld",
    "close_reason": "Reden van afsluiten",
    "reopened": "Aantal keer heropend",
}

INPUT_FORMAT = "%Y-%m-%dT%H:%M"
NO_VALUE = "\u2013"  # an en dash: no value


def field_label(path: str) -> str:
    """``steps.<id>.status`` -> ``Stappen / 1a2b3c4d / status`` (ids shortened)."""
    head, *rest = path.split(".")
    parts = [STATE_LABELS_NL.get(head, head)]
    for part in rest:
        parts.append(part[:8] if len(part) == 36 and part.count("-") == 4 else part)
    return " / ".join(parts)


def shown(value: Any) -> str:
    """A state value as text: nested values as indented JSON."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=2) if value else NO_VALUE
    return str(value)


@dataclass(frozen=True)
class ShownChange:
    label: str
    before: str
    after: str


def _local_input(moment: datetime | None) -> str:
    return moment.astimezone(SCHOOL_TZ).strftime(INPUT_FORMAT) if moment else ""


async def _state(
    services: Services, school: School, viewer: Viewer, case_id: UUID, raw: str
) -> tuple[StateAt | None, str | None]:
    try:
        moment = moment_or_day(raw, "op", datetime.now(UTC))
        state = await anyio.to_thread.run_sync(
            services.case_replay(school).state_as_of, viewer.principal.actor, case_id, moment
        )
    except (NotYetReported, InvalidInput) as e:
        return None, dutch_title(e.code)
    await record_read(services, school, viewer.principal, case_id, ReadKind.STATE)
    return state, None


async def _diff(
    services: Services,
    school: School,
    viewer: Viewer,
    case_id: UUID,
    vanaf: str | None,
    tot: str | None,
) -> tuple[CaseDiff | None, str | None]:
    try:
        first = parse_moment(vanaf, "vanaf", BEGINNING)
        last = moment_or_day(tot, "tot", datetime.now(UTC))
        diff = await anyio.to_thread.run_sync(
            services.case_replay(school).diff, viewer.principal.actor, case_id, first, last
        )
    except InvalidInput as e:
        return None, dutch_title(e.code)
    await record_read(services, school, viewer.principal, case_id, ReadKind.DIFF)
    return diff, None


def _person_or_shown(name: str, value: Any, names: Names) -> str:
    """A state value as text; a person id field by the person's name."""
    if name in PERSON_FIELDS and isinstance(value, str) and value:
        return names(value)
    return shown(value)


def _changes(changes: list[FieldChange], names: Names) -> list[ShownChange]:
    return [
        ShownChange(
            field_label(c.field),
            _person_or_shown(c.field, c.before, names),
            _person_or_shown(c.field, c.after, names),
        )
        for c in changes
    ]


@get(
    "/zaken/{case_id:uuid}/geschiedenis",
    name="page-case-history",
    include_in_schema=False,
    guards=[requires(Permission.AUDIT_READ)],
)
async def history_page(
    request: Request[Any, Any, Any],
    case_id: FromPath[UUID],
    op: FromQuery[str | None] = None,
    vanaf: FromQuery[str | None] = None,
    tot: FromQuery[str | None] = None,
) -> Template:
    """History, state as of ``op``, differences ``vanaf``..``tot``, and the access log."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    services = Services.of(request.app.state)
    history = await anyio.to_thread.run_sync(
        services.case_replay(school).history, viewer.principal.actor, case_id
    )
    await record_read(services, school, viewer.principal, case_id, ReadKind.HISTORY)
    state, state_error = await _state(services, school, viewer, case_id, op) if op else (None, None)
    diff, diff_error = (
        await _diff(services, school, viewer, case_id, vanaf, tot)
        if (vanaf or tot)
        else (None, None)
    )
    reads = await reads_of_case(services, school, viewer.principal, case_id)
    people = {e.actor_id for e in history} | {r.user_id for r in reads}
    for e in history:
        people |= ids_in(e.data or {})
    if diff:
        people |= {e.actor_id for e in diff.events}
        people |= {
            str(v)
            for c in diff.changes
            for v in (c.before, c.after)
            if v and c.field in PERSON_FIELDS
        }
    if state:
        people |= ids_in(state.state)
    names = await services.names(school, people)
    return render(
        viewer,
        "cases/history.html",
        active="zaken",
        case_id=case_id,
        names=names,
        events=[
            (e, event_label(e.event_type), describe(e.event_type, e.data or {}, {}, names))
            for e in history
        ],
        state=state,
        state_fields=[
            (STATE_LABELS_NL.get(k, k), _person_or_shown(k, v, names))
            for k, v in (state.state.items() if state else [])
        ],
        state_error=state_error,
        diff=diff,
        diff_changes=_changes(diff.changes, names) if diff else [],
        diff_events=[(e, event_label(e.event_type)) for e in diff.events] if diff else [],
        diff_error=diff_error,
        reads=reads,
        read_labels=READ_KIND_LABELS_NL,
        op=op or _local_input(datetime.now(UTC)),
        vanaf=vanaf or (_local_input(history[0].at) if history else ""),
        tot=tot or _local_input(datetime.now(UTC)),
    )


AUDIT_PAGE_ROUTES: list[Any] = [history_page]
