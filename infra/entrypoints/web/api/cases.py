"""Cases: list, detail, a new report, and one route per case action (from the catalogue).

Every handler is thin: who is asking and at which school (resolved from the principal, never from
the URL), one service call or query, the answer. Commands run the synchronous eventsourcing
application in a worker thread.
"""

# Annotations stay real objects here (no ``from __future__ import annotations``): the action
# handlers are generated, and Litestar reads their parameter types from ``__annotations__``.

import dataclasses
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from prometheus_client import Counter

from infra.entrypoints.web.actions import ACTIONS, Action, ReportBody, list_type, plain, text_type
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.reads import case_list, erasure_passages, read_case_page
from projections.case_view.queries import MAX_LIMIT, MAX_OFFSET, CaseDetail, CaseListItem
from projections.escalation.queries import SignalKind
from services.access.roles import Permission
from services.audit.access_log import ReadKind
from services.casework.commands import ReportCase
from services.casework.vocabulary import CaseStatus, Form
from services.shared.errors import DomainError
from services.shared.text import MAX_TEXT

#: Case commands by action and outcome (``stored`` or the refusal's error code). No ids.
COMMANDS = Counter(
    "vangnet_case_commands", "Case commands by action and outcome", ["action", "outcome"]
)


@dataclasses.dataclass(frozen=True)
class CaseChanged:
    """The answer to a command: the case and the version it is at now."""

    case_id: UUID
    version: int


#: A new report (melding): the fields of :class:`ReportCase`, typed like the action bodies.


@get(
    "/api/cases",
    summary="The school's cases (most recently active first)",
    tags=["cases"],
    responses=problems(),
    guards=[requires(Permission.CASE_READ, on_case=True)],
)
async def api_list_cases(
    request: Request[Any, Any, Any],
    status: FromQuery[CaseStatus | None] = None,
    owner_id: Annotated[str | None, QueryParameter(max_length=MAX_TEXT)] = None,
    form: FromQuery[Form | None] = None,
    signal: FromQuery[SignalKind | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
) -> list[CaseListItem]:
    """Filters: status, owner (user id), form of bullying, signal. Pages of ``limit`` cases
    from ``offset``."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await case_list(
        Services.of(request.app.state),
        school,
        principal,
        status=status,
        owner_id=owner_id,
        form=form,
        signal=signal,
        limit=limit,
        offset=offset,
    )


@get(
    "/api/cases/{case_id:uuid}",
    summary="One case: state, timeline, checklist (the read is recorded in the access log)",
    tags=["cases"],
    responses=problems(404),
    guards=[requires(Permission.CASE_READ, on_case=True)],
)
async def api_case_detail(request: Request[Any, Any, Any], case_id: FromPath[UUID]) -> CaseDetail:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await read_case_page(
        Services.of(request.app.state), school, principal, case_id, ReadKind.CASE_API
    )


@dataclasses.dataclass(frozen=True)
class PassageAnswer:
    """A passage of the case's free text that mentions the pupil."""

    passage_id: str
    version: int
    event_type: str
    field: str
    text: str
    matches: list[str]


@dataclasses.dataclass(frozen=True)
class ErasurePassages:
    """The passages to confirm before a pupil's data is erased: send the chosen ``passage_id``s
    to ``redact-passages``."""

    case_id: UUID
    version: int
    looking_for: list[str]
    passages: list[PassageAnswer]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PassageQuery:
    """What to look for (empty: every participant's name and reference). In the body, never the
    URL: a name must not reach an access log."""

    names: list_type(text_type(required=True), required=False) = dataclasses.field(  # type: ignore[valid-type]
        default_factory=list
    )
    references: list_type(text_type(required=True), required=False) = dataclasses.field(  # type: ignore[valid-type]
        default_factory=list
    )


@post(
    "/api/cases/{case_id:uuid}/erasure-passages",
    summary="The passages of free text that mention a pupil (before erasing; the read is recorded)",
    tags=["cases"],
    status_code=200,
    responses=problems(404, 422, body=True),
    guards=[requires(Permission.CASE_MANAGE, on_case=True)],
)
async def api_erasure_passages(
    request: Request[Any, Any, Any], case_id: FromPath[UUID], data: JSONBody[PassageQuery]
) -> ErasurePassages:
    """Matching ignores case and accents; each word of a name (3 letters or more) is looked for
    on its own too. Send the chosen ``passage_id``s to ``redact-passages``."""
    name, reference = data.names, data.references
    principal = await principal_of(request)
    school = await school_of(request, principal)
    found = await erasure_passages(
        Services.of(request.app.state), school, principal, case_id,
        names=name or [], references=reference or [],
    )  # fmt: skip
    return ErasurePassages(
        case_id=found.case_id,
        version=found.version,
        looking_for=list(found.looking_for),
        passages=[
            PassageAnswer(
                passage_id=f.passage.passage_id,
                version=f.passage.version,
                event_type=f.passage.event_type,
                field=f.passage.field,
                text=f.passage.text,
                matches=list(f.matches),
            )
            for f in found.found
        ],
    )


async def report_case(request: Request[Any, Any, Any], data: Any) -> Response[CaseChanged]:
    """Needs permission 'case.report'. The new case is at version 1."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    service = Services.of(request.app.state).case_service(school)
    command = ReportCase(**plain(data))
    case_id = await anyio.to_thread.run_sync(service.report, principal.actor, command)
    return Response(
        CaseChanged(case_id=case_id, version=1), headers={"Location": f"/api/cases/{case_id}"}
    )


# The body type is generated, so its annotation is set here (as for the action routes below).
report_case.__annotations__["data"] = Annotated[ReportBody, JSONBody.__metadata__[0]]
api_report_case = post(
    "/api/cases",
    summary="Record a new report (melding)",
    tags=["cases"],
    status_code=201,
    responses=problems(422, body=True),
    guards=[requires(Permission.CASE_REPORT)],
    response_headers=[
        ResponseHeader(
            name="Location",
            description="The new case: /api/cases/{case_id}.",
            documentation_only=True,
        )
    ],
)(report_case)


async def run_action(
    request: Request[Any, Any, Any],
    action: Action,
    case_id: UUID,
    body: Any,
    expected_version: int | None = None,
) -> CaseChanged:
    """Build the action's command and run it as the principal, at the principal's school."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    service = Services.of(request.app.state).case_service(school)
    command = action.build(case_id, body, expected_version)
    try:
        version = await anyio.to_thread.run_sync(service.handle, principal.actor, command)
    except DomainError as e:
        COMMANDS.labels(action=action.name, outcome=e.code).inc()
        raise
    COMMANDS.labels(action=action.name, outcome="stored").inc()
    return CaseChanged(case_id=case_id, version=version)


def _action_route(action: Action) -> Any:
    async def handler(request: Request[Any, Any, Any], case_id: UUID, data: Any) -> CaseChanged:
        return await run_action(request, action, case_id, data)

    handler.__annotations__ = {
        "request": Request[Any, Any, Any],
        "case_id": FromPath[UUID],
        "data": Annotated[action.body, JSONBody.__metadata__[0]],
        "return": CaseChanged,
    }
    handler.__name__ = "api_" + action.name.replace("-", "_")
    handler.__qualname__ = handler.__name__
    handler.__doc__ = (
        f"{action.command.__name__}: {action.label_nl}. Needs permission "
        f"'{action.permission}'. Send expected_version to be refused (409) if the case changed."
    )
    return post(
        f"/api/cases/{{case_id:uuid}}/{action.name}",
        name=f"api-case-{action.name}",
        summary=action.command.__name__,
        tags=["case actions"],
        status_code=200,
        responses=problems(404, 409, 422, body=True),
        # Roles that may do it only when engaged pass here; the command handler decides per case.
        guards=[requires(action.permission, on_case=True)],
    )(handler)


ACTION_ROUTES = [_action_route(action) for action in ACTIONS.values()]

CASE_ROUTES: list[Any] = [
    api_list_cases, api_case_detail, api_erasure_passages, api_report_case, *ACTION_ROUTES
]  # fmt: skip
