"""Evidence files of a case through the API: adding one (``POST /api/cases/{id}/attachments``,
``multipart/form-data`` with ``file`` and ``caption``) and opening one (``GET
/api/cases/{id}/attachments/{attachment_id}``), and what the page routes share with them: the
read rule, the access log record and the response headers (see
:mod:`infra.entrypoints.web.pages.attachments`).

Adding runs the same service as the page (:mod:`services.attachments.service`: scan, type from
the content, size, images re-encoded); its refusals are problem details naming the field
``file`` (or ``caption``): 413 too large, 415 a type that is not allowed, 422 anything else the
checks refuse (``virus_found``, an empty or unreadable file, a caption too long), 503 no scanner
or a scanner that does not answer. The edge gate (:mod:`infra.entrypoints.web.edge`) gives the
route the
attachment body limit and takes only ``multipart/form-data`` there.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import dataclasses
from typing import Annotated, Any, cast
from urllib.parse import quote
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Body, FromPath

from infra.entrypoints.web.api.responses import ProblemDetails, problems
from infra.entrypoints.web.context import Services, principal_of, school_of
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.problems import PROBLEM_JSON, problem, refusal_facts
from infra.entrypoints.web.reads import record_read
from services.access.roles import Permission
from services.attachments.checks import ALLOWED, IMAGE_TYPES
from services.attachments.service import AttachmentService, OpenedAttachment
from services.audit.access_log import ReadKind
from services.casework.commands import AddAttachment
from services.shared.errors import InvalidInput
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


@dataclasses.dataclass
class FileOperation(Operation):
    """The GET's document: the 200 answer is the file's bytes, in one of the allowed media
    types (:data:`services.attachments.checks.ALLOWED`), not JSON."""

    def __post_init__(self) -> None:
        ok = self.responses.get("200") if self.responses else None
        if isinstance(ok, OpenAPIResponse):
            binary = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]
            ok.content = {media: OpenAPIMediaType(schema=binary) for media in sorted(ALLOWED)}
            ok.description = (
                "The file as stored, with its Content-Disposition (images inline, everything "
                "else as a download) and Cache-Control: no-store."
            )


@get(
    "/api/cases/{case_id:uuid}/attachments/{attachment_id:uuid}",
    summary="One attachment of a case, as stored (the read is recorded in the access log)",
    tags=["cases"],
    responses=problems(404),
    guards=[requires(Permission.CASE_READ, on_case=True)],
    operation_class=FileOperation,
)
async def api_attachment(
    request: Request[Any, Any, Any], case_id: FromPath[UUID], attachment_id: FromPath[UUID]
) -> Response[bytes]:
    """The file's bytes with its media type and a Content-Disposition. Needs 'case.read' on the
    case (engaged roles: on the cases they are engaged in)."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return await open_attachment(request, school, case_id, attachment_id)


@dataclasses.dataclass
class UploadBody:
    """The multipart form: the file (its type is judged from the content, not the name or the
    part's content type) and a caption (optional; plain text, at most 10,000 characters)."""

    file: UploadFile
    caption: str = ""


@dataclasses.dataclass(frozen=True)
class AttachmentAdded:
    """The answer to an upload: the new attachment, the type it was stored as and the case's
    version now."""

    case_id: UUID
    attachment_id: UUID
    media_type: str
    version: int


#: The statuses of refusals by the checks' ``reason`` (the rest are 422).
UPLOAD_STATUS: dict[str, int] = {"too_large": 413, "type_not_allowed": 415}


def _upload_responses() -> dict[int, ResponseSpec]:
    responses = problems(404, 409, 422, body=True)
    meanings = {
        413: "The file is larger than the attachment limit (VANGNET_ATTACHMENT_MAX_BYTES, "
        "20 MB by default); errors names the field 'file'.",
        415: "The body is not multipart/form-data, or the file's content is not an allowed type "
        "(images, PDF, docx, xlsx, odt, ods; judged from the content, not the name).",
        422: "Refused by the checks (errors names the field: 'file' with reason virus_found, "
        "empty, unreadable_image, image_too_large, unreadable_document, encrypted_document or "
        "package_too_large; 'caption' too long or with control "
        "characters), or the case is closed.",
        503: "No virus scanner is configured (code scanner_missing) or it does not answer now "
        "(scanner_unavailable), or the identity provider's keys cannot be fetched; try again.",
    }
    for status, description in meanings.items():
        responses[status] = ResponseSpec(
            data_container=ProblemDetails,
            description=description,
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
    return responses


@post(
    "/api/cases/{case_id:uuid}/attachments",
    summary="Add an evidence file to a case (scanned, checked, images stripped of metadata)",
    tags=["cases"],
    status_code=201,
    responses=_upload_responses(),
    guards=[requires(AddAttachment.permission, on_case=True)],
    # The edge gate already refused a body above the setting (plus the form's overhead).
    request_max_body_size=None,
)
async def api_add_attachment(
    request: Request[Any, Any, Any],
    case_id: FromPath[UUID],
    data: Annotated[UploadBody, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[AttachmentAdded]:
    """Stores the file encrypted and records AttachmentAdded on the case. Needs permission
    'case.add_note' on the case (engaged roles: on the cases they are engaged in)."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    content = await data.file.read()
    service = attachment_service(request, school)
    try:
        added = await anyio.to_thread.run_sync(
            lambda: service.add(
                principal.actor,
                case_id,
                file_name=data.file.filename or "",
                content=content,
                caption=data.caption,
            )
        )
    except InvalidInput as e:
        status = UPLOAD_STATUS.get(e.reason or "", 422)
        if status == 422:
            raise
        errors = [{"field": e.field, "reason": e.reason, "message": str(e)}]
        refused = problem(status, e.code, e.code.replace("_", " "), str(e),
                          **refusal_facts(e), errors=errors)  # fmt: skip
        return cast("Response[AttachmentAdded]", refused)
    answer = AttachmentAdded(case_id, added.attachment_id, added.media_type, added.version)
    return Response(
        answer,
        status_code=201,
        headers={"location": f"/api/cases/{case_id}/attachments/{added.attachment_id}"},
    )


ATTACHMENT_API_ROUTES: list[Any] = [api_add_attachment, api_attachment]
