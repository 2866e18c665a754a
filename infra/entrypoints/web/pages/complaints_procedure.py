"""The school's complaints procedure on the pages (issue 14 §2): ``/school/klachtenregeling``
(read by every staff member of the school; the anti-pest coördinator edits it) and the letter
for pupil and parents, ``/zaken/{id}/klachtenregeling`` (print-friendly; for who explains the
complaints route). The letter names the case by its short number only: no pupil, no case text.
"""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from datetime import datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from infra.adapters.exports.pdf import render_letter_pdf
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import LOGGED_IN, requires
from infra.entrypoints.web.pages.common import Viewer, render, school_required, viewer_of
from infra.entrypoints.web.reads import case_page
from services.access.roles import Permission
from services.casework.labels import dutch_date
from services.casework.protocol import SCHOOL_TZ
from services.shared.errors import InvalidInput

URL = "/school/klachtenregeling"

FIELD_ERRORS_NL = {
    "required": "Vul dit in.",
    "too_long": "Dit is te lang.",
    "unsafe_characters": "Hierin staat een teken dat niet is toegestaan.",
    "not_text": "Vul tekst in.",
}


@get(URL, name="page-complaints-procedure", include_in_schema=False, guards=[LOGGED_IN])
async def complaints_procedure_page(
    request: Request[Any, Any, Any], opgeslagen: FromQuery[str | None] = None
) -> Template:
    """The procedure as configured; the form for who manages the school's protocol."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    procedure = school.complaints_procedure
    return render(
        viewer,
        "school/complaints_procedure.html",
        active="klachtenregeling",
        procedure=procedure,
        values=procedure.to_json() if procedure else {},
        errors={},
        saved=opgeslagen is not None,
        may_edit=viewer.may(Permission.PROTOCOL_MANAGE),
    )


@post(
    URL,
    name="page-complaints-procedure-save",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.PROTOCOL_MANAGE)],
)
async def complaints_procedure_save(request: Request[Any, Any, Any]) -> Template | Redirect:
    viewer = await viewer_of(request)
    school = school_required(viewer)
    form = await request.form()
    values = {
        name: str(form.get(name) or "") for name in ("text", "confidential_advisor", "committee")
    }
    services = Services.of(request.app.state)
    try:
        await anyio.to_thread.run_sync(
            lambda: services.registry.configure_complaints_procedure(
                school.id, **values, actor=viewer.principal.actor
            )
        )
    except InvalidInput as e:
        errors = {e.field or "text": FIELD_ERRORS_NL.get(e.reason or "", "Dit klopt niet.")}
        return render(
            viewer,
            "school/complaints_procedure.html",
            status=422,
            active="klachtenregeling",
            procedure=school.complaints_procedure,
            values=values,
            errors=errors,
            saved=False,
            may_edit=True,
        )
    services.directory.evict(school.id)
    return Redirect(f"{URL}?opgeslagen=1", status_code=303)


@get(
    "/zaken/{case_id:uuid}/klachtenregeling",
    name="page-complaints-procedure-letter",
    include_in_schema=False,
    guards=[requires(Permission.COMPLAINT_EXPLAIN)],
)
async def complaints_procedure_letter(
    request: Request[Any, Any, Any], case_id: FromPath[UUID]
) -> Template:
    """The procedure as a letter to pupil and parents (print it from the browser)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    await _must_see(request, viewer, case_id)
    return render(
        viewer,
        "cases/complaints_letter.html",
        active="zaken",
        case_id=case_id,
        procedure=school.complaints_procedure,
        today=datetime.now(SCHOOL_TZ).date(),
    )


async def _must_see(request: Request[Any, Any, Any], viewer: Viewer, case_id: UUID) -> None:
    """A letter only about a case of this school that the viewer reads (404 otherwise, as the
    case page: no hint whether it exists)."""
    school = school_required(viewer)
    await case_page(Services.of(request.app.state), school, viewer.principal, case_id)


#: The letter's sentences around the school's own text (the page and the PDF say the same).
LETTER_OPENING = (
    "Beste leerling, beste ouder of verzorger,\n\nU heeft met ons gesproken over pesten. Bent u "
    "niet tevreden over hoe de school daarmee omgaat, dan kunt u een klacht indienen. Zo werkt "
    "dat bij onze school:"
)


@get(
    "/zaken/{case_id:uuid}/klachtenregeling.pdf",
    name="page-complaints-procedure-letter-pdf",
    include_in_schema=False,
    guards=[requires(Permission.COMPLAINT_EXPLAIN)],
)
async def complaints_procedure_letter_pdf(
    request: Request[Any, Any, Any], case_id: FromPath[UUID]
) -> Response[bytes]:
    """The same letter as PDF (the case file's PDF adapter and font)."""
    viewer = await viewer_of(request)
    school = school_required(viewer)
    await _must_see(request, viewer, case_id)
    procedure = school.complaints_procedure
    if procedure is None:
        raise NotFoundException("the school has not configured its complaints procedure")
    blocks = [
        ("", f"Betreft: de klachtenregeling (zaak {str(case_id)[:8]})"),
        ("", LETTER_OPENING),
        ("", procedure.text),
        ("Vertrouwenspersoon", procedure.confidential_advisor),
        ("Klachtencommissie", procedure.committee),
        (
            "",
            f"Met vriendelijke groet,\n\n{viewer.display_name}\n"
            f"{viewer.role_label}, {viewer.school_name}",
        ),
    ]
    data = await anyio.to_thread.run_sync(
        lambda: render_letter_pdf(
            title=f"Klachtenregeling {school.name}",
            sender=school.name,
            date_text=dutch_date(datetime.now(SCHOOL_TZ).date()),
            blocks=blocks,
        )
    )
    return Response(
        content=data,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="klachtenregeling-{str(case_id)[:8]}.pdf"'
        },
    )


COMPLAINTS_PROCEDURE_PAGE_ROUTES: list[Any] = [
    complaints_procedure_page,
    complaints_procedure_save,
    complaints_procedure_letter,
    complaints_procedure_letter_pdf,
]
