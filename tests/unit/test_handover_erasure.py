"""Erasing a received copy (issue 15 §5), in memory: the pupil's name and the documents are
sealed with keys of the file's own; at retention expiry (or earlier, by the receiving contact
person with a reason) the keys go, the copy reads ``[gewist]`` and the record that a file was
received stays. Every name is fictitious."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.sealing import ERASED, InMemoryContentKeys, InMemoryPupilKeys
from services.handover.domain import ErasureReason, ReceivedFile
from services.handover.erasure import erase_received, expire_received
from services.handover.service import Inbox
from services.shared.actor import acting_as
from services.shared.errors import InvalidInput, PermissionDenied
from tests.unit.support import CONTACT, IN_MEMORY, actor

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
NAME = "Fictieve Quirina Wisbaar"
TEXT = "Fictieve MELDING over Quirina"


def _inbox() -> tuple[Inbox, InMemoryContentKeys]:
    keys = InMemoryContentKeys()
    app = CaseworkApplication(env=IN_MEMORY, pupil_keys=InMemoryPupilKeys(), content_keys=keys)
    return Inbox(app, uuid4()), keys


def _deliver(inbox: Inbox, keep_until: date) -> UUID:
    with acting_as(CONTACT):
        received = ReceivedFile(
            school_id=inbox.school_id,
            from_school_id=uuid4(),
            from_school_name="Fictieve Vorige School",
            handover_id=uuid4(),
            pupil_name=NAME,
            sent_by="Fictieve Afzender",
            sent_at=NOW,
            keep_until=keep_until,
            documents=[{"format": "vangnet.handover/1", "summary": TEXT, "n": [1, 2]}],
        )
    inbox.deliver(received)
    return received.id


def _fresh(inbox: Inbox, file_id: UUID) -> ReceivedFile:
    # A new application on the same store and keys: nothing cached in memory.
    found = inbox.load(file_id)
    assert found is not None
    return found


def test_the_name_and_documents_are_sealed_and_open_while_kept() -> None:
    inbox, keys = _inbox()
    file_id = _deliver(inbox, date(2028, 11, 30))
    stored = [inbox.app.mapper.transcoder.decode(s.state) for s in
              inbox.app.recorder.select_events(file_id)]  # fmt: skip
    assert NAME not in str(stored)
    assert TEXT not in str(stored)
    assert len(keys.store) == 2  # one passage key for the name, one for the documents
    found = _fresh(inbox, file_id)
    assert found.pupil_name == NAME
    assert found.documents == [{"format": "vangnet.handover/1", "summary": TEXT, "n": [1, 2]}]


def test_the_retention_run_erases_copies_past_keep_until_only() -> None:
    inbox, keys = _inbox()
    old = _deliver(inbox, date(2026, 11, 29))
    today = _deliver(inbox, date(2026, 11, 30))
    assert expire_received(inbox, date(2026, 11, 30), NOW) == [old]
    erased = _fresh(inbox, old)
    assert (erased.pupil_name, erased.documents) == (ERASED, [])
    assert (erased.erase_reason, erased.erased_at) == (ErasureReason.RETENTION, NOW)
    assert erased.from_school_name == "Fictieve Vorige School"
    assert [type(e).__name__ for e in inbox.app.events.get(old)] == [
        "FileReceived",
        "ReceivedFileErased",
    ]
    kept = _fresh(inbox, today)
    assert kept.pupil_name == NAME
    assert not kept.erased
    # Again: nothing new (an erased copy's keys are destroyed again, quietly).
    assert expire_received(inbox, date(2026, 11, 30), NOW) == []
    assert len(list(inbox.app.events.get(old))) == 2
    assert len(keys.store) == 2  # the kept copy's


def test_the_contact_person_erases_a_copy_earlier_with_a_reason() -> None:
    inbox, _ = _inbox()
    file_id = _deliver(inbox, date(2028, 11, 30))
    for reason in ("", "omdat het kan", "retention"):
        with pytest.raises(InvalidInput) as refused:
            erase_received(CONTACT, inbox, file_id, reason, NOW)
        assert refused.value.field == "reason"
    with pytest.raises(PermissionDenied):
        erase_received(actor(Role.COORDINATOR), inbox, file_id, "not_enrolled", NOW)
    assert _fresh(inbox, file_id).pupil_name == NAME
    done = erase_received(CONTACT, inbox, file_id, "not_enrolled", NOW)
    assert (done.pupil_name, done.documents, done.erase_reason) == (ERASED, [], "not_enrolled")
    again = erase_received(CONTACT, inbox, file_id, "not_needed", NOW)
    assert again.erase_reason == "not_enrolled"
    assert [f.pupil_name for f in inbox.all(CONTACT)] == [ERASED]
