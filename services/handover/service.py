"""Hand-over use cases (issue 15 §5): send a pupil's bullying file to their next school, list
and open received files, confirm receipt. See README.md for what is sent and why.

Isolation: a request of the sending school never touches the receiving school's storage
itself. It hands the built documents to :meth:`HandOverService.send`, which delivers them
through the receiving school's own log application (its :class:`Inbox`, which the composition
root gives it): the copy is an event in *that* school's log, under *that* school's
encryption. The confirmation travels back the same way (the platform service records it on the
sending school's :class:`~services.handover.domain.HandOver`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application

from services.access.need_to_know import first_name
from services.access.roles import Permission, has_permission
from services.casework.domain import Case
from services.casework.vocabulary import ParticipantRole
from services.exports.case_file import (
    CaseFile,
    Entry,
    Line,
    build_case_file,
)
from services.exports.reader import CaseRecord
from services.handover.domain import HandOver, ReceivedFile
from services.handover.names import Mark, NameMatcher, Part, scrub_documents
from services.people.names import Names
from services.shared.actor import Actor, acting_as
from services.shared.errors import InvalidInput, NotFound, PermissionDenied
from services.shared.jsonable import jsonable
from services.shared.text import clean_text

#: What the receiving school needs of each case (need-to-know for a receiving contact person):
#: what was reported, who took part (first names; the pupil by full name), the steps taken,
#: the agreements and the aftercare. Not sent: intake and situation notes, consents, notes,
#: contacts, messages with the reporter, attachments, police, complaints, evaluation, the
#: timeline (with its staff names), and any other pupil's number or surname.
SENT_SECTIONS = ("report", "participants", "steps", "agreements", "aftercare")
#: How long the receiving school keeps a received copy, in years from the day it arrived.
RECEIVED_RETENTION_YEARS = 2
FORMAT = "vangnet.handover/1"


class HandOverReason:
    """Stable words for why a hand-over was refused (``InvalidInput.reason``)."""

    REQUIRED = "required"
    NOT_A_DATE = "not_a_date"
    IN_THE_FUTURE = "in_the_future"
    SAME_SCHOOL = "same_school"
    NO_CASES = "no_cases"
    UNKNOWN_PUPIL = "unknown_pupil"
    PREVIEW_CHANGED = "preview_changed"


class ReceivedFileNotFound(NotFound):
    code = "received_file_not_found"


class HandOverNotFound(NotFound):
    code = "handover_not_found"


@dataclass(frozen=True)
class Consent:
    """The consents recorded before anything is sent (seed 001: the pupil and the parents)."""

    pupil_consent_on: str | None
    parents_consent_by: str | None
    parents_consent_on: str | None

    def cleaned(self, today: date) -> tuple[date, str, date]:
        by = clean_text(self.parents_consent_by or "", "parents_consent_by", max_len=200)
        return (
            _day(self.pupil_consent_on, "pupil_consent_on", today),
            by,
            _day(self.parents_consent_on, "parents_consent_on", today),
        )


def _day(value: str | None, field: str, today: date) -> date:
    text = (value or "").strip()
    if not text:
        msg = f"{field}: consent must be recorded before the file is handed over"
        raise InvalidInput(msg, field=field, reason=HandOverReason.REQUIRED)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        msg = f"{field} must be a date (YYYY-MM-DD)"
        raise InvalidInput(msg, field=field, reason=HandOverReason.NOT_A_DATE) from None
    if day > today:
        msg = f"{field} lies in the future"
        raise InvalidInput(msg, field=field, reason=HandOverReason.IN_THE_FUTURE)
    return day


def years_later(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February: 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class SchoolLike(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def name(self) -> str: ...

    @property
    def slug(self) -> str: ...


def created_ids(app: Application[UUID], created: type[Any]) -> list[UUID]:
    """The ids of the aggregates in ``app``'s log that ``created`` (their created event's class)
    began, oldest first: one topic-filtered read of the notifications, page by page."""
    topic = f"{created.__module__}:{created.__qualname__}"
    ids: list[UUID] = []
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=500, topics=[topic])
        ids.extend(UUID(str(n.originator_id)) for n in page)
        if len(page) < 500:
            return ids
        start = page[-1].id + 1


def require_manage(actor: Actor) -> None:
    if not has_permission(actor.role, Permission.PUPILS_MANAGE):
        msg = f"role '{actor.role}' may not hand over or receive pupils' files"
        raise PermissionDenied(msg)


def target_of(events: Iterable[Case.Event], pupil_id: UUID) -> bool:
    """Whether the pupil is a target in the case these events tell."""
    return any(
        isinstance(e, Case.ParticipantAdded)
        and e.pupil_id == pupil_id
        and e.role == ParticipantRole.TARGET
        for e in events
    )


def handover_document(record: CaseRecord, case_file: CaseFile, pupil_id: UUID) -> dict[str, Any]:
    """The part of a case file the receiving school gets (:data:`SENT_SECTIONS`), as JSON:
    participants by first name and role only, except the pupil themself (full name)."""
    participants = []
    for e in record.events:
        if isinstance(e, Case.ParticipantAdded):
            own = e.pupil_id == pupil_id
            name = e.display_name if own else first_name(e.display_name)
            role = str(e.role)
            lines = (Line("Rol in deze zaak", _role_nl(role)),)
            participants.append(Entry(str(name) or _role_nl(role), lines))
    sections = []
    for section in case_file.sections:
        if section.key not in SENT_SECTIONS:
            continue
        if section.key == "participants":
            sections.append(dataclasses.replace(section, entries=tuple(participants)))
        else:
            sections.append(section)
    header = tuple(
        line for line in case_file.header if line.label in ("School", "Status", "Gemeld op")
    )
    sent = dataclasses.replace(case_file, header=header, sections=tuple(sections), timeline=())
    data: dict[str, Any] = jsonable(dataclasses.asdict(sent))
    return data


def _role_nl(role: str) -> str:
    return {
        "target": "Gepeste leerling",
        "actor": "Pester",
        "bystander": "Omstander",
        "supporter": "Meeloper of helper",
    }.get(role, role)


class Inbox:
    """One school's received files, in its own log (its casework application)."""

    def __init__(self, app: Application[UUID], school_id: UUID) -> None:
        self.app = app
        self.school_id = school_id

    def load(self, file_id: UUID) -> ReceivedFile | None:
        try:
            found: object = self.app.repository.get(file_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, ReceivedFile) or found.school_id != self.school_id:
            return None
        return found

    def get(self, actor: Actor, file_id: UUID) -> ReceivedFile:
        require_manage(actor)
        found = self.load(file_id)
        if found is None:
            raise ReceivedFileNotFound(f"received file {file_id} not found")
        return found

    def all(self, actor: Actor) -> list[ReceivedFile]:
        """Every file received by this school, newest first."""
        require_manage(actor)
        return self.every()

    def every(self) -> list[ReceivedFile]:
        """Every file received by this school, newest first (no actor: the retention run)."""
        ids = created_ids(self.app, ReceivedFile.FileReceived)
        found = [f for f in (self.load(i) for i in ids) if f is not None]
        return sorted(found, key=lambda f: f.sent_at, reverse=True)

    def deliver(self, received: ReceivedFile) -> None:
        self.app.save(received)


@dataclass(frozen=True)
class Prepared:
    """What a hand-over sends (the documents, names of other pupils replaced) and where each
    replacement was made: the preview, and exactly what :meth:`HandOverService.send` sends."""

    case_ids: list[UUID]
    documents: list[dict[str, Any]]
    marks: list[Mark]
    parts: dict[str, tuple[Part, ...]]

    @property
    def digest(self) -> str:
        """A fingerprint of what is sent (the cases' sections), to check that the send is what
        the preview showed."""
        sections = [d.get("sections") for d in self.documents]
        text = json.dumps([[str(c) for c in self.case_ids], sections], sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class HandOverService:
    """The sending school's side: its log (``app``), with the pupil's cases read from it."""

    def __init__(self, app: Application[UUID], school: SchoolLike) -> None:
        self.app = app
        self.school = school

    def prepare(
        self,
        actor: Actor,
        *,
        pupil_id: UUID,
        records: Iterable[CaseRecord],
        names: Names,
        now: datetime,
        matcher: NameMatcher | None = None,
    ) -> Prepared:
        """The documents of the cases where the pupil is target, other pupils' names in the
        free text replaced (``matcher``, :mod:`services.handover.names`): the preview and the
        send both come from here."""
        require_manage(actor)
        chosen = [r for r in records if target_of(r.events, pupil_id)]
        if not chosen:
            msg = "pupil_id: the pupil is target in no case of this school: nothing to hand over"
            raise InvalidInput(msg, field="pupil_id", reason=HandOverReason.NO_CASES)
        documents = [
            handover_document(
                r,
                build_case_file(self.school, r, actor, now, describe=lambda *_: (), names=names),
                pupil_id,
            )
            for r in chosen
        ]
        marks: list[Mark] = []
        parts: dict[str, tuple[Part, ...]] = {}
        if matcher is not None:
            documents, marks, parts = scrub_documents(documents, matcher)
        return Prepared([r.case.id for r in chosen], documents, marks, parts)

    def send(
        self,
        actor: Actor,
        *,
        pupil_id: UUID,
        pupil_name: str,
        receiving: SchoolLike,
        inbox: Inbox,
        consent: Consent,
        records: Iterable[CaseRecord],
        names: Names,
        now: datetime,
        today: date,
        matcher: NameMatcher | None = None,
        expected_digest: str = "",
    ) -> HandOver:
        """Check consent, build the documents of the cases where the pupil is target (other
        pupils' names replaced by ``matcher``: :meth:`prepare`, as the preview), deliver them
        into ``inbox`` (the receiving school's), record the hand-over here. With
        ``expected_digest`` (the preview's): 422 ``preview_changed`` when what would be sent is
        not what the preview showed."""
        require_manage(actor)
        pupil_on, parents_by, parents_on = consent.cleaned(today)
        if receiving.id == self.school.id:
            msg = "to_school: the file cannot be handed over to the own school"
            raise InvalidInput(msg, field="to_school", reason=HandOverReason.SAME_SCHOOL)
        prepared = self.prepare(
            actor, pupil_id=pupil_id, records=records, names=names, now=now, matcher=matcher
        )
        if expected_digest and expected_digest != prepared.digest:
            msg = "preview_digest: the file changed since the preview; look at it again"
            raise InvalidInput(msg, field="preview_digest", reason=HandOverReason.PREVIEW_CHANGED)
        documents = prepared.documents
        file_id = uuid4()
        with acting_as(actor):
            handover = HandOver(
                school_id=self.school.id,
                pupil_id=pupil_id,
                to_school_id=receiving.id,
                to_school_slug=receiving.slug,
                case_ids=prepared.case_ids,
                pupil_consent_on=pupil_on,
                parents_consent_by=parents_by,
                parents_consent_on=parents_on,
                received_file_id=file_id,
                sent_by=actor.user_id,
            )
            received = ReceivedFile._create(
                ReceivedFile.FileReceived,
                id=file_id,
                school_id=receiving.id,
                from_school_id=self.school.id,
                from_school_name=self.school.name,
                handover_id=handover.id,
                pupil_name=pupil_name,
                sent_by=names(actor.user_id),
                sent_at=now,
                keep_until=years_later(today, RECEIVED_RETENTION_YEARS),
                documents=[{"format": FORMAT, **d} for d in documents],
            )
        # Delivered first: a hand-over recorded as sent has always arrived.
        inbox.deliver(received)
        self.app.save(handover)
        return handover

    def all(self, actor: Actor) -> list[HandOver]:
        """Every hand-over this school sent, newest first."""
        require_manage(actor)
        ids = created_ids(self.app, HandOver.HandOverSent)
        found = [h for h in (self.load(i) for i in ids) if h is not None]
        return sorted(found, key=lambda h: h.created_on, reverse=True)

    def load(self, handover_id: UUID) -> HandOver | None:
        try:
            found: object = self.app.repository.get(handover_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, HandOver) or found.school_id != self.school.id:
            return None
        return found


def confirm_receipt(
    actor: Actor,
    inbox: Inbox,
    file_id: UUID,
    sender: HandOverService,
    confirmed_by: str,
    now: datetime,
) -> ReceivedFile:
    """The receiving contact person confirms: recorded in the receiving school's log, then (by
    the platform service) on the sending school's hand-over. Confirming again changes nothing."""
    received = inbox.get(actor, file_id)
    if received.confirmed_at is not None:
        return received
    with acting_as(actor):
        received.confirm_receipt(confirmed_by=confirmed_by, confirmed_at=now)
    inbox.app.save(received)
    handover = sender.load(received.handover_id)
    if handover is not None and handover.confirmed_at is None:
        with acting_as(actor):
            handover.confirm(
                confirmed_by=f"{confirmed_by} ({received.school_id})", confirmed_at=now
            )
        sender.app.save(handover)
    return received
