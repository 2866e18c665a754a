"""Hand-over outside the platform (issue 15 §5): an encrypted export with a receipt link, for
when the next school is not on Vangnet.

The same rules as on the platform: the consents first, the same documents
(:meth:`HandOverService.documents`, :data:`~services.handover.service.SENT_SECTIONS`). The file is
a PDF encrypted with AES-256 under a one-time password (made here, shown once to the sender,
never stored): the sender gives it to the receiving school by phone, the link goes by e-mail.

The stored PDF is encrypted once more (AES-GCM) under a key of its own in the school's key store;
after the receipt is confirmed or the link expired (:data:`EXPORT_DAYS`), the key is destroyed
and the bytes deleted: nothing of the pupil is left behind but the record in the school's log.

The link's token is ``<school ref>.<export ref>.<secret>`` (ids and 16 random bytes, base64url);
the export keeps only ``HMAC-SHA256(server key, label || school || export || secret)``, like
the public report's follow-up code (:mod:`services.reporting.codes`).

Event names (a permanent contract): ``HandOverExported``, ``ExportDownloaded``,
``ExportReceiptConfirmed``, ``ExportExpired``, on :class:`HandOverExport` in the sending
school's log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from services.attachments.files import AttachmentStore, StoredFile, decrypt, encrypt
from services.exports.reader import CaseRecord
from services.handover.names import NameMatcher
from services.handover.service import Consent, HandOverService, created_ids, require_manage
from services.people.names import Names
from services.shared.actor import RECEIPT_LINK, Actor, acting_as, actor_id_now, actor_role_now
from services.shared.errors import ConcurrencyConflict
from services.shared.text import clean_text

if TYPE_CHECKING:
    from services.casework.sealing import PupilKeys

#: How long the receipt link works, in days.
EXPORT_DAYS = 14
_LABEL = b"vangnet-handover-export\x00"
_KEY_LABEL = b"vangnet-handover-export-key\x00"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")
#: The password's alphabet: no 0/O, 1/l/I (it is read out over the phone).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUPS, _GROUP = 5, 4  # 20 characters: about 99 bits
#: How often a step on an export is tried when another request saved the export meanwhile.
_ATTEMPTS = 3
_T = TypeVar("_T")


class HandOverExport(Aggregate):
    """A pupil's file exported for a school outside the platform (the sending side's record)."""

    class Event(Aggregate.Event):
        actor_id: str = field(default_factory=actor_id_now, init=False)
        actor_role: str = field(default_factory=actor_role_now, init=False)

    class HandOverExported(Event, Aggregate.Created):
        school_id: UUID
        pupil_id: UUID
        to_school_name: str
        case_ids: list[UUID]
        pupil_consent_on: date
        parents_consent_by: str
        parents_consent_on: date
        sent_by: str
        token_hash: str
        #: Sealed per export like a case's free text (services.casework.sealing).
        content_fields: ClassVar[tuple[str, ...]] = ("parents_consent_by", "to_school_name")
        key_id: UUID
        expires_at: datetime

    class ExportDownloaded(Event):
        downloaded_at: datetime

    class ExportReceiptConfirmed(Event):
        """The receiving school confirmed, by the link (name and school as typed; the
        encrypted file was destroyed)."""

        confirmed_by: str
        confirmed_school: str
        confirmed_at: datetime
        #: A person's name and where they work: sealed (services.casework.sealing).
        content_fields: ClassVar[tuple[str, ...]] = ("confirmed_by", "confirmed_school")

    class ExportExpired(Event):
        """The link expired unconfirmed; the encrypted file was destroyed."""

        expired_at: datetime

    @event(HandOverExported)
    def __init__(
        self,
        *,
        school_id: UUID,
        pupil_id: UUID,
        to_school_name: str,
        case_ids: list[UUID],
        pupil_consent_on: date,
        parents_consent_by: str,
        parents_consent_on: date,
        sent_by: str,
        token_hash: str,
        key_id: UUID,
        expires_at: datetime,
    ) -> None:
        self.school_id = school_id
        self.pupil_id = pupil_id
        self.to_school_name = to_school_name
        self.case_ids = list(case_ids)
        self.pupil_consent_on = pupil_consent_on
        self.parents_consent_by = parents_consent_by
        self.parents_consent_on = parents_consent_on
        self.sent_by = sent_by
        self.token_hash = token_hash
        self.key_id = key_id
        self.expires_at = expires_at
        self.downloads: list[datetime] = []
        self.confirmed_by: str | None = None
        self.confirmed_school: str | None = None
        self.confirmed_at: datetime | None = None
        self.expired_at: datetime | None = None

    @event(ExportDownloaded)
    def downloaded(self, downloaded_at: datetime) -> None:
        self.downloads.append(downloaded_at)

    @event(ExportReceiptConfirmed)
    def confirm(self, confirmed_by: str, confirmed_school: str, confirmed_at: datetime) -> None:
        self.confirmed_by = confirmed_by
        self.confirmed_school = confirmed_school
        self.confirmed_at = confirmed_at

    @event(ExportExpired)
    def expire(self, expired_at: datetime) -> None:
        self.expired_at = expired_at

    @property
    def closed(self) -> bool:
        """Confirmed or expired: the link no longer works and the file is gone."""
        return self.confirmed_at is not None or self.expired_at is not None


EVENT_TYPES: tuple[type[Aggregate.Event], ...] = (
    HandOverExport.HandOverExported,
    HandOverExport.ExportDownloaded,
    HandOverExport.ExportReceiptConfirmed,
    HandOverExport.ExportExpired,
)


def token_key(secret_key: bytes) -> bytes:
    """The key that hashes receipt tokens, derived from the deployment's secret key."""
    return hmac.new(secret_key, _KEY_LABEL, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _uuid(ref: str) -> UUID | None:
    try:
        raw = base64.urlsafe_b64decode(ref + "==")
    except (binascii.Error, ValueError):
        return None
    return UUID(bytes=raw) if len(raw) == 16 else None


@dataclass(frozen=True)
class Token:
    school_id: UUID
    export_id: UUID
    secret: str

    def __str__(self) -> str:
        return f"{_b64(self.school_id.bytes)}.{_b64(self.export_id.bytes)}.{self.secret}"

    def hash(self, key: bytes) -> str:
        message = _LABEL + self.school_id.bytes + self.export_id.bytes + self.secret.encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    @classmethod
    def new(cls, school_id: UUID, export_id: UUID) -> Token:
        return cls(school_id, export_id, _b64(secrets.token_bytes(16)))

    @classmethod
    def parse(cls, text: str) -> Token | None:
        """The token of a receipt link, or ``None`` when it is not shaped like one."""
        text = text.strip()
        if not _SHAPE.fullmatch(text):
            return None
        school_ref, export_ref, secret = text.split(".")
        school_id, export_id = _uuid(school_ref), _uuid(export_ref)
        if school_id is None or export_id is None:  # pragma: no cover - the shape fixes it
            return None
        return cls(school_id, export_id, secret)


def new_password() -> str:
    """A one-time password, in groups of four, easy to read out over the phone."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP))
    return "-".join(chars[i : i + _GROUP] for i in range(0, len(chars), _GROUP))


@dataclass(frozen=True)
class MadeExport:
    """What the sender sees once: the link's token and the PDF's password (neither stored)."""

    export: HandOverExport
    token: str
    password: str


#: Renders the documents as a PDF encrypted under the password: (documents, password) -> bytes.
Render = Callable[[list[dict[str, Any]], str], bytes]


class ExportService:
    """The sending school's exports: its log (``app``), key store and file store."""

    def __init__(
        self,
        app: Application[UUID],
        sender: HandOverService,
        keys: PupilKeys,
        store: AttachmentStore,
        key: bytes,
    ) -> None:
        self.app = app
        self.sender = sender
        self.school_id = sender.school.id
        self.keys = keys
        self.store = store
        self.key = key

    def export(
        self,
        actor: Actor,
        *,
        pupil_id: UUID,
        to_school_name: str,
        consent: Consent,
        records: Iterable[CaseRecord],
        names: Names,
        render: Render,
        now: datetime,
        today: date,
        matcher: NameMatcher | None = None,
    ) -> MadeExport:
        """Check the consents and the school's name, build the documents (as on the platform),
        render and encrypt the PDF, store it, record the export."""
        require_manage(actor)
        pupil_on, parents_by, parents_on = consent.cleaned(today)
        school_name = clean_text(to_school_name, "to_school_name", max_len=200)
        prepared = self.sender.prepare(
            actor, pupil_id=pupil_id, records=records, names=names, now=now, matcher=matcher
        )
        documents = prepared.documents
        password = new_password()
        pdf = render(documents, password)
        export_id = uuid4()
        token = Token.new(self.school_id, export_id)
        key_id, key = self.keys.new_key(export_id, export_id)
        ciphertext = encrypt(key, self.school_id, export_id, export_id, pdf)
        with acting_as(actor):
            made = HandOverExport._create(
                HandOverExport.HandOverExported,
                id=export_id,
                school_id=self.school_id,
                pupil_id=pupil_id,
                to_school_name=school_name,
                case_ids=prepared.case_ids,
                pupil_consent_on=pupil_on,
                parents_consent_by=parents_by,
                parents_consent_on=parents_on,
                sent_by=actor.user_id,
                token_hash=token.hash(self.key),
                key_id=key_id,
                expires_at=now + timedelta(days=EXPORT_DAYS),
            )
        self.store.put(StoredFile(export_id, export_id, key_id, ciphertext))
        self.app.save(made)
        return MadeExport(made, str(token), password)

    @staticmethod
    def _retrying(step: Callable[[], _T]) -> _T:
        """``step`` (which loads the export afresh), again when another request saved the
        export between its load and its save (two downloads at once, a download while the
        receipt is confirmed, an expiry found by two requests): the event store refuses the
        second save of the same version."""
        for _ in range(_ATTEMPTS - 1):
            try:
                return step()
            except IntegrityError:
                continue
        try:
            return step()
        except IntegrityError:
            msg = "the export was changed by another request at the same time: try again"
            raise ConcurrencyConflict(msg) from None

    def load(self, export_id: UUID) -> HandOverExport | None:
        try:
            found: object = self.app.repository.get(export_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, HandOverExport) or found.school_id != self.school_id:
            return None
        return found

    def _ids(self) -> list[UUID]:
        return created_ids(self.app, HandOverExport.HandOverExported)

    def all(self, actor: Actor, now: datetime) -> list[HandOverExport]:
        """Every export of this school, newest first (expired ones destroyed on the way)."""
        require_manage(actor)
        return self._retrying(lambda: self._all(now))

    def _all(self, now: datetime) -> list[HandOverExport]:
        found = [e for e in (self.load(i) for i in self._ids()) if e is not None]
        for export in found:
            self._expire_if_due(export, now)
        return sorted(found, key=lambda e: e.created_on, reverse=True)

    def expire_due(self, now: datetime) -> int:
        """Destroy every export whose link expired unconfirmed; how many."""

        def expire(export_id: UUID) -> Callable[[], bool]:
            def step() -> bool:
                export = self.load(export_id)
                return export is not None and self._expire_if_due(export, now)

            return step

        return sum(1 for i in self._ids() if self._retrying(expire(i)))

    def _destroy(self, export: HandOverExport) -> None:
        self.keys.destroy_case(export.id)
        self.store.delete(export.id)

    def _expire_if_due(self, export: HandOverExport, now: datetime) -> bool:
        if export.closed or now < export.expires_at:
            return False
        with acting_as(RECEIPT_LINK):
            export.expire(expired_at=now)
        self._destroy(export)
        self.app.save(export)
        return True

    def by_token(self, text: str, now: datetime) -> HandOverExport | None:
        """The open export the token names; ``None`` for a wrong, confirmed or expired one
        (an expired one is destroyed here if that has not happened yet)."""
        return self._retrying(lambda: self._by_token(text, now))

    def _by_token(self, text: str, now: datetime) -> HandOverExport | None:
        token = Token.parse(text)
        if token is None or token.school_id != self.school_id:
            return None
        export = self.load(token.export_id)
        if export is None:
            return None
        if not hmac.compare_digest(token.hash(self.key).encode(), export.token_hash.encode()):
            return None
        if self._expire_if_due(export, now) or export.closed:
            return None
        return export

    def download(self, text: str, now: datetime) -> bytes | None:
        """The encrypted PDF of an open export (the download recorded); ``None`` otherwise."""
        return self._retrying(lambda: self._download(text, now))

    def _download(self, text: str, now: datetime) -> bytes | None:
        export = self._by_token(text, now)
        if export is None:
            return None
        stored = self.store.get(export.id)
        key = self.keys.key(export.key_id)
        pdf = None if stored is None or key is None else decrypt(key, self.school_id, stored)
        if pdf is None:
            return None
        with acting_as(RECEIPT_LINK):
            export.downloaded(downloaded_at=now)
        self.app.save(export)
        return pdf

    def confirm(
        self, text: str, confirmed_by: str, confirmed_school: str, now: datetime
    ) -> HandOverExport | None:
        """The receiving school confirms (name and school required); the file is destroyed.
        ``None`` for a wrong, confirmed or expired token."""
        return self._retrying(lambda: self._confirm(text, confirmed_by, confirmed_school, now))

    def _confirm(
        self, text: str, confirmed_by: str, confirmed_school: str, now: datetime
    ) -> HandOverExport | None:
        export = self._by_token(text, now)
        if export is None:
            return None
        by = clean_text(confirmed_by, "confirmed_by", max_len=200)
        school = clean_text(confirmed_school, "confirmed_school", max_len=200)
        with acting_as(RECEIPT_LINK):
            export.confirm(confirmed_by=by, confirmed_school=school, confirmed_at=now)
        self._destroy(export)
        self.app.save(export)
        return export
