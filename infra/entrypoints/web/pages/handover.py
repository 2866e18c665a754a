"""The hand-over pages (issue 15 §5), for the contact person: hand a pupil's file over to
another school (from the pupil's page; the consents first), the files this school received,
one received file read-only (the read is recorded in the access log), confirming receipt."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from infra.entrypoints.web.api.handover import (
    HandOverBody,
    HandOverOut,
    ReceivedOut,
    confirm_as,
    erase_as,
    inbox_of,
    preview_handover,
    send_handover,
)
from infra.entrypoints.web.api.handover_export import ExportOut, export_service
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.forms import REQUIRED_NL
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages.common import render, school_required, viewer_of
from infra.entrypoints.web.reads import record_read
from services.access.roles import Permission
from services.audit.access_log import ReadKind
from services.casework.application import register_of
from services.handover.service import HandOverService, Prepared
from services.shared.errors import InvalidInput

FIELDS = ("to_school", "pupil_consent_on", "parents_consent_by", "parents_consent_on")
FIELD_LABELS_NL = {
    "to_school": "Nieuwe school (de korte naam op het platform, bijv. obs-de-linde)",
    "pupil_consent_on": "Toestemming van de leerling gegeven op",
    "parents_consent_by": "Toestemming van de ouders gegeven door",
    "parents_consent_on": "Toestemming van de ouders gegeven op",
    "pupil_id": "Leerling",
}
FIELD_MESSAGES_NL = {
    "required": REQUIRED_NL,
    "not_a_date": "Vul een datum in (jjjj-mm-dd).",
    "in_the_future": "Deze datum ligt in de toekomst.",
    "unknown_school": "Er is geen school met deze korte naam op het platform.",
    "same_school": "Dit is de eigen school.",
    "no_cases": "Deze leerling is in geen zaak van deze school de gepeste leerling.",
    "unknown_pupil": "Deze leerling is gewist.",
    "too_long": "De tekst is te lang.",
    "unsafe_characters": "De tekst bevat een teken dat niet is toegestaan (een stuurteken).",
    "preview_changed": "Het dossier is veranderd sinds u het bekeek. Bekijk het opnieuw.",
}


async def pupil_form(
    request: Request[Any, Any, Any],
    pupil_id: UUID,
    template: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A hand-over form of one pupil (on the platform or outside it): 422 with ``errors``."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    app = Services.of(request.app.state).container.schools.get(school.id)
    register = register_of(app, school.id)
    actor = viewer.principal.actor
    pupil = await anyio.to_thread.run_sync(lambda: register.get(actor, pupil_id))
    return render(
        viewer,
        template,
        status=422 if errors else 200,
        active="leerlingen",
        pupil=pupil,
        values=values or {},
        errors=errors or {},
        **context,
    )


async def _form(
    request: Request[Any, Any, Any],
    pupil_id: UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    return await pupil_form(
        request, pupil_id, "handover/send.html", values=values, errors=errors,
        fields=FIELDS, labels=FIELD_LABELS_NL,
    )  # fmt: skip


@get(
    "/leerlingen/{pupil_id:uuid}/overdragen",
    name="page-handover-form",
    include_in_schema=False,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def handover_form(request: Request[Any, Any, Any], pupil_id: FromPath[UUID]) -> Template:
    """The form to hand the pupil's file over: the new school and the consents."""
    return await _form(request, pupil_id)


@post(
    "/leerlingen/{pupil_id:uuid}/overdragen",
    name="page-handover-send",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def handover_send(
    request: Request[Any, Any, Any], pupil_id: FromPath[UUID]
) -> Template | Redirect:
    """First the preview ("Dit wordt verstuurd": other pupils' names replaced, each marked);
    sent only from there (``versturen``), exactly as shown (the preview's digest)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in FIELDS}
    confirmed = str(form.get("versturen") or "") == "1"
    body = HandOverBody(
        **values, preview_digest=str(form.get("preview_digest") or "") if confirmed else ""
    )
    services = Services.of(request.app.state)
    try:
        if not confirmed:
            prepared = await preview_handover(services, school, viewer.principal, pupil_id, body)
            return await _preview(request, pupil_id, values, prepared)
        await send_handover(services, school, viewer.principal, pupil_id, body)
    except InvalidInput as error:
        field = "to_school" if error.field in (None, "preview_digest") else error.field
        message = FIELD_MESSAGES_NL.get(error.reason or "", "Controleer dit veld.")
        return await _form(request, pupil_id, values=values, errors={field: message})
    return Redirect(f"/overdrachten?verzonden={pupil_id}", status_code=303)


async def _preview(
    request: Request[Any, Any, Any], pupil_id: UUID, values: dict[str, str], prepared: Prepared
) -> Template:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    app = Services.of(request.app.state).container.schools.get(school.id)
    register = register_of(app, school.id)
    actor = viewer.principal.actor
    pupil = await anyio.to_thread.run_sync(lambda: register.get(actor, pupil_id))
    return render(
        viewer,
        "handover/preview.html",
        status=200,
        active="leerlingen",
        pupil=pupil,
        fields=FIELDS,
        values=values,
        documents=prepared.documents,
        marks=prepared.marks,
        marked=prepared.parts,
        digest=prepared.digest,
    )


@get(
    "/overdrachten",
    name="page-handovers",
    include_in_schema=False,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def received_page(request: Request[Any, Any, Any]) -> Template:
    """The pupils' files this school received from other schools."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    inbox = inbox_of(Services.of(request.app.state), school)
    found = await anyio.to_thread.run_sync(inbox.all, viewer.principal.actor)
    services = Services.of(request.app.state)
    sender = HandOverService(services.container.schools.get(school.id), school)
    handovers = await anyio.to_thread.run_sync(sender.all, viewer.principal.actor)
    exporter = export_service(services, school)
    exports = await anyio.to_thread.run_sync(
        exporter.all, viewer.principal.actor, datetime.now(UTC)
    )
    register = register_of(services.container.schools.get(school.id), school.id)

    def pupil_names() -> dict[UUID, str]:
        found: dict[UUID, str] = {}
        for pupil_id in {h.pupil_id for h in handovers} | {e.pupil_id for e in exports}:
            pupil = register.load(pupil_id)
            found[pupil_id] = "" if pupil is None or pupil.erased else pupil.display_name
        return found

    names = await anyio.to_thread.run_sync(pupil_names)
    sent = "verzonden" in request.query_params
    return render(
        viewer,
        "handover/list.html",
        active="leerlingen",
        files=[ReceivedOut.of(f) for f in found],
        handovers=[HandOverOut.of(h) for h in handovers],
        exports=[ExportOut.of(e) for e in exports],
        pupil_names=names,
        sent=sent,
        erased="gewist" in request.query_params,
    )


@get(
    "/overdrachten/{file_id:uuid}",
    name="page-handover-file",
    include_in_schema=False,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def received_file_page(request: Request[Any, Any, Any], file_id: FromPath[UUID]) -> Template:
    """One received file, read-only (the read is recorded in the school's access log)."""
    return await _file(request, file_id)


async def _file(
    request: Request[Any, Any, Any], file_id: UUID, *, erase_error: str = ""
) -> Template:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    services = Services.of(request.app.state)
    inbox = inbox_of(services, school)
    found = await anyio.to_thread.run_sync(inbox.get, viewer.principal.actor, file_id)
    await record_read(services, school, viewer.principal, found.id, ReadKind.HANDOVER)
    return render(
        viewer,
        "handover/file.html",
        active="leerlingen",
        status=422 if erase_error else 200,
        file=ReceivedOut.of(found),
        documents=found.documents,
        erase_reasons=ERASE_REASONS_NL,
        erase_error=erase_error,
    )


@post(
    "/overdrachten/{file_id:uuid}/bevestigen",
    name="page-handover-confirm",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def confirm_post(request: Request[Any, Any, Any], file_id: FromPath[UUID]) -> Redirect:
    """Confirm receipt (recorded here and at the sending school)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    await confirm_as(Services.of(request.app.state), school, viewer.principal, file_id)
    return Redirect(f"/overdrachten/{file_id}", status_code=303)


#: Why a copy is erased before its time (the page's choices; the words of ``ErasureReason``).
ERASE_REASONS_NL = (
    ("not_enrolled", "De leerling is niet bij ons op school gekomen."),
    ("not_needed", "Wij hebben het dossier niet nodig."),
    ("sent_in_error", "Het dossier is per vergissing naar ons gestuurd."),
)


@post(
    "/overdrachten/{file_id:uuid}/wissen",
    name="page-handover-erase",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def erase_post(
    request: Request[Any, Any, Any], file_id: FromPath[UUID]
) -> Template | Redirect:
    """Erase the copy now (a reason chosen); the list keeps that it was received."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = await request.form()
    reason = str(form.get("reason") or "")
    services = Services.of(request.app.state)
    try:
        await erase_as(services, school, viewer.principal, file_id, reason)
    except InvalidInput:
        return await _file(request, file_id, erase_error="Kies waarom u het dossier wist.")
    return Redirect("/overdrachten?gewist=1", status_code=303)


HANDOVER_PAGE_ROUTES: list[Any] = [
    handover_form,
    handover_send,
    received_page,
    received_file_page,
    confirm_post,
    erase_post,
]
