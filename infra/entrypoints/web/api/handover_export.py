"""Hand-over outside the platform (issue 15 §5): the contact person exports the pupil's file as
a PDF encrypted under a one-time password, with a receipt link for the next school
(:mod:`services.handover.export`). The link's public pages are in
:mod:`infra.entrypoints.web.pages.handover_receipt`.
"""

# Real annotation objects for Litestar's signature parsing (see api/cases.py).

import dataclasses
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody

from infra.adapters.auth.principal import Principal
from infra.adapters.exports.pdf import render_handover_pdf
from infra.entrypoints.web.actions import text_type
from infra.entrypoints.web.api.handover import pupil_and_consent, read_pupil_file
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of, today
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.reads import record_read
from services.access.roles import Permission
from services.audit.access_log import ReadKind
from services.handover.export import (
    ExportService,
    HandOverExport,
    MadeExport,
)
from services.handover.service import Consent
from tenants.registry import School

#: Where the receiving school opens the link (the token follows).
RECEIPT_PATH = "/overdracht"
NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExportBody:
    """The receiving school (its name: it is not on the platform) and the consents recorded
    before anything is made: the pupil's (date) and the parents' (who, date)."""

    to_school_name: text_type(required=True, max_len=200)  # type: ignore[valid-type]
    pupil_consent_on: text_type(required=False, max_len=10) = ""  # type: ignore[valid-type]
    parents_consent_by: text_type(required=False, max_len=200) = ""  # type: ignore[valid-type]
    parents_consent_on: text_type(required=False, max_len=10) = ""  # type: ignore[valid-type]


@dataclasses.dataclass(frozen=True)
class ExportMadeOut:
    """Shown once, never stored: the receipt link (for the e-mail) and the PDF's password (to
    give by phone, apart from the link)."""

    export_id: UUID
    link: str
    password: str
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class ExportOut:
    """The sending school's record of an export: made, downloaded, confirmed or expired."""

    export_id: UUID
    pupil_id: UUID
    to_school_name: str
    case_ids: list[UUID]
    pupil_consent_on: date
    parents_consent_on: date
    sent_by: str
    sent_at: datetime
    expires_at: datetime
    downloads: int
    last_downloaded_at: datetime | None
    confirmed_by: str | None
    confirmed_school: str | None
    confirmed_at: datetime | None
    expired_at: datetime | None

    @classmethod
    def of(cls, e: HandOverExport) -> "ExportOut":
        return cls(
            export_id=e.id,
            pupil_id=e.pupil_id,
            to_school_name=e.to_school_name,
            case_ids=list(e.case_ids),
            pupil_consent_on=e.pupil_consent_on,
            parents_consent_on=e.parents_consent_on,
            sent_by=e.sent_by,
            sent_at=e.created_on,
            expires_at=e.expires_at,
            downloads=len(e.downloads),
            last_downloaded_at=e.downloads[-1] if e.downloads else None,
            confirmed_by=e.confirmed_by,
            confirmed_school=e.confirmed_school,
            confirmed_at=e.confirmed_at,
            expired_at=e.expired_at,
        )


def export_service(services: Services, school: School) -> ExportService:
    """The school's exports: its log, its key store, its file store, the token key."""
    return services.container.handover_exports(school)


async def make_export(
    services: Services, school: School, principal: Principal, pupil_id: UUID, data: ExportBody
) -> MadeExport:
    """Everything the sending side does, for the API and the page."""
    consent = Consent(data.pupil_consent_on, data.parents_consent_by, data.parents_consent_on)
    pupil = await pupil_and_consent(services, school, principal, pupil_id, consent)
    # Other pupils' names in the free text are replaced as on the platform.
    file = await read_pupil_file(services, school, principal, pupil)
    service = export_service(services, school)
    now = datetime.now(UTC)

    def render(documents: list[dict[str, Any]], password: str) -> bytes:
        return render_handover_pdf(
            school_name=school.name,
            pupil_name=pupil.display_name,
            to_school_name=data.to_school_name,
            documents=documents,
            made_at=now,
            password=password,
        )

    made = await anyio.to_thread.run_sync(
        lambda: service.export(
            principal.actor,
            pupil_id=pupil_id,
            to_school_name=data.to_school_name,
            consent=consent,
            records=file.records,
            names=file.names,
            render=render,
            now=now,
            today=today(),
            matcher=file.matcher,
        )
    )
    for case_id in made.export.case_ids:
        await record_read(services, school, principal, case_id, ReadKind.EXPORT)
    return made


def link_of(services: Services, token: str) -> str:
    return f"{services.settings.public_url.rstrip('/')}{RECEIPT_PATH}/{token}"


@post(
    "/api/pupils/{pupil_id:uuid}/handover-export",
    summary="Export the pupil's bullying file for a school outside the platform",
    tags=["handover"],
    status_code=201,
    responses=problems(404, 422, body=True),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_make_export(
    request: Request[Any, Any, Any], pupil_id: FromPath[UUID], data: JSONBody[ExportBody]
) -> Response[ExportMadeOut]:
    """The same documents as the hand-over on the platform, as a PDF encrypted (AES-256) under
    a one-time password; the answer holds the receipt link and the password, once (neither is
    stored). The link works 14 days (``EXPORT_DAYS``); after the receipt is confirmed or the link
    expired, the file is destroyed. 422 naming the field without the consents."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    made = await make_export(services, school, principal, pupil_id, data)
    out = ExportMadeOut(
        export_id=made.export.id,
        link=link_of(services, made.token),
        password=made.password,
        expires_at=made.export.expires_at,
    )
    return Response(out, headers=NO_STORE)


@get(
    "/api/handover-exports",
    summary="The exports this school made (downloaded, confirmed or expired: by whom, when)",
    tags=["handover"],
    responses=problems(),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_exports(request: Request[Any, Any, Any]) -> list[ExportOut]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    service = export_service(Services.of(request.app.state), school)
    now = datetime.now(UTC)
    found = await anyio.to_thread.run_sync(service.all, principal.actor, now)
    return [ExportOut.of(e) for e in found]


HANDOVER_EXPORT_ROUTES: list[Any] = [api_make_export, api_exports]
