"""Adding an evidence file to a case and opening it again (issue 14 §1).

Adding: the actor must be allowed to add to the case (the command's permission, checked before
anything else is done), then :func:`~services.attachments.scanning.must_be_clean` on the bytes
as they came, then :func:`~services.attachments.checks.check_file` (size, type from content,
images re-encoded), then the file is encrypted under a new key and stored, and only then the
``AttachmentAdded`` event is saved. If the event is refused, the stored file is removed again.

Opening: who sees the case's attachments part (need-to-know, ``Part.ATTACHMENTS``) on this
case; the file must be one of the case's; its key must still exist (an erased case's files read
as gone). Recording the read in the access log is the caller's (the web edge records
every read there, as for the case page).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID, uuid4

from services.access.need_to_know import Part, sight
from services.access.roles import Permission
from services.attachments.checks import DEFAULT_MAX_BYTES, check_file
from services.attachments.files import AttachmentStore, StoredFile, decrypt, encrypt
from services.attachments.scanning import VirusScanner, must_be_clean
from services.casework import rules
from services.casework.commands import AddAttachment
from services.casework.facts import case_facts
from services.casework.handlers import CaseService, authorize
from services.casework.sealing import PupilKeys
from services.shared.actor import Actor
from services.shared.errors import NotFound, Unavailable


class AttachmentGone(NotFound):
    """The attachment does not exist on this case, or its key was destroyed (erasure)."""

    code = "attachment_not_found"


@dataclass(frozen=True)
class AddedAttachment:
    attachment_id: UUID
    version: int
    media_type: str


@dataclass(frozen=True)
class OpenedAttachment:
    file_name: str
    media_type: str
    content: bytes


class AttachmentService:
    """Attachments of one school's cases, for one request at a time."""

    def __init__(
        self,
        cases: CaseService,
        keys: PupilKeys | None,
        store: AttachmentStore,
        scanner: VirusScanner,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.cases = cases
        self.keys = keys
        self.store = store
        self.scanner = scanner
        self.max_bytes = max_bytes

    def _keys(self) -> PupilKeys:
        if self.keys is None:
            msg = "this school's storage has no key store: attachments cannot be stored"
            raise Unavailable(msg)
        return self.keys

    def add(
        self, actor: Actor, case_id: UUID, *, file_name: str, content: bytes, caption: str = ""
    ) -> AddedAttachment:
        """Check, scan, encrypt and store the file, then record it on the case."""
        case = self.cases.app.get_case(case_id, self.cases.school_id)
        authorize(actor, AddAttachment.permission, case)
        rules.case_must_be_open(case)
        keys = self._keys()
        if len(content) <= self.max_bytes:
            must_be_clean(self.scanner, content)
        checked = check_file(content, file_name, max_bytes=self.max_bytes)
        attachment_id = uuid4()
        key_id, key = keys.new_key(case_id, attachment_id)
        school_id = self.cases.school_id
        ciphertext = encrypt(key, school_id, case_id, attachment_id, checked.content)
        self.store.put(StoredFile(attachment_id, case_id, key_id, ciphertext))
        command = AddAttachment(
            case_id=case_id,
            attachment_id=attachment_id,
            file_name=checked.file_name,
            media_type=checked.media_type,
            size=len(checked.content),
            sha256=hashlib.sha256(checked.content).hexdigest(),
            caption=caption,
        )
        try:
            version = self.cases.handle(actor, command)
        except BaseException:
            self.store.delete(attachment_id)
            raise
        return AddedAttachment(attachment_id, version, checked.media_type)

    def open(self, actor: Actor, case_id: UUID, attachment_id: UUID) -> OpenedAttachment:
        """The file, for someone who may read the case's attachments."""
        case = self.cases.app.get_case(case_id, self.cases.school_id)
        authorize(actor, Permission.CASE_READ, case)
        if not sight(actor, case_facts(case)).sees(Part.ATTACHMENTS):
            msg = f"case {case_id} has no attachment {attachment_id} for this reader"
            raise AttachmentGone(msg)
        info = case.attachments.get(attachment_id)
        stored = self.store.get(attachment_id)
        if info is None or stored is None or stored.case_id != case_id:
            msg = f"case {case_id} has no attachment {attachment_id}"
            raise AttachmentGone(msg)
        key = self._keys().key(stored.key_id)
        content = None if key is None else decrypt(key, self.cases.school_id, stored)
        if content is None:
            msg = f"attachment {attachment_id} was erased"
            raise AttachmentGone(msg)
        return OpenedAttachment(info.file_name, info.media_type, content)

    def files_of_case(self, case_id: UUID) -> list[tuple[UUID, bytes]]:
        """Every attachment of the case that can still be opened, decrypted (for the school
        export, which the operator makes for the whole school: no actor)."""
        keys = self._keys()
        found = []
        for stored in self.store.of_case(case_id):
            key = keys.key(stored.key_id)
            content = None if key is None else decrypt(key, self.cases.school_id, stored)
            if content is not None:
                found.append((stored.attachment_id, content))
        return found
