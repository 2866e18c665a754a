"""Case files (dossiers) for the complaints committee: JSON and PDF, in Dutch.

Built from the case's events in the school's log (never from a view). Who may: roles that read
every case of their school (``case.read`` case-wide; see :mod:`services.exports.reader`).
Another school's case is 404, a role that may not export gets 403. Every export is recorded in
the school's access log (kind ``export``) before it is returned.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromPath

from infra.adapters.auth.principal import Principal
from infra.adapters.exports.pdf import render_case_file_pdf
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.labels import describe
from infra.entrypoints.web.reads import record_read
from services.access.roles import Permission
from services.audit.access_log import ReadKind
from services.exports.case_file import CaseFile, build_case_file, file_name, person_ids
from services.exports.reader import CaseFileReader, CaseRecord
from tenants.registry import School

PDF = "application/pdf"


async def case_file_of(
    services: Services, school: School, principal: Principal, case_id: UUID
) -> CaseFile:
    """The case file, read from the log and recorded in the access log as an export."""

    def read() -> CaseRecord:
        app = services.container.schools.get(school.id)
        return CaseFileReader(app, school.id).read(principal.actor, case_id)

    record = await anyio.to_thread.run_sync(read)
    names = await services.names(school, person_ids(record, principal.actor))
    case_file = build_case_file(
        school,
        record,
        principal.actor,
        datetime.now(UTC),
        describe=lambda kind, data, detail: describe(kind, data, detail, names),
        names=names,
    )
    await record_read(services, school, principal, case_id, ReadKind.EXPORT)
    return case_file


async def pdf_response(case_file: CaseFile) -> Response[bytes]:
    data = await anyio.to_thread.run_sync(render_case_file_pdf, case_file)
    return Response(
        content=data,
        media_type=PDF,
        headers={"content-disposition": f'attachment; filename="{file_name(case_file, "pdf")}"'},
    )


@get(
    "/api/cases/{case_id:uuid}/export.json",
    summary="The case file (dossier) in Dutch, as JSON (the export is recorded)",
    tags=["exports"],
    responses=problems(404),
    guards=[requires(Permission.CASE_READ)],
)
async def api_case_file_json(request: Request[Any, Any, Any], case_id: FromPath[UUID]) -> CaseFile:
    """Header, participants, situation, consents, steps, agreements, aftercare, complaints,
    evaluation and the full timeline; Dutch labels and values under stable English keys.
    Needs 'case.read' for every case of the school."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await case_file_of(Services.of(request.app.state), school, principal, case_id)


@get(
    "/api/cases/{case_id:uuid}/export.pdf",
    summary="The case file (dossier) in Dutch, as PDF (the export is recorded)",
    tags=["exports"],
    media_type=PDF,
    responses=problems(404),
    guards=[requires(Permission.CASE_READ)],
)
async def api_case_file_pdf(
    request: Request[Any, Any, Any], case_id: FromPath[UUID]
) -> Response[bytes]:
    """The same case file as ``export.json``, printed (A4). Needs 'case.read' for every case
    of the school."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    case_file = await case_file_of(Services.of(request.app.state), school, principal, case_id)
    return await pdf_response(case_file)


EXPORT_ROUTES: list[Any] = [api_case_file_json, api_case_file_pdf]
