"""Case pages: my cases, all cases (filters), a new report, the case page, one form per action.

Forms post to ``/zaken/{case_id}/{action}`` with the version the page showed: when someone
else changed the case in the meantime, the answer is the Dutch 409 page instead of an
overwrite. After a post the handler waits until the case view shows the new version and then
redirects to the case page (Post/Redirect/Get); if the view lags, the page says so.
"""

# Annotations stay real objects here (no ``from __future__ import annotations``): Litestar reads
# the handlers' parameter types.

import dataclasses
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import anyio.to_thread
from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from infra.entrypoints.web.actions import ACTIONS, MAX_VERSION, Action, ReportBody
from infra.entrypoints.web.api.cases import run_action
from infra.entrypoints.web.context import Services, today
from infra.entrypoints.web.forms import (
    FormSpec,
    Option,
    Parsed,
    defaults_for,
    fields_for,
    options_of,
    parse_form,
    with_pupil_options,
)
from infra.entrypoints.web.guards import LOGGED_IN, PUBLIC, RequiresAction, requires
from infra.entrypoints.web.labels import describe
from infra.entrypoints.web.pages.casepage import case_page_model, form_for, hidden_reason, may_take
from infra.entrypoints.web.pages.common import Viewer, render, school_required, viewer_of
from infra.entrypoints.web.pickers import PERSON_FIELD_PARTS, pickers_for
from infra.entrypoints.web.problems import dutch_title
from infra.entrypoints.web.reads import (
    case_list,
    case_page,
    erasure_passages,
    read_case_page,
    record_read,
    wait_for_version,
    work_of,
)
from infra.entrypoints.web.refusals import field_error_nl, refusal_nl
from projections.case_view.queries import CaseDetail
from projections.escalation.queries import SIGNAL_LABELS_NL, SignalKind
from services.access.roles import Permission, Role
from services.audit.access_log import ReadKind
from services.casework.application import register_of
from services.casework.commands import ReportCase
from services.casework.labels import event_label
from services.casework.vocabulary import CaseStatus, Form
from services.people.names import ids_in
from services.pupils.register import PupilEntry
from services.shared.errors import ConcurrencyConflict, DomainError, InvalidInput, RuleViolation
from services.shared.errors import PermissionDenied as DomainPermissionDenied

PAGE_SIZE = 25

REPORT = "report"


def _choice(value: str | None, allowed: set[str]) -> str | None:
    """A filter value, or None when empty or unknown (an old bookmark never breaks the page)."""
    return value if value and value in allowed else None


async def _list_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    *,
    mine: bool,
    status: str | None,
    form: str | None,
    signal: str | None,
    page: int,
) -> Template:
    school = school_required(viewer)
    filters = {
        "status": _choice(status, {s.value for s in CaseStatus}),
        "form": _choice(form, {f.value for f in Form}),
        "signal": _choice(signal, {s.value for s in SignalKind}),
    }
    items = await case_list(
        Services.of(request.app.state),
        school,
        viewer.principal,
        owner_id=viewer.principal.ids if mine else None,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
        **filters,
    )
    query = {k: v for k, v in filters.items() if v}
    return render(
        viewer,
        "cases/list.html",
        active="mijn-zaken" if mine else "zaken",
        mine=mine,
        items=items[:PAGE_SIZE],
        page=page,
        previous_url=f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        next_url=f"?{urlencode({**query, 'page': page + 1})}" if len(items) > PAGE_SIZE else None,
        filters=filters,
        status_options=options_of(CaseStatus),
        form_options=options_of(Form),
        signal_options=[(k.value, label) for k, label in SIGNAL_LABELS_NL.items()],
    )


@get("/", name="page-home", include_in_schema=False, guards=[LOGGED_IN])
async def home_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """The start page: "Mijn werk" for the staff of a school, the operator's overview."""
    viewer = await viewer_of(request)
    p = viewer.principal
    if p.role is Role.DOMESTIC_VIOLENCE_OFFICER:
        return render(viewer, "no_access.html")
    if p.school_id is None:
        return (
            Redirect("/beheer")
            if p.may(Permission.TENANTS_MANAGE)
            else render(viewer, "no_access.html")
        )
    return await _work_page(request, viewer)


async def _work_page(request: Request[Any, Any, Any], viewer: Viewer) -> Template:
    school = school_required(viewer)
    items = await work_of(Services.of(request.app.state), school, viewer.principal)
    return render(
        viewer,
        "cases/work.html",
        active="werk",
        items=items,
        overdue=sum(1 for i in items if i.overdue),
        may_open=viewer.may(Permission.CASE_READ) or viewer.reads_engaged_cases,
    )


@get(
    "/zaken/mijn",
    name="page-my-cases",
    include_in_schema=False,
    guards=[requires(Permission.CASE_READ, on_case=True)],
)
async def my_cases_page(
    request: Request[Any, Any, Any],
    status: FromQuery[str | None] = None,
    form: FromQuery[str | None] = None,
    signal: FromQuery[str | None] = None,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
) -> Template:
    """The cases the viewer owns."""
    viewer = await viewer_of(request)
    return await _list_page(
        request, viewer, mine=True, status=status, form=form, signal=signal, page=page
    )


@get(
    "/zaken",
    name="page-cases",
    include_in_schema=False,
    guards=[requires(Permission.CASE_READ, on_case=True)],
)
async def cases_page(
    request: Request[Any, Any, Any],
    status: FromQuery[str | None] = None,
    form: FromQuery[str | None] = None,
    signal: FromQuery[str | None] = None,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
) -> Template:
    """All cases the viewer may read (engaged staff: the cases they were brought into)."""
    viewer = await viewer_of(request)
    return await _list_page(
        request, viewer, mine=False, status=status, form=form, signal=signal, page=page
    )


# --- a new report ---------------------------------------------------------------------------


def _report_form(
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> FormSpec:
    fields = fields_for(ReportBody, REPORT, omit=["owner_id"])
    return FormSpec(
        action=REPORT,
        label="Melding vastleggen",
        url="/zaken",
        fields=fields,
        values=values if values is not None else defaults_for(ReportBody, REPORT, today()),
        errors=errors or {},
    )


@get(
    "/zaken/nieuw",
    name="page-report",
    include_in_schema=False,
    guards=[requires(Permission.CASE_REPORT)],
)
async def report_page(
    request: Request[Any, Any, Any], verzonden: FromQuery[bool] = False
) -> Template:
    """The report form; ``verzonden``: the thanks of a reporter who cannot read the case."""
    viewer = await viewer_of(request)
    school_required(viewer)
    return render(viewer, "cases/new.html", active="nieuw", form=_report_form(), sent=verzonden)


@post(
    "/zaken",
    name="page-report-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.CASE_REPORT)],
)
async def report_post(request: Request[Any, Any, Any]) -> Template | Redirect:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = _report_form()
    parsed = parse_form(ReportBody, (await request.form()).dict(), form.fields)
    if parsed.body is None:
        form = _report_form(parsed.values, parsed.errors)
        return render(viewer, "cases/new.html", active="nieuw", form=form, status=422)
    services = Services.of(request.app.state)
    command = ReportCase(reporter_kind=parsed.body.reporter_kind, summary=parsed.body.summary)
    service = services.case_service(school)
    try:
        case_id = await anyio.to_thread.run_sync(service.report, viewer.principal.actor, command)
    except (InvalidInput, RuleViolation) as e:
        form = _report_form(parsed.values)
        explain_refusal(form, e)
        return render(viewer, "cases/new.html", active="nieuw", form=form, status=422)
    if not viewer.may(Permission.CASE_READ):
        # A mentor or IB'er reads only the cases they are engaged in: not this one (yet).
        return Redirect("/zaken/nieuw?verzonden=true", status_code=303)
    shown = await wait_for_version(services, school, case_id, 1)
    return Redirect(_case_url(case_id, saved=REPORT, lagging=None if shown else 1), status_code=303)


# --- the case page --------------------------------------------------------------------------


def _case_url(case_id: UUID, *, saved: str | None = None, lagging: int | None = None) -> str:
    query = {}
    if saved:
        query["opgeslagen"] = saved
    if lagging is not None:
        query["versie"] = str(lagging)
    return f"/zaken/{case_id}" + (f"?{urlencode(query)}" if query else "")


def _saved_label(saved: str | None) -> str | None:
    if saved == REPORT:
        return "De melding is vastgelegd."
    if saved == "add-attachment":
        return "De bijlage is toegevoegd."
    action = ACTIONS.get(saved or "")
    return f"Opgeslagen: {action.label_nl}." if action is not None else None


@get(
    "/zaken/{case_id:uuid}",
    name="page-case",
    include_in_schema=False,
    guards=[requires(Permission.CASE_READ, on_case=True)],
)
async def case_detail_page(
    request: Request[Any, Any, Any],
    case_id: FromPath[UUID],
    opgeslagen: FromQuery[str | None] = None,
    versie: Annotated[int | None, QueryParameter(ge=1, le=MAX_VERSION)] = None,
    soort: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Template:
    """One case: what to do next (with its form open), the case's data, the other actions one
    click away and the timeline (``soort``: only entries of that kind of event)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    services = Services.of(request.app.state)
    detail = await read_case_page(services, school, viewer.principal, case_id, ReadKind.CASE_PAGE)
    pickers = await pickers_for(services, school, viewer.principal)
    model = case_page_model(viewer.principal, detail, school.protocol, pickers)
    names = await services.names(school, case_person_ids(detail))
    lagging = versie is not None and detail.version < versie
    kinds = {entry.event_type for entry in detail.timeline}
    kind = soort if soort in kinds else None
    return render(
        viewer,
        "cases/detail.html",
        active="zaken",
        case=model,
        d=detail.detail,
        names=names,
        timeline=[
            (
                entry,
                event_label(entry.event_type),
                describe(entry.event_type, entry.data, detail.detail, names),
            )
            for entry in detail.timeline
            if kind is None or entry.event_type == kind
        ],
        timeline_kinds=sorted(
            ((k, event_label(k)) for k in kinds), key=lambda kv: kv[1].casefold()
        ),
        timeline_kind=kind,
        timeline_total=len(detail.timeline),
        saved=None if lagging else _saved_label(opgeslagen),
        lagging=lagging,
        wanted_version=versie,
    )


def case_person_ids(detail: CaseDetail) -> set[str]:
    """Every person the case page may name: owner, actors, assignees, engaged colleagues,
    a complaint's supporters, the coordinator lessons went to."""
    found = ids_in(detail.detail) | {e.actor_id for e in detail.timeline}
    for entry in detail.timeline:
        found |= ids_in(entry.data)
    if detail.owner_id:
        found.add(detail.owner_id)
    return found


# Public: it only redirects (the case page it points at checks who is looking).
@get("/cases/{case_id:uuid}", name="page-case-mail-link", include_in_schema=False, opt=PUBLIC)
async def mail_link(case_id: FromPath[UUID]) -> Redirect:
    """E-mails link to ``/cases/<id>`` (infra/adapters/mail.py); the page lives at
    ``/zaken/<id>``."""
    return Redirect(f"/zaken/{case_id}")


# --- one action -------------------------------------------------------------------------------


def _action_permission(name: str) -> Permission | None:
    action = ACTIONS.get(name)
    return action.permission if action is not None else None


#: An action's form needs the action's command permission, on a case (the guard cannot know
#: which: ``may_take`` and the command handler decide for this case).
ACTION_GUARD = RequiresAction(_action_permission)


async def _action_context(
    request: Request[Any, Any, Any], case_id: UUID, action_name: str
) -> tuple[Viewer, Action, CaseDetail, FormSpec]:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    action = ACTIONS.get(action_name)
    if action is None:
        raise NotFoundException(f"no action '{action_name}'")
    detail = await case_page(Services.of(request.app.state), school, viewer.principal, case_id)
    if not may_take(viewer.principal, action, detail):
        raise DomainPermissionDenied(
            f"role '{viewer.principal.role}' may not '{action.permission}'"
        )
    pickers = None
    if any(name == action.name for name, _ in PERSON_FIELD_PARTS):
        pickers = await pickers_for(Services.of(request.app.state), school, viewer.principal)
    form = form_for(viewer.principal, action, detail, pickers)
    if form is None:
        # Done already, or not in this state (e.g. casework on a closed case).
        form = FormSpec(
            action=action.name,
            label=action.label_nl,
            url=f"/zaken/{case_id}/{action.name}",
            fields=[],
            unavailable=hidden_reason(action.name, detail),
        )
    if action.name == "redact-passages" and form.available:
        form = await _with_passages(request, viewer, case_id, form)
    return viewer, action, detail, form


async def _with_passages(
    request: Request[Any, Any, Any], viewer: Viewer, case_id: UUID, form: FormSpec
) -> FormSpec:
    """The redaction form offers the passages that mention a pupil of the case (found in the
    decrypted texts; the search is recorded in the access log) as checkboxes."""
    found = await erasure_passages(
        Services.of(request.app.state), school_required(viewer), viewer.principal, case_id
    )
    options = tuple(
        Option(
            value=f.passage.passage_id,
            label=f"{event_label(f.passage.event_type)} (versie {f.passage.version}, "
            f"{f.passage.field}): {f.passage.text}",
        )
        for f in found.found
    )
    fields = [
        dataclasses.replace(spec, widget="checkboxes", options=options)
        if spec.name == "passages"
        else spec
        for spec in form.fields
    ]
    unavailable = (
        None
        if options
        else "Geen enkele tekst noemt (de naam of verwijzing van) de leerlingen van deze zaak. "
        "Zijn hun gegevens al gewist, dan zoekt u via de API op de naam."
    )
    return dataclasses.replace(form, fields=fields, unavailable=unavailable)


#: The most pupils the picker offers at once (a search narrows it down).
PUPIL_PICKER_LIMIT = 50
PUPIL_SEARCH_REFUSED_NL = (
    "Zoek met letters, cijfers en leestekens (hoogstens 200 tekens), zonder stuurtekens."
)


@dataclasses.dataclass(frozen=True)
class PupilSearch:
    """What the add-participant page's search of the register found."""

    query: str
    found: int
    shown: int
    error: str | None = None


def pupil_option(pupil: PupilEntry) -> Option:
    """A pupil as the picker offers them: name, then group and pupil number (to tell apart
    pupils with the same name)."""
    details = ", ".join(d for d in (pupil.group, f"leerlingnummer {pupil.reference}") if d)
    return Option(str(pupil.pupil_id), f"{pupil.display_name} ({details})")


async def _pupil_picker(
    request: Request[Any, Any, Any], viewer: Viewer, form: FormSpec, query: str
) -> tuple[FormSpec, PupilSearch | None]:
    """The add-participant form with the pupils a search of the register found (by name,
    number or group; the first :data:`PUPIL_PICKER_LIMIT` by name)."""
    if not form.available or not any(f.widget == "pupil" for f in form.fields):
        return form, None
    school = school_required(viewer)
    register = register_of(
        Services.of(request.app.state).container.schools.get(school.id), school.id
    )
    actor = viewer.principal.actor
    try:
        found = await anyio.to_thread.run_sync(lambda: register.search(actor, query))
    except InvalidInput:
        return form, PupilSearch(query, 0, 0, PUPIL_SEARCH_REFUSED_NL)
    options = tuple(pupil_option(p) for p in found[:PUPIL_PICKER_LIMIT])
    return with_pupil_options(form, options), PupilSearch(query, len(found), len(options))


def _action_page(
    viewer: Viewer,
    detail: CaseDetail,
    form: FormSpec,
    *,
    status: int = 200,
    pupil_search: PupilSearch | None = None,
) -> Template:
    consent = None
    if form.action == "plan-step" and not form.available:
        consent = form_for(viewer.principal, ACTIONS["give-consent"], detail)
    return render(
        viewer,
        "cases/action.html",
        active="zaken",
        detail=detail,
        form=form,
        consent_form=consent,
        pupil_search=pupil_search,
        status=status,
    )


@get(
    "/zaken/{case_id:uuid}/{action_name:str}",
    name="page-case-action",
    include_in_schema=False,
    guards=[ACTION_GUARD],
)
async def action_page(
    request: Request[Any, Any, Any],
    case_id: FromPath[UUID],
    action_name: FromPath[str],
    zoek: Annotated[str, QueryParameter(max_length=200)] = "",
) -> Template:
    """One action's form on its own page (the case page has the same forms inline); ``zoek``:
    the pupil picker's search of the register (add-participant)."""
    viewer, action, detail, form = await _action_context(request, case_id, action_name)
    form, pupil_search = await _pupil_picker(request, viewer, form, zoek)
    await record_read(
        Services.of(request.app.state),
        school_required(viewer),
        viewer.principal,
        case_id,
        ReadKind.ACTION_FORM,
    )
    form.values = defaults_for(action.body, action.name, today())
    status = 422 if pupil_search is not None and pupil_search.error else 200
    return _action_page(viewer, detail, form, status=status, pupil_search=pupil_search)


@post(
    "/zaken/{case_id:uuid}/{action_name:str}",
    name="page-case-action-post",
    include_in_schema=False,
    status_code=303,
    guards=[ACTION_GUARD],
)
async def action_post(
    request: Request[Any, Any, Any], case_id: FromPath[UUID], action_name: FromPath[str]
) -> Template | Redirect:
    viewer, action, detail, form = await _action_context(request, case_id, action_name)
    if not form.available:
        form.form_error = dutch_title("wrong_state")
        return _action_page(viewer, detail, form, status=422)
    parsed: Parsed = parse_form(action.body, (await request.form()).dict(), form.fields)
    form.values = parsed.values
    if parsed.body is None:
        form.errors = parsed.errors
        form, pupil_search = await _pupil_picker(request, viewer, form, "")
        return _action_page(viewer, detail, form, status=422, pupil_search=pupil_search)
    try:
        changed = await run_action(request, action, case_id, parsed.body)
    except ConcurrencyConflict as e:
        return render(
            viewer,
            "error.html",
            status=409,
            title=dutch_title(e.code),
            code=e.code,
            detail="",
            back_url=f"/zaken/{case_id}",
            back_label="Bekijk de zaak opnieuw",
            submitted=_submitted(form, parsed),
        )
    except (InvalidInput, RuleViolation, DomainPermissionDenied) as e:
        # E.g. a decision at a level that is not the viewer's (403): said on the form too.
        explain_refusal(form, e)
        status = 403 if isinstance(e, DomainPermissionDenied) else 422
        form, pupil_search = await _pupil_picker(request, viewer, form, "")
        return _action_page(viewer, detail, form, status=status, pupil_search=pupil_search)
    school = school_required(viewer)
    shown = await wait_for_version(Services.of(request.app.state), school, case_id, changed.version)
    return Redirect(
        _case_url(case_id, saved=action.name, lagging=None if shown else changed.version),
        status_code=303,
    )


def explain_refusal(form: FormSpec, error: DomainError) -> None:
    """Put the domain's refusal on the form in Dutch: beside the field it blames, and (for a rule
    of the case) as the sentence at the top that says what is missing."""
    blamed = field_error_nl(error, [f.name for f in form.fields])
    if blamed is not None:
        field, message = blamed
        form.errors[field] = message
    if blamed is None or not isinstance(error, InvalidInput):
        form.form_error = refusal_nl(error)


def _submitted(form: FormSpec, parsed: Parsed) -> list[dict[str, str]]:
    """The text the person typed, so a refused post does not lose it."""
    shown = []
    for f in form.fields:
        value = parsed.values.get(f.name)
        if (
            f.widget in {"text", "textarea", "lines", "date"}
            and isinstance(value, str)
            and value.strip()
        ):
            shown.append({"label": f.label, "value": value})
    return shown


CASE_PAGE_ROUTES: list[Any] = [
    home_page,
    my_cases_page,
    cases_page,
    report_page,
    report_post,
    case_detail_page,
    mail_link,
    action_page,
    action_post,
]
