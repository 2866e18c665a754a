"""Evidence attachments on the case page (issue 14 §1): upload (``POST /zaken/{id}/bijlagen``,
a multipart form) and open (``GET /zaken/{id}/bijlagen/{attachment_id}``).

Uploads take the larger body limit of the edge gate's upload rule
(:mod:`infra.entrypoints.web.edge`), and
the rest of the checks are the service's (:mod:`services.attachments.service`). Opening a file
follows the case's read rule for its attachments part, is recorded in the access log like every
read, and is answered with the security headers of every page (CSP, ``nosniff``,
``Cache-Control: no-store``) and a ``Content-Disposition``: images (re-encoded on upload, so
known to be images) inline, everything else as a download.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from infra.entrypoints.web.api.attachments import attachment_service, open_attachment
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages.common import render, school_required, viewer_of
from infra.entrypoints.web.problems import dutch_title
from infra.entrypoints.web.reads import case_page, wait_for_version
from services.access.roles import Permission
from services.attachments.checks import ALLOWED
from services.attachments.scanning import ScannerMissing, ScannerUnavailable
from services.casework.commands import AddAttachment
from services.shared.errors import InvalidInput
from services.shared.text import MAX_TEXT

#: Why an upload was refused, in Dutch (by the service's ``reason``).
REFUSALS_NL: dict[str, str] = {
    "empty": "Het bestand is leeg.",
    "too_large": "Het bestand is te groot.",
    "type_not_allowed": (
        "Dit soort bestand kan niet als bijlage worden toegevoegd. Toegestaan zijn afbeeldingen "
        "(jpg, png, gif, webp), pdf en documenten (docx, xlsx, odt, ods). Het bestandstype wordt "
        "bepaald aan de inhoud, niet aan de naam."
    ),
    "image_too_large": "De afbeelding heeft te veel pixels.",
    "unreadable_image": "De afbeelding kan niet worden gelezen.",
    "unreadable_document": "Het document kan niet worden gelezen.",
    "encrypted_document": (
        "Dit document is beveiligd met een wachtwoord. Sla het zonder wachtwoord op en voeg het "
        "dan toe."
    ),
    "package_too_large": "Dit document is uitgepakt te groot.",
    "virus_found": (
        "De virusscanner heeft dit bestand geweigerd. Het is niet opgeslagen. Voeg het niet "
        "opnieuw toe; meld het bij uw ICT-beheer als u denkt dat het veilig is."
    ),
    "required": "Kies een bestand.",
    "too_long": f"Het bijschrift is te lang (hoogstens {MAX_TEXT} tekens).",
}
SCANNER_MISSING_NL = (
    "Bijlagen kunnen nu niet worden toegevoegd: er is geen virusscanner ingesteld. Vraag de "
    "beheerder van Vangnet om ClamAV (clamd) in te stellen (VANGNET_CLAMD_ADDRESS)."
)
SCANNER_UNAVAILABLE_NL = (
    "De virusscanner reageert nu niet, dus het bestand is niet opgeslagen. Probeer het over een "
    "paar minuten opnieuw."
)


def limit_text(max_bytes: int) -> str:
    return f"hoogstens {max_bytes / (1024 * 1024):.0f} MB"


def _refusal_nl(error: InvalidInput) -> str:
    if error.field == "caption" and error.reason in REFUSALS_NL:
        return "Bijschrift: " + REFUSALS_NL[error.reason]
    return REFUSALS_NL.get(error.reason or "", dutch_title("validation"))


def upload_max_bytes(request: Request[Any, Any, Any]) -> int:
    return Services.of(request.app.state).settings.attachment_max_bytes


@post(
    "/zaken/{case_id:uuid}/bijlagen",
    name="page-case-attachment-upload",
    include_in_schema=False,
    status_code=303,
    guards=[requires(AddAttachment.permission, on_case=True)],
    # The edge gate already refused a body above the setting (plus the form's overhead).
    request_max_body_size=None,
)
async def upload_attachment(
    request: Request[Any, Any, Any], case_id: FromPath[UUID]
) -> Template | Redirect:
    """Add an evidence file (``bestand``) with a caption (``bijschrift``) to the case."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    # A case of this school that the viewer reads, before anything about the form is answered.
    await case_page(Services.of(request.app.state), school, viewer.principal, case_id)
    form = await request.form()
    upload = form.get("bestand")
    caption = form.get("bijschrift") or ""
    error: str | None = None
    status = 422
    if not isinstance(upload, UploadFile) or not isinstance(caption, str):
        error = REFUSALS_NL["required"]
    else:
        content = await upload.read()
        service = attachment_service(request, school)
        try:
            added = await anyio.to_thread.run_sync(
                lambda: service.add(
                    viewer.principal.actor,
                    case_id,
                    file_name=upload.filename or "",
                    content=content,
                    caption=caption,
                )
            )
        except InvalidInput as e:
            error = _refusal_nl(e)
        except ScannerMissing:
            error, status = SCANNER_MISSING_NL, 503
        except ScannerUnavailable:
            error, status = SCANNER_UNAVAILABLE_NL, 503
        else:
            services = Services.of(request.app.state)
            shown = await wait_for_version(services, school, case_id, added.version)
            query = "opgeslagen=add-attachment" + ("" if shown else f"&versie={added.version}")
            return Redirect(f"/zaken/{case_id}?{query}#bijlagen", status_code=303)
    return render(
        viewer,
        "cases/attachment_refused.html",
        status=status,
        active="zaken",
        case_id=case_id,
        error=error,
        limit=limit_text(upload_max_bytes(request)),
        allowed=sorted(set(ALLOWED.values())),
    )


@get(
    "/zaken/{case_id:uuid}/bijlagen/{attachment_id:uuid}",
    name="page-case-attachment",
    include_in_schema=False,
    guards=[requires(Permission.CASE_READ, on_case=True)],
)
async def attachment_page(
    request: Request[Any, Any, Any], case_id: FromPath[UUID], attachment_id: FromPath[UUID]
) -> Response[bytes]:
    viewer = await viewer_of(request)
    return await open_attachment(request, school_required(viewer), case_id, attachment_id)


ATTACHMENT_ROUTES: list[Any] = [upload_attachment, attachment_page]
