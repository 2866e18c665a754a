"""Event states encrypted bound to their event (infra.adapters.postgres.cipher through
services.shared.mapper): a ciphertext moved to another case, version, type or log, changed, or
in the old unbound format, does not decrypt and is an IntegrityViolation."""

from __future__ import annotations

import base64
import dataclasses
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from infra.adapters.postgres.cipher import (
    MAGIC,
    EventCipher,
    EventIntegrityError,
    associated_data,
    open_legacy,
    open_state,
    school_context,
    seal_legacy,
    seal_state,
)
from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from services.casework.sealing import InMemoryPupilKeys
from services.shared.actor import acting_as
from services.shared.errors import IntegrityViolation
from tests.unit.support import CONTACT, IN_MEMORY

KEY = bytes(range(32))


def bound_app(context: str, *, pupil_keys: InMemoryPupilKeys | None = None) -> CaseworkApplication:
    env = {
        **IN_MEMORY,
        "CIPHER_TOPIC": "infra.adapters.postgres.cipher:EventCipher",
        "CIPHER_KEY": base64.b64encode(KEY).decode(),
        "CIPHER_CONTEXT": context,
        "MAPPER_TOPIC": "services.shared.mapper:BoundMapper",
    }
    return CaseworkApplication(env=env, pupil_keys=pupil_keys)


def stored_case(app: CaseworkApplication) -> list[StoredEvent]:
    with acting_as(CONTACT):
        case = Case.report(school_id=uuid4(), reporter_kind="staff", summary="Fictieve melding")
        case.add_note(text="Fictieve notitie A")
        case.add_note(text="Fictieve notitie B")
    return [app.mapper.to_stored_event(e) for e in case.collect_events()]


@pytest.mark.parametrize("pupil_keys", [None, InMemoryPupilKeys()], ids=["plain", "sealing"])
def test_a_state_reads_back_only_as_its_own_event(pupil_keys: InMemoryPupilKeys | None) -> None:
    app = bound_app(school_context(uuid4()), pupil_keys=pupil_keys)
    report, note_a, note_b = stored_case(app)
    assert note_a.state.startswith(MAGIC)
    assert b"Fictieve notitie A" not in note_a.state
    assert app.mapper.to_domain_event(note_a).text == "Fictieve notitie A"  # type: ignore[attr-defined]
    moved = [
        dataclasses.replace(note_a, state=note_b.state),  # another version of the case
        dataclasses.replace(note_a, originator_id=uuid4()),  # another case
        dataclasses.replace(note_a, originator_version=9),  # another version
        dataclasses.replace(note_a, topic=report.topic),  # another type
        dataclasses.replace(note_a, state=note_a.state[:-1] + bytes([note_a.state[-1] ^ 1])),
    ]
    for stored in moved:
        with pytest.raises(IntegrityViolation, match="fails its integrity check") as raised:
            app.mapper.to_domain_event(stored)
        assert raised.value.originator_id == stored.originator_id
        assert "Fictieve" not in str(raised.value)


def test_another_schools_log_does_not_open_it() -> None:
    note = stored_case(bound_app(school_context(uuid4())))[1]
    with pytest.raises(IntegrityViolation):
        bound_app(school_context(uuid4())).mapper.to_domain_event(note)


def test_the_old_unbound_format_is_refused() -> None:
    app = bound_app("platform")
    note = stored_case(app)[1]
    aad = associated_data("platform", note.originator_id, note.originator_version, note.topic)
    plain = open_state(KEY, aad, note.state)
    old = seal_legacy(KEY, plain)
    assert open_legacy(KEY, old) == plain  # (what the one-time re-seal reads)
    with pytest.raises(IntegrityViolation):
        app.mapper.to_domain_event(dataclasses.replace(note, state=old))


def test_the_cipher_refuses_to_work_without_the_events_identity() -> None:
    cipher = EventCipher(
        {"CIPHER_KEY": base64.b64encode(KEY).decode(), "CIPHER_CONTEXT": "platform"}  # type: ignore[arg-type]
    )
    with pytest.raises(TypeError):
        cipher.encrypt(b"x")
    with pytest.raises(TypeError):
        cipher.decrypt(b"x")
    with pytest.raises(OSError, match="CIPHER_CONTEXT"):
        EventCipher({"CIPHER_KEY": base64.b64encode(KEY).decode()})  # type: ignore[arg-type]


def test_seal_and_open() -> None:
    aad = associated_data("school:x", uuid4(), 1, "t")
    sealed = seal_state(KEY, aad, b"data")
    assert sealed != seal_state(KEY, aad, b"data")  # random nonce
    assert open_state(KEY, aad, sealed) == b"data"
    with pytest.raises(EventIntegrityError):
        open_state(KEY, aad + b"x", sealed)
    with pytest.raises(EventIntegrityError):
        open_state(bytes(32), aad, sealed)
