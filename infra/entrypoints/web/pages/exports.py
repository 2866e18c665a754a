"""The case file (dossier) from the case page: ``/zaken/{case_id}/dossier.pdf`` and
``/zaken/{case_id}/dossier.json``, for a logged-in person (the API takes bearer tokens only).

The same export as :mod:`infra.entrypoints.web.api.exports`, with the same rule for who may and the
same
record in the access log. A GET that changes nothing but the access log, like every case page.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

from typing import Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.params import FromPath

from infra.entrypoints.web.api.exports import case_file_of, pdf_response
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages.common import school_required, viewer_of
from services.access.roles import Permission
from services.exports.case_file import CaseFile, file_name


async def _case_file(request: Request[Any, Any, Any], case_id: UUID) -> CaseFile:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    return await case_file_of(Services.of(request.app.state), school, viewer.principal, case_id)


@get(
    "/zaken/{case_id:uuid}/dossier.pdf",
    name="page-case-file-pdf",
    include_in_schema=False,
    guards=[requires(Permission.CASE_READ)],
)
async def case_file_pdf(
    request: Request[Any, Any, Any], case_id: FromPath[UUID]
) -> Response[bytes]:
    """Download the case file as PDF."""
    return await pdf_response(await _case_file(request, case_id))


@get(
    "/zaken/{case_id:uuid}/dossier.json",
    name="page-case-file-json",
    include_in_schema=False,
    guards=[requires(Permission.CASE_READ)],
)
async def case_file_json(
    request: Request[Any, Any, Any], case_id: FromPath[UUID]
) -> Response[CaseFile]:
    """Download the case file as JSON."""
    case_file = await _case_file(request, case_id)
    name = file_name(case_file, "json")
    return Response(
        content=case_file,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


EXPORT_PAGE_ROUTES: list[Any] = [case_file_pdf, case_file_json]
