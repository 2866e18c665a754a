"""The pupil register's pages, for the roles that read case-wide (contact person, coordinator,
auditor): the register (search, and for the contact person: add a pupil), and one pupil's page:
every case they take part in, with their role, dates and status, in one chronology; the contact
person can erase the pupil there. Names are unsealed from the register as the page renders."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from infra.entrypoints.web.context import Services
from infra.entrypoints.web.forms import REQUIRED_NL
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages.common import render, school_required, viewer_of
from projections.pupils import queries as pq
from services.access.roles import Permission
from services.casework.application import register_of
from services.pupils.domain import PupilDetails
from services.pupils.register import PupilReason, PupilRegister
from services.shared.errors import InvalidInput
from tenants.registry import School

#: Dutch messages for a refused field of the register's forms, by reason.
FIELD_MESSAGES_NL: dict[str, str] = {
    PupilReason.REFERENCE_TAKEN: "Er staat al een leerling met dit leerlingnummer in het register.",
    "required": REQUIRED_NL,
    "too_long": "De tekst is te lang.",
    "unsafe_characters": "De tekst bevat een teken dat niet is toegestaan (een stuurteken).",
}
FIELD_LABELS_NL = {
    "reference": "Leerlingnummer",
    "display_name": "Naam",
    "group": "Groep of klas",
    "reason": "Reden",
}


def _register(request: Request[Any, Any, Any], school: School) -> PupilRegister:
    services = Services.of(request.app.state)
    return register_of(services.container.schools.get(school.id), school.id)


def _refused(error: InvalidInput) -> dict[str, str]:
    field = error.field or "reference"
    return {field: FIELD_MESSAGES_NL.get(error.reason or "", "Controleer dit veld.")}


async def _list_page(
    request: Request[Any, Any, Any],
    q: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    register = _register(request, school)
    actor = viewer.principal.actor
    pupils = await anyio.to_thread.run_sync(lambda: register.search(actor, q))
    return render(
        viewer,
        "pupils/list.html",
        status=422 if errors else 200,
        active="leerlingen",
        pupils=pupils,
        q=q,
        may_add=viewer.may(Permission.PUPILS_MANAGE),
        values=values or {},
        errors=errors or {},
        labels=FIELD_LABELS_NL,
    )


@get(
    "/leerlingen",
    name="page-pupils",
    include_in_schema=False,
    guards=[requires(Permission.PUPILS_READ)],
)
async def pupils_page(
    request: Request[Any, Any, Any],
    q: Annotated[str, QueryParameter(max_length=200)] = "",
) -> Template:
    """The school's pupil register, searched by number, name or group."""
    return await _list_page(request, q)


@post(
    "/leerlingen",
    name="page-pupils-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def pupils_post(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Add a pupil to the register (then their page)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("reference", "display_name", "group")}
    details = PupilDetails(values["reference"], values["display_name"], values["group"])
    register = _register(request, school)
    try:
        pupil = await anyio.to_thread.run_sync(
            lambda: register.register(viewer.principal.actor, details)
        )
    except InvalidInput as error:
        return await _list_page(request, "", values=values, errors=_refused(error))
    return Redirect(f"/leerlingen/{pupil.id}", status_code=303)


async def _pupil_page(
    request: Request[Any, Any, Any], pupil_id: UUID, *, errors: dict[str, str] | None = None
) -> Template:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    register = _register(request, school)
    actor = viewer.principal.actor
    pupil = await anyio.to_thread.run_sync(lambda: register.get(actor, pupil_id))
    async with Services.of(request.app.state).read_pool.acquire() as conn:
        cases = await pq.chronology(conn, school.schema_name, pupil_id)
        signals = [
            s for s in await pq.pupil_signals(conn, school.schema_name) if s.pupil_id == pupil_id
        ]
    return render(
        viewer,
        "pupils/pupil.html",
        status=422 if errors else 200,
        active="leerlingen",
        pupil=pupil,
        cases=cases,
        signals=[(s, pq.PUPIL_SIGNAL_LABELS_NL[s.kind]) for s in signals],
        may_erase=viewer.may(Permission.PUPILS_MANAGE) and not pupil.erased,
        may_read_cases=viewer.may(Permission.CASE_READ),
        errors=errors or {},
    )


@get(
    "/leerlingen/{pupil_id:uuid}",
    name="page-pupil",
    include_in_schema=False,
    guards=[requires(Permission.PUPILS_READ)],
)
async def pupil_page(request: Request[Any, Any, Any], pupil_id: FromPath[UUID]) -> Template:
    """One pupil: every case they take part in, with their role, dates and status."""
    return await _pupil_page(request, pupil_id)


@post(
    "/leerlingen/{pupil_id:uuid}/wissen",
    name="page-pupil-erase",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def pupil_erase_post(
    request: Request[Any, Any, Any], pupil_id: FromPath[UUID]
) -> Template | Redirect:
    """Erase the pupil in every case (their key is destroyed)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    reason = str((await request.form()).get("reason") or "")
    register = _register(request, school)
    try:
        await anyio.to_thread.run_sync(
            lambda: register.erase(viewer.principal.actor, pupil_id, reason=reason)
        )
    except InvalidInput as error:
        return await _pupil_page(request, pupil_id, errors=_refused(error))
    return Redirect(f"/leerlingen/{pupil_id}", status_code=303)


PUPIL_PAGE_ROUTES: list[Any] = [pupils_page, pupils_post, pupil_page, pupil_erase_post]
