"""The school's complaints procedure (klachtenregeling) through the API: read it (anyone of the
school) and replace it (who manages the school's protocol: the anti-pest coördinator)."""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, get, put
from litestar.params import JSONBody

from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import LOGGED_IN, requires
from services.access.roles import Permission
from tenants.complaints_procedure import MAX_PROCEDURE_TEXT, ComplaintsProcedure

ProcedureText = Annotated[str, msgspec.Meta(max_length=MAX_PROCEDURE_TEXT)]


@dataclass(frozen=True)
class ComplaintsProcedureBody:
    """The school's own text of the procedure, and how to reach the vertrouwenspersoon and the
    klachtencommissie (name, phone, e-mail, address: as the school writes them)."""

    text: ProcedureText
    confidential_advisor: ProcedureText
    committee: ProcedureText


@dataclass(frozen=True)
class ComplaintsProcedureAnswer:
    """``procedure`` is null while the school has not configured it."""

    procedure: ComplaintsProcedureBody | None


def answer(procedure: ComplaintsProcedure | None) -> ComplaintsProcedureAnswer:
    if procedure is None:
        return ComplaintsProcedureAnswer(None)
    return ComplaintsProcedureAnswer(ComplaintsProcedureBody(**procedure.to_json()))


@get(
    "/api/complaints-procedure",
    summary="My school's complaints procedure (klachtenregeling)",
    tags=["school"],
    responses=problems(),
    guards=[LOGGED_IN],
)
async def api_complaints_procedure(request: Request[Any, Any, Any]) -> ComplaintsProcedureAnswer:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return answer(school.complaints_procedure)


@put(
    "/api/complaints-procedure",
    summary="Replace my school's complaints procedure",
    tags=["school"],
    responses=problems(422, body=True),
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def api_set_complaints_procedure(
    request: Request[Any, Any, Any], data: JSONBody[ComplaintsProcedureBody]
) -> ComplaintsProcedureAnswer:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    updated = await anyio.to_thread.run_sync(
        lambda: services.registry.configure_complaints_procedure(
            school.id,
            text=data.text,
            confidential_advisor=data.confidential_advisor,
            committee=data.committee,
            actor=principal.actor,
        )
    )
    services.directory.evict(school.id)
    return answer(updated.complaints_procedure)


COMPLAINTS_PROCEDURE_ROUTES: list[Any] = [api_complaints_procedure, api_set_complaints_procedure]
