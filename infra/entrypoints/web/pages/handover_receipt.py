"""Hand-over outside the platform (issue 15 §5), the pages.

For the contact person: ``/leerlingen/{id}/exporteren`` makes the export (the consents first)
and shows the receipt link and the PDF's password once.

For the receiving school (no login; the link is the key): ``/overdracht/{token}`` shows what it
is, ``/overdracht/{token}/bestand`` downloads the encrypted PDF, and a POST to
``/overdracht/{token}`` confirms receipt (name and school typed), after which the file is
destroyed. A wrong, confirmed or expired link is a plain 404 page that tells nothing more. Every
request counts against the address's rate (:mod:`infra.entrypoints.web.report_limits`).
"""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from infra.entrypoints.web.api.handover_export import (
    NO_STORE,
    ExportBody,
    export_service,
    link_of,
    make_export,
)
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import PUBLIC, requires
from infra.entrypoints.web.pages.common import UI, render, school_required, viewer_of
from infra.entrypoints.web.pages.handover import FIELD_LABELS_NL, FIELD_MESSAGES_NL, pupil_form
from infra.entrypoints.web.report_limits import log_refusal, report_limits
from services.access.roles import Permission
from services.handover.export import EXPORT_DAYS, ExportService, Token
from services.shared.errors import InvalidInput, NotFound, SchoolNotFound

FIELDS = ("to_school_name", "pupil_consent_on", "parents_consent_by", "parents_consent_on")
LABELS_NL = {
    **FIELD_LABELS_NL,
    "to_school_name": "Naam en plaats van de nieuwe school",
    "confirmed_by": "Uw naam",
    "confirmed_school": "Uw school",
}
BASE = "/overdracht/{token:str}"


async def _form(
    request: Request[Any, Any, Any],
    pupil_id: UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    return await pupil_form(
        request, pupil_id, "handover/export.html", values=values, errors=errors,
        fields=FIELDS, labels=LABELS_NL, days=EXPORT_DAYS,
    )  # fmt: skip


@get(
    "/leerlingen/{pupil_id:uuid}/exporteren",
    name="page-handover-export-form",
    include_in_schema=False,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def export_form(request: Request[Any, Any, Any], pupil_id: FromPath[UUID]) -> Template:
    """The form to export the pupil's file for a school outside the platform."""
    return await _form(request, pupil_id)


@post(
    "/leerlingen/{pupil_id:uuid}/exporteren",
    name="page-handover-export",
    include_in_schema=False,
    status_code=200,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def export_post(request: Request[Any, Any, Any], pupil_id: FromPath[UUID]) -> Template:
    """Make the export; the link and the password are shown once (never stored)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in FIELDS}
    services = Services.of(request.app.state)
    try:
        made = await make_export(services, school, viewer.principal, pupil_id, ExportBody(**values))
    except InvalidInput as error:
        field = error.field or "to_school_name"
        message = FIELD_MESSAGES_NL.get(error.reason or "", "Controleer dit veld.")
        return await _form(request, pupil_id, values=values, errors={field: message})
    page = render(
        viewer,
        "handover/exported.html",
        active="leerlingen",
        pupil_id=pupil_id,
        to_school_name=made.export.to_school_name,
        link=link_of(services, made.token),
        password=made.password,
        expires_at=made.export.expires_at,
    )
    page.headers.update(NO_STORE)
    return page


# --- the receipt link (public) -----------------------------------------------------------------


def _page(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"public/{name}.html",
        context={"ui": UI, **context},
        status_code=status_code,
        headers=NO_STORE,
    )


def _gone() -> Template:
    """The one answer to a wrong, confirmed or expired link (nothing more is said)."""
    return _page("handover_gone", status_code=404)


def _address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def _allowed(request: Request[Any, Any, Any]) -> bool:
    state: State = request.app.state
    limiter = report_limits(state, Services.of(state).settings)
    allowed = await anyio.to_thread.run_sync(lambda: limiter.receipt_allowed(_address(request)))
    if not allowed:
        log_refusal("overdracht", "rate_address")
    return allowed


async def _service(request: Request[Any, Any, Any], token: str) -> ExportService | None:
    """The export service of the school the token names (``None``: no such school)."""
    parsed = Token.parse(token)
    if parsed is None:
        return None
    services = Services.of(request.app.state)
    try:
        school = await anyio.to_thread.run_sync(lambda: services.registry.school(parsed.school_id))
    except (NotFound, SchoolNotFound, ValueError):
        return None
    return export_service(services, school)


@get(BASE, name="public-handover-receipt", include_in_schema=False, opt=PUBLIC)
async def receipt_page(
    request: Request[Any, Any, Any], token: FromPath[str], sessie: FromQuery[str | None] = None
) -> Template | Redirect:
    """What the link holds, the download and the confirmation form."""
    if not await _allowed(request):
        return _page("handover_refused", status_code=429)
    service = await _service(request, token)
    now = datetime.now(UTC)
    export = (
        None if service is None else await anyio.to_thread.run_sync(service.by_token, token, now)
    )
    if export is None:
        return _gone()
    session = request.scope.get("session")
    if not (isinstance(session, dict) and session) and sessie is None:
        # A session for the form's CSRF token: set, then come back once.
        request.set_session({"public_form": True})
        return Redirect(f"/overdracht/{token}?sessie=1", status_code=303, headers=NO_STORE)
    return _page("handover_receipt", token=token, export=export, labels=LABELS_NL, errors={})


@get(f"{BASE}/bestand", name="public-handover-file", include_in_schema=False, opt=PUBLIC)
async def receipt_file(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    """The encrypted PDF (the download recorded in the sending school's log)."""
    if not await _allowed(request):
        return _page("handover_refused", status_code=429)
    service = await _service(request, token)
    now = datetime.now(UTC)
    pdf = None if service is None else await anyio.to_thread.run_sync(service.download, token, now)
    if pdf is None:
        return _gone()
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            **NO_STORE,
            "content-disposition": 'attachment; filename="overdrachtsdossier.pdf"',
            "x-content-type-options": "nosniff",
        },
    )


@post(BASE, name="public-handover-confirm", include_in_schema=False, opt=PUBLIC, status_code=200)
async def receipt_confirm(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    """Confirm receipt (name and school); the file is destroyed."""
    if not await _allowed(request):
        return _page("handover_refused", status_code=429)
    service = await _service(request, token)
    if service is None:
        return _gone()
    form = await request.form()
    by = str(form.get("confirmed_by") or "")
    school = str(form.get("confirmed_school") or "")
    now = datetime.now(UTC)
    try:
        done = await anyio.to_thread.run_sync(lambda: service.confirm(token, by, school, now))
    except InvalidInput as error:
        export = await anyio.to_thread.run_sync(service.by_token, token, now)
        if export is None:
            return _gone()
        message = FIELD_MESSAGES_NL.get(error.reason or "", "Controleer dit veld.")
        return _page(
            "handover_receipt",
            status_code=422,
            token=token,
            export=export,
            labels=LABELS_NL,
            errors={error.field or "confirmed_by": message},
            values={"confirmed_by": by, "confirmed_school": school},
        )
    if done is None:
        return _gone()
    return _page("handover_confirmed", export=done)


HANDOVER_RECEIPT_PAGE_ROUTES: list[Any] = [
    export_form,
    export_post,
    receipt_page,
    receipt_file,
    receipt_confirm,
]
