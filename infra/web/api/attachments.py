"""Opening an evidence file of a case through the API (``GET
/api/cases/{id}/attachments/{attachment_id}``), and what the page route shares with it: the read
rule, the access log record and the response headers (see :mod:`infra.web.pages.attachments`).
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

from typing import Any
from urllib.parse import quote
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromPath

from infra.web.api.responses import problems
from infra.web.context import Services, principal_of, school_of
from infra.web.guards import requires
from infra.web.reads import record_read
from services.access.roles import Permission
from services.attachments.checks import IMAGE_TYPES
from services.attachments.service import AttachmentService, OpenedAttachment
from services.audit.access_log import ReadKind
from tenants.registry import School


def attachment_service(request: Request[Any, Any, Any], school: School) -> AttachmentService:
    return Services.of(request.app.state).container.attachment_service(school)


def file_response(opened: OpenedAttachment) -> Response[bytes]:
    """The file with a safe ``Content-Disposition`` (RFC 6266: an ASCII fallback and the UTF-8
    name); the security middleware adds CSP, ``nosniff`` and ``no-store``."""
    disposition = "inline" if opened.media_type in IMAGE_TYPES else "attachment"
    ascii_name = opened.file_name.encode("ascii", "replace").decode().replace("?", "_")
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_")
    return Response(
        content=opened.content,
        media_type=opened.media_type,
        headers={
            "content-disposition": (
                f'{disposition}; filename="{ascii_name}"; '
                f"filename*=UTF-8''{quote(opened.file_name, safe='')}"
            ),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


async def open_attachment(
    request: Request[Any, Any, Any], school: School, case_id: UUID, attachment_id: UUID
) -> Response[bytes]:
    """Open the file for the principal, recording the read (kind ``attachment``) first."""
    principal = await principal_of(request)
    service = attachment_service(request, school)
    opened = await anyio.to_thread.run_sync(service.open, principal.actor, case_id, attachment_id)
    await record_read(
        Services.of(request.app.state), school, principal, case_id, ReadKind.ATTACHMENT
    )
    return file_response(opened)


@get(
    "/api/cases/{case_id:uuid}/attachments/{attachment_id:uuid}",
    summary="One attachment of a case, as stored (the read is recorded in the access log)",
    tags=["cases"],
    responses=problems(404),
    guards=[requires(Permission.CASE_READ, on_case=True)],
)
async def api_attachment(
    request: Request[Any, Any, Any], case_id: FromPath[UUID], attachment_id: FromPath[UUID]
) -> Response[bytes]:
    """The file's bytes with its media type and a Content-Disposition. Needs 'case.read' on the
    case (engaged roles: on the cases they are engaged in)."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await open_attachment(request, school, case_id, attachment_id)


ATTACHMENT_API_ROUTES: list[Any] = [api_attachment]
