"""Hand-over of a pupil's bullying file to their next school (issue 15 §5): the sending contact
person sends, the receiving contact person lists, opens (recorded in the receiving school's
access log) and confirms. Both sides are the contact person's (``pupils.manage``).

The request of the sending school never writes the receiving school's tables: the platform
service (:mod:`services.handover.service`) delivers the copy through the receiving school's own
log application, under that school's encryption.
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
from infra.entrypoints.web.actions import text_type
from infra.entrypoints.web.api.responses import problems
from infra.entrypoints.web.context import Services, principal_of, school_of, today
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.reads import record_read
from projections.pupils import queries as pq
from services.access.need_to_know import first_name
from services.access.roles import Permission
from services.audit.access_log import ReadKind
from services.casework.application import register_of
from services.casework.domain import Case
from services.casework.sealing import ERASED
from services.exports.case_file import person_ids
from services.exports.reader import CaseFileReader, CaseRecord
from services.handover.domain import HandOver, ReceivedFile
from services.handover.erasure import erase_received
from services.handover.names import KnownPupil, NameMatcher, matcher_for
from services.handover.service import (
    Consent,
    HandOverNotFound,
    HandOverReason,
    HandOverService,
    Inbox,
    Prepared,
    confirm_receipt,
    require_manage,
)
from services.people.names import Names
from services.pupils.register import PupilEntry
from services.shared.errors import InvalidInput, SchoolNotFound
from services.shared.text import clean_text
from tenants.registry import School


@dataclasses.dataclass(frozen=True, kw_only=True)
class HandOverBody:
    """Where to (the receiving school's slug) and the consents recorded before sending: the
    pupil's (date) and the parents' (who, date). Without them nothing is sent (422)."""

    to_school: text_type(required=True, max_len=63)  # type: ignore[valid-type]
    pupil_consent_on: text_type(required=False, max_len=10) = ""  # type: ignore[valid-type]
    parents_consent_by: text_type(required=False, max_len=200) = ""  # type: ignore[valid-type]
    parents_consent_on: text_type(required=False, max_len=10) = ""  # type: ignore[valid-type]
    #: The preview's ``digest``: given, the send is refused (422 ``preview_changed``) when
    #: what would be sent is no longer what the preview showed.
    preview_digest: text_type(required=False, max_len=64) = ""  # type: ignore[valid-type]


@dataclasses.dataclass(frozen=True)
class HandOverOut:
    """The sending school's record of a hand-over."""

    handover_id: UUID
    pupil_id: UUID
    to_school: str
    case_ids: list[UUID]
    pupil_consent_on: date
    parents_consent_by: str
    parents_consent_on: date
    sent_by: str
    sent_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None

    @classmethod
    def of(cls, h: HandOver) -> "HandOverOut":
        return cls(
            handover_id=h.id,
            pupil_id=h.pupil_id,
            to_school=h.to_school_slug,
            case_ids=list(h.case_ids),
            pupil_consent_on=h.pupil_consent_on,
            parents_consent_by=h.parents_consent_by,
            parents_consent_on=h.parents_consent_on,
            sent_by=h.sent_by,
            sent_at=h.created_on,
            confirmed_by=h.confirmed_by,
            confirmed_at=h.confirmed_at,
        )


@dataclasses.dataclass(frozen=True)
class ReceivedOut:
    """A file received from another school (without its documents)."""

    file_id: UUID
    from_school: str
    pupil_name: str
    sent_by: str
    sent_at: datetime
    keep_until: date
    cases: int
    confirmed_by: str | None
    confirmed_at: datetime | None
    #: Erased (retention, or the contact person): the name reads "[gewist]", no documents.
    erased_at: datetime | None = None
    erase_reason: str | None = None

    @classmethod
    def of(cls, f: ReceivedFile) -> "ReceivedOut":
        return cls(
            file_id=f.id,
            from_school=f.from_school_name,
            pupil_name=f.pupil_name,
            sent_by=f.sent_by,
            sent_at=f.sent_at,
            keep_until=f.keep_until,
            cases=len(f.documents),
            confirmed_by=f.confirmed_by,
            confirmed_at=f.confirmed_at,
            erased_at=f.erased_at,
            erase_reason=f.erase_reason,
        )


@dataclasses.dataclass(frozen=True)
class ReceivedFileOut:
    """A received file with its case documents (read-only; the read is recorded)."""

    file: ReceivedOut
    documents: list[dict[str, Any]]


def receiving_school(services: Services, slug: str) -> School:
    """The school named by ``to_school`` (422 naming the field when there is none)."""
    text = clean_text(slug, "to_school", max_len=63).lower()
    try:
        return services.registry.school_by_slug(text)
    except (SchoolNotFound, ValueError):
        msg = "to_school: no school with this slug on the platform"
        raise InvalidInput(msg, field="to_school", reason="unknown_school") from None


@dataclasses.dataclass(frozen=True)
class PupilFile:
    """What a hand-over reads of the pupil, on the platform or outside it: the pupil, the cases
    where they are target, the names of the people in them, and the names to look for in the
    free text."""

    pupil: PupilEntry
    records: list[CaseRecord]
    names: Names
    matcher: NameMatcher


@dataclasses.dataclass(frozen=True)
class _Gathered:
    file: PupilFile
    consent: Consent
    receiving: School
    service: HandOverService


async def pupil_and_consent(
    services: Services, school: School, principal: Principal, pupil_id: UUID, consent: Consent
) -> PupilEntry:
    """The pupil to hand over (not erased), once the consents are there (nothing is read
    without them)."""
    require_manage(principal.actor)
    register = register_of(services.container.schools.get(school.id), school.id)
    pupil = await anyio.to_thread.run_sync(lambda: register.get(principal.actor, pupil_id))
    if pupil.erased:
        msg = "pupil_id: the pupil was erased"
        raise InvalidInput(msg, field="pupil_id", reason=HandOverReason.UNKNOWN_PUPIL)
    consent.cleaned(today())  # refuse before anything is read or built
    return pupil


async def read_pupil_file(
    services: Services, school: School, principal: Principal, pupil: PupilEntry
) -> PupilFile:
    """The cases where ``pupil`` is target, with the names they need."""
    app = services.container.schools.get(school.id)
    register = register_of(app, school.id)
    async with services.read_pool.acquire() as conn:
        links = await pq.chronology(conn, school.schema_name, pupil.pupil_id)
    case_ids = [link.case_id for link in links if link.role == "target"]

    def read() -> tuple[list[CaseRecord], NameMatcher]:
        reader = CaseFileReader(app, school.id)
        records = [reader.read(principal.actor, case_id) for case_id in case_ids]
        return records, handover_matcher(pupil, records, register.all())

    records, matcher = await anyio.to_thread.run_sync(read)
    ids: set[str] = {principal.actor.user_id}
    for record in records:
        ids |= person_ids(record, principal.actor)
    names = await services.names(school, ids)
    return PupilFile(pupil, records, names, matcher)


async def _gather(
    services: Services, school: School, principal: Principal, pupil_id: UUID, data: HandOverBody
) -> _Gathered:
    """What both the preview and the send need: the consents checked first, the pupil, the
    receiving school, then the pupil's file."""
    consent = Consent(data.pupil_consent_on, data.parents_consent_by, data.parents_consent_on)
    pupil = await pupil_and_consent(services, school, principal, pupil_id, consent)
    receiving = await anyio.to_thread.run_sync(receiving_school, services, data.to_school)
    return _Gathered(
        file=await read_pupil_file(services, school, principal, pupil),
        consent=consent,
        receiving=receiving,
        service=HandOverService(services.container.schools.get(school.id), school),
    )


def handover_matcher(
    pupil: PupilEntry, records: list[CaseRecord], register: list[PupilEntry]
) -> NameMatcher:
    """The names to look for in a hand-over's free text: the other participants of the cases
    sent (they become their first name) and the school's register (``[naam]``)."""
    known: list[KnownPupil] = []
    for record in records:
        for e in record.events:
            if not isinstance(e, Case.ParticipantAdded) or e.pupil_id == pupil.pupil_id:
                continue
            if e.display_name == ERASED:
                continue
            known.append(
                KnownPupil(
                    display_name=e.display_name,
                    reference="" if e.pupil_ref == ERASED else e.pupil_ref,
                    group="" if e.group == ERASED else e.group,
                    first_name=str(first_name(e.display_name)),
                )
            )
    for entry in register:
        if entry.erased or entry.pupil_id == pupil.pupil_id:
            continue
        known.append(KnownPupil(entry.display_name, entry.reference, entry.group))
    return matcher_for(pupil.display_name, pupil.reference, known)


async def preview_handover(
    services: Services, school: School, principal: Principal, pupil_id: UUID, data: HandOverBody
) -> Prepared:
    """What would be sent, names of other pupils replaced (nothing is sent or recorded)."""
    g = await _gather(services, school, principal, pupil_id, data)
    return await anyio.to_thread.run_sync(
        lambda: g.service.prepare(
            principal.actor,
            pupil_id=pupil_id,
            records=g.file.records,
            names=g.file.names,
            now=datetime.now(UTC),
            matcher=g.file.matcher,
        )
    )


async def send_handover(
    services: Services, school: School, principal: Principal, pupil_id: UUID, data: HandOverBody
) -> HandOver:
    """Everything the sending side does, for the API (and a page): the documents as
    :func:`preview_handover` shows them (the same :meth:`HandOverService.prepare`)."""
    g = await _gather(services, school, principal, pupil_id, data)
    inbox = Inbox(services.container.schools.get(g.receiving.id), g.receiving.id)
    handover = await anyio.to_thread.run_sync(
        lambda: g.service.send(
            principal.actor,
            pupil_id=pupil_id,
            pupil_name=g.file.pupil.display_name,
            receiving=g.receiving,
            inbox=inbox,
            consent=g.consent,
            records=g.file.records,
            names=g.file.names,
            now=datetime.now(UTC),
            today=today(),
            matcher=g.file.matcher,
            expected_digest=data.preview_digest,
        )
    )
    for case_id in handover.case_ids:
        await record_read(services, school, principal, case_id, ReadKind.EXPORT)
    return handover


@post(
    "/api/pupils/{pupil_id:uuid}/handover",
    summary="Hand the pupil's bullying file over to another school on the platform",
    tags=["handover"],
    status_code=201,
    responses=problems(404, 422, body=True),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_send_handover(
    request: Request[Any, Any, Any], pupil_id: FromPath[UUID], data: JSONBody[HandOverBody]
) -> Response[HandOverOut]:
    """The cases where the pupil is target, as case documents for the receiving contact person
    (summary, participants by first name, steps, agreements, aftercare); 422 naming the field
    without the pupil's or the parents' consent, or an unknown school. Each case read is
    recorded in the sending school's access log (export)."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    handover = await send_handover(services, school, principal, pupil_id, data)
    return Response(HandOverOut.of(handover), headers={"Location": f"/api/handovers/{handover.id}"})


@dataclasses.dataclass(frozen=True)
class ReplacementOut:
    """One name replaced in the free text: where (document index, section key, entry index,
    ``title`` or ``line-<n>``), what stood there, what it became."""

    document: int
    section: str
    entry: int
    field: str
    found: str
    replaced_by: str


@dataclasses.dataclass(frozen=True)
class HandOverPreviewOut:
    """What the send would deliver (``documents``, exactly), every replaced name listed, and
    the ``digest`` to send with it (``preview_digest``) so the send is what was seen."""

    case_ids: list[UUID]
    documents: list[dict[str, Any]]
    replacements: list[ReplacementOut]
    digest: str


@post(
    "/api/pupils/{pupil_id:uuid}/handover/preview",
    summary="Preview a hand-over: what would be sent, other pupils' names replaced",
    tags=["handover"],
    status_code=200,
    responses=problems(404, 422, body=True),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_preview_handover(
    request: Request[Any, Any, Any], pupil_id: FromPath[UUID], data: JSONBody[HandOverBody]
) -> HandOverPreviewOut:
    """The same body as the send; nothing is sent or recorded. Names of other pupils known to
    the school (the cases' other participants, the register) found in the free text are
    replaced by their first name or ``[naam]``, groups by ``[groep]``; each is listed.
    Names the school does not know (another school's pupil, a nickname) are not found."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    prepared = await preview_handover(services, school, principal, pupil_id, data)
    return HandOverPreviewOut(
        case_ids=prepared.case_ids,
        documents=prepared.documents,
        replacements=[
            ReplacementOut(m.document, m.section, m.entry, m.field, m.found, m.replaced_by)
            for m in prepared.marks
        ],
        digest=prepared.digest,
    )


@get(
    "/api/handovers/{handover_id:uuid}",
    summary="The sending school's record of a hand-over (sent, confirmed: by whom, when)",
    tags=["handover"],
    responses=problems(404),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_handover(request: Request[Any, Any, Any], handover_id: FromPath[UUID]) -> HandOverOut:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    require_manage(principal.actor)
    service = HandOverService(services.container.schools.get(school.id), school)
    found = await anyio.to_thread.run_sync(service.load, handover_id)
    if found is None:
        raise HandOverNotFound(f"hand-over {handover_id} not found")
    return HandOverOut.of(found)


@get(
    "/api/handovers",
    summary="The hand-overs this school sent (to whom, confirmed: by whom, when)",
    tags=["handover"],
    responses=problems(),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_sent_handovers(request: Request[Any, Any, Any]) -> list[HandOverOut]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    service = HandOverService(services.container.schools.get(school.id), school)
    found = await anyio.to_thread.run_sync(service.all, principal.actor)
    return [HandOverOut.of(h) for h in found]


def inbox_of(services: Services, school: School) -> Inbox:
    return Inbox(services.container.schools.get(school.id), school.id)


@get(
    "/api/handovers/received",
    summary="The pupils' files this school received from other schools",
    tags=["handover"],
    responses=problems(),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_received_files(request: Request[Any, Any, Any]) -> list[ReceivedOut]:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    inbox = inbox_of(Services.of(request.app.state), school)
    found = await anyio.to_thread.run_sync(inbox.all, principal.actor)
    return [ReceivedOut.of(f) for f in found]


@get(
    "/api/handovers/received/{file_id:uuid}",
    summary="One received file, read-only (the read is recorded in the access log)",
    tags=["handover"],
    responses=problems(404),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_received_file(
    request: Request[Any, Any, Any], file_id: FromPath[UUID]
) -> ReceivedFileOut:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    inbox = inbox_of(services, school)
    found = await anyio.to_thread.run_sync(inbox.get, principal.actor, file_id)
    await record_read(services, school, principal, found.id, ReadKind.HANDOVER)
    return ReceivedFileOut(file=ReceivedOut.of(found), documents=list(found.documents))


async def confirm_as(
    services: Services, school: School, principal: Principal, file_id: UUID
) -> ReceivedFile:
    """Confirm receipt of a file of ``school`` (recorded on both sides), for the API and a page."""
    inbox = inbox_of(services, school)
    received = await anyio.to_thread.run_sync(inbox.get, principal.actor, file_id)
    sender_school = await anyio.to_thread.run_sync(
        lambda: services.registry.school(received.from_school_id, include_offboarded=True)
    )
    sender = HandOverService(services.container.schools.get(sender_school.id), sender_school)
    names = await services.names(school, [principal.actor.user_id])
    return await anyio.to_thread.run_sync(
        lambda: confirm_receipt(
            principal.actor,
            inbox,
            file_id,
            sender,
            f"{names(principal.actor.user_id)}, {school.name}",
            datetime.now(UTC),
        )
    )


@post(
    "/api/handovers/received/{file_id:uuid}/confirm",
    summary="Confirm receipt of a received file (recorded on both sides)",
    tags=["handover"],
    status_code=200,
    responses=problems(404),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_confirm_received(
    request: Request[Any, Any, Any], file_id: FromPath[UUID]
) -> ReceivedOut:
    principal = await principal_of(request)
    school = await school_of(request, principal)
    return ReceivedOut.of(
        await confirm_as(Services.of(request.app.state), school, principal, file_id)
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class EraseReceivedBody:
    """Why the copy is erased before its time: ``not_enrolled`` (the pupil did not come),
    ``not_needed`` or ``sent_in_error``."""

    reason: text_type(required=True, max_len=40)  # type: ignore[valid-type]


async def erase_as(
    services: Services, school: School, principal: Principal, file_id: UUID, reason: str
) -> ReceivedFile:
    """Erase a received copy of ``school`` now (its keys destroyed), for the API and a page."""
    inbox = inbox_of(services, school)
    return await anyio.to_thread.run_sync(
        lambda: erase_received(principal.actor, inbox, file_id, reason, datetime.now(UTC))
    )


@post(
    "/api/handovers/received/{file_id:uuid}/erase",
    summary="Erase a received copy before its keep-until date (the name and documents go)",
    tags=["handover"],
    status_code=200,
    responses=problems(404, 422, body=True),
    guards=[requires(Permission.PUPILS_MANAGE)],
)
async def api_erase_received(
    request: Request[Any, Any, Any], file_id: FromPath[UUID], data: JSONBody[EraseReceivedBody]
) -> ReceivedOut:
    """The receiving contact person erases the copy (e.g. the pupil did not enroll): recorded
    as ``ReceivedFileErased`` with the reason, then the copy's keys are destroyed; the inbox
    keeps the record (name "[gewist]"). Erasing again changes nothing."""
    principal = await principal_of(request)
    school = await school_of(request, principal)
    services = Services.of(request.app.state)
    return ReceivedOut.of(await erase_as(services, school, principal, file_id, data.reason))


HANDOVER_ROUTES: list[Any] = [
    api_send_handover,
    api_sent_handovers,
    api_preview_handover,
    api_handover,
    api_received_files,
    api_received_file,
    api_confirm_received,
    api_erase_received,
]
