"""Erasing a received copy (issue 15 §5): when its ``keep_until`` has passed (the retention
run, :func:`expire_received`) or earlier by the receiving contact person (:func:`erase_received`,
with a reason from :class:`~services.handover.domain.ErasureReason`).

The copy's pupil name and documents are sealed with passage keys of the file's own
(:mod:`services.casework.sealing`, ``whole_fields``). Erasing records ``ReceivedFileErased`` in
the receiving school's log, then destroys those keys: the stored events (and so the chain) stay
as they were, the name reads as ``[gewist]`` and the documents as nothing. What stays is that a
file was received, from which school, sent by whom and when, confirmed and erased (why, when).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from services.casework.sealing import ContentKeys
from services.handover.domain import ErasureReason, ReceivedFile
from services.handover.service import Inbox, ReceivedFileNotFound, require_manage
from services.privacy.retention import RETENTION
from services.shared.actor import Actor, acting_as
from services.shared.errors import InvalidInput


def _keys(inbox: Inbox) -> ContentKeys | None:
    keys: ContentKeys | None = getattr(inbox.app, "content_keys", None)
    return keys


def _erase(inbox: Inbox, received: ReceivedFile, actor: Actor, reason: str, now: datetime) -> None:
    if not received.erased:
        with acting_as(actor):
            received.erase(reason=reason, erased_at=now)
        inbox.app.save(received)
    # Recorded first, then the keys: an interrupted erasure is finished by the next run.
    keys = _keys(inbox)
    if keys is not None:
        keys.destroy_case(received.id)


def erase_received(
    actor: Actor, inbox: Inbox, file_id: UUID, reason: str, now: datetime
) -> ReceivedFile:
    """The receiving contact person erases a copy before its time (422 for a reason not in
    :attr:`ErasureReason.BY_PERSON`); erasing again changes nothing. The erased file, as it
    reads now."""
    require_manage(actor)
    word = (reason or "").strip()
    if word not in ErasureReason.BY_PERSON:
        msg = "reason: choose one of " + ", ".join(ErasureReason.BY_PERSON)
        raise InvalidInput(msg, field="reason", reason="not_a_choice")
    received = inbox.get(actor, file_id)
    if received.erased:
        return received
    _erase(inbox, received, actor, word, now)
    return _reloaded(inbox, file_id)


def _reloaded(inbox: Inbox, file_id: UUID) -> ReceivedFile:
    found = inbox.load(file_id)
    if found is None:  # pragma: no cover - it was just saved
        raise ReceivedFileNotFound(f"received file {file_id} not found")
    return found


def expire_received(inbox: Inbox, today: date, now: datetime) -> list[UUID]:
    """Erase every copy of ``inbox`` whose ``keep_until`` lies before ``today``; the ids erased.
    An erased copy's keys are destroyed again (an interrupted erasure)."""
    erased: list[UUID] = []
    for received in inbox.every():
        if received.keep_until >= today:
            continue
        if received.erased:
            _erase(inbox, received, RETENTION, ErasureReason.RETENTION, now)
            continue
        _erase(inbox, received, RETENTION, ErasureReason.RETENTION, now)
        erased.append(received.id)
    return erased
