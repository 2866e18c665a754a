"""Pupil-identifying fields and free text sealed with keys that erasure can destroy (DESIGN.md
§5, issues #5 and #12).

The domain stays plain: a ``ParticipantAdded`` event carries ``pupil_ref``, ``display_name`` and
``group`` as strings. Only on the way to storage does :class:`SealingMapper` replace each of those
fields with ``{"sealed": <key id>, "ct": <base64 AES-GCM>}``, encrypted with a key of its own for
that participant. The event as a whole is then encrypted with the school's data key as before.

Destroying a participant's key (retention expiry, erasure request) erases the pupil: the stored
bytes, and so the hash chain over them, never change, and the case still replays; the sealed
fields then read as :data:`ERASED`.

Free text (every field of :data:`CONTENT_FIELDS`: summaries, notes, agreements, outcomes, the
evaluation, complaint texts, ...) is sealed the same way, one key per *passage* (one field of one
event; one item of a list such as the lessons), as ``{"sealed": <key id>, "ct": ..., "kind":
"passage"}``. The passage keys are grouped by case (:class:`ContentKeys`): a redaction destroys the
keys of the passages that mention a pupil, the expiry of a whole case destroys all of the case's.

Pupils of the school's register (:mod:`services.pupils`) have one key each, kept for as long as
the pupil is: their ``Pupil`` events are sealed with it, and a participant linked to a register
pupil (``ParticipantAdded.pupil_id``) is sealed twice: the pupil's number, name and group first
with the pupil's key, then, like ``pupil_id`` itself, with the participant's key. So destroying the
pupil's key erases them in every case at once (and in the register), and destroying the case's
participant keys (a case's erasure) erases them, and the link to the pupil, in that case only. The
read side keeps these sealed too, except the link itself (a pupil id names nobody: the views need
it to put a pupil's cases together).

Events stored before sealing existed hold plain strings in those fields; ``vangnet privacy
seal-old`` seals them in place (:mod:`infra.adapters.privacy.reseal`).

The read side keeps sealed values sealed (:meth:`SealingMapper.keeping_sealed`): the views store
ciphertext only, and :func:`unseal_tree` opens what a page or an answer shows, as it is rendered.

Where the keys live is a port (:class:`PupilKeys`, :class:`ContentKeys`): PostgreSQL in production
(:mod:`infra.adapters.privacy.keys`), :class:`InMemoryPupilKeys` and :class:`InMemoryContentKeys`
in unit
tests.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeGuard
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, StoredEvent, Transcoder

from services.casework.domain import Case
from services.pupils.domain import IDENTIFYING, Pupil
from services.shared.mapper import BoundMapper

#: What an erased pupil field reads as (shown as such in the UI, the case file and exports).
ERASED = "[gewist]"

#: Event type -> its pupil-identifying fields.
SEALED_FIELDS: Mapping[type[Any], tuple[str, ...]] = {
    Case.ParticipantAdded: ("pupil_ref", "display_name", "group"),
}

#: Register event type -> its identifying fields, sealed with the pupil's own key.
PUPIL_SEALED_FIELDS: Mapping[type[Any], tuple[str, ...]] = {Pupil.PupilRegistered: IDENTIFYING}

#: The participant's link to the register (sealed with the participant's key).
LINK_FIELD = "pupil_id"
#: Marks a sealed value whose plaintext is itself a value sealed with the pupil's key.
_INNER = "in"

#: Event type -> its free-text fields (sealed per passage with content keys). Every ``str`` or
#: ``list[str]`` field a person types; a test checks that no such field of the catalogue is left
#: out (:mod:`tests.unit.test_content_sealing`).
CONTENT_FIELDS: Mapping[type[Any], tuple[str, ...]] = {
    Case.CaseReported: ("summary",),
    Case.IntakeHeld: ("summary",),
    Case.SituationMapped: ("description",),
    Case.SolutionsDiscussed: ("desired", "possible", "chosen_approach"),
    Case.ConsentWithdrawn: ("reason",),
    Case.StepPlanned: ("description",),
    Case.PersonEngaged: ("purpose",),
    Case.StepCompleted: ("outcome",),
    Case.StepCancelled: ("reason",),
    Case.CriminalOffenceFlagged: ("description",),
    Case.PoliceReportAdvised: ("note",),
    Case.AgreementRecorded: ("text", "parties"),
    Case.FollowUpCompleted: ("notes",),
    Case.NoteAdded: ("text",),
    Case.ComplaintProcedureExplained: ("explained_to",),
    Case.ComplaintFiled: ("complainant", "summary", "skip_reason"),
    Case.ComplaintEscalated: ("reason", "skip_reason"),
    Case.ComplaintDecided: ("summary",),
    Case.ComplaintWithdrawn: ("reason",),
    Case.CaseEvaluated: ("went_well", "to_improve", "lessons"),
    Case.CaseClosed: ("explanation",),
    Case.CaseReopened: ("reason",),
    Case.ErasureRequested: ("reason",),
    Case.PassagesRedacted: ("reason",),
    Case.ContactRecorded: ("discussed", "agreed"),
    Case.AttachmentAdded: ("file_name", "caption"),
    Case.InspectieReportRecorded: ("reference",),
    Case.ReporterMessagePosted: ("text",),
}
# Event types outside casework (e.g. services.handover.export) name theirs in a class attribute
# (:func:`content_fields`).

#: The class attribute by which an event type outside casework names its free-text fields (a
#: package that imports casework cannot be imported here: e.g. the hand-over export's events).
CONTENT_FIELDS_ATTRIBUTE = "content_fields"


def content_fields(kind: type[Any]) -> tuple[str, ...]:
    """The free-text fields of an event type: :data:`CONTENT_FIELDS`, or the type's own
    :data:`CONTENT_FIELDS_ATTRIBUTE`."""
    found = CONTENT_FIELDS.get(kind)
    if found is not None:
        return found
    own = getattr(kind, CONTENT_FIELDS_ATTRIBUTE, ())
    return tuple(own) if isinstance(own, tuple) else ()


#: The ``kind`` of a sealed passage (free text), as opposed to a sealed pupil field.
PASSAGE = "passage"
#: Marks a passage whose plaintext is JSON (a whole structured field, see :func:`whole_fields`).
_JSON = "json"


def whole_fields(kind: type[Any]) -> tuple[str, ...]:
    """Fields an event type outside the case catalogue seals whole, each as one passage keyed
    under the event's aggregate (its class attribute ``SEALED_CONTENT``): a text as it is, any
    other value as its JSON. Destroying the aggregate's passage keys (``destroy_case`` with its
    id) erases them: a text then reads as :data:`ERASED`, a structured value as ``[]``. Used by
    the hand-over's received copy (:mod:`services.handover.domain`), which casework cannot
    import."""
    fields: tuple[str, ...] = getattr(kind, "SEALED_CONTENT", ())
    return fields


_NONCE = 12


class PupilKeys(Protocol):
    """Where per-pupil keys live. A destroyed key is gone for good."""

    def new_key(self, case_id: UUID, participant_id: UUID) -> tuple[UUID, bytes]:
        """Create and store a fresh key for one participant of one case: (key id, key)."""
        ...

    def key(self, key_id: UUID) -> bytes | None:
        """The key, or ``None`` when it was destroyed (or never existed)."""
        ...

    def destroy_case(self, case_id: UUID) -> int:
        """Destroy the keys of every participant of a case; returns how many were destroyed."""
        ...

    def pupil_key(self, pupil_id: UUID) -> tuple[UUID, bytes]:
        """The key of one pupil of the register (created on first use): (key id, key)."""
        ...

    def destroy_pupil(self, pupil_id: UUID) -> int:
        """Destroy the key of one pupil of the register; returns how many were destroyed."""
        ...

    def keys_of(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """The keys that still exist among ``key_ids``, in one read (a destroyed key is left
        out): for opening a whole register at once."""
        ...


class InMemoryPupilKeys:
    """:class:`PupilKeys` in a dict (unit tests, the in-memory event store)."""

    def __init__(self) -> None:
        self.keys: dict[UUID, tuple[UUID, bytes]] = {}
        self.pupils: dict[UUID, UUID] = {}  # pupil id -> key id

    def new_key(self, case_id: UUID, participant_id: UUID) -> tuple[UUID, bytes]:  # noqa: ARG002
        key_id, key = uuid4(), AESGCM.generate_key(bit_length=256)
        self.keys[key_id] = (case_id, key)
        return key_id, key

    def key(self, key_id: UUID) -> bytes | None:
        found = self.keys.get(key_id)
        return found[1] if found else None

    def destroy_case(self, case_id: UUID) -> int:
        doomed = [k for k, (c, _) in self.keys.items() if c == case_id]
        for key_id in doomed:
            del self.keys[key_id]
        return len(doomed)

    def pupil_key(self, pupil_id: UUID) -> tuple[UUID, bytes]:
        found = self.pupils.get(pupil_id)
        if found is not None and found in self.keys:
            return found, self.keys[found][1]
        key_id, key = self.new_key(pupil_id, pupil_id)
        self.pupils[pupil_id] = key_id
        return key_id, key

    def keys_of(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        return {k: self.keys[k][1] for k in key_ids if k in self.keys}

    def destroy_pupil(self, pupil_id: UUID) -> int:
        key_id = self.pupils.pop(pupil_id, None)
        return 1 if key_id is not None and self.keys.pop(key_id, None) is not None else 0


class ContentKeys(Protocol):
    """Where passage keys live, grouped by case. A destroyed key is gone for good."""

    def new_keys(self, case_id: UUID, count: int) -> list[tuple[UUID, bytes]]:
        """Create and store ``count`` fresh keys for passages of one case."""
        ...

    def keys(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """The keys that still exist among ``key_ids`` (a destroyed one is simply absent)."""
        ...

    def destroy(self, case_id: UUID, key_ids: Iterable[UUID]) -> int:
        """Destroy these passage keys of the case; how many were destroyed."""
        ...

    def destroy_case(self, case_id: UUID) -> int:
        """Destroy every passage key of the case; how many were destroyed."""
        ...


class InMemoryContentKeys:
    """:class:`ContentKeys` in a dict (unit tests)."""

    def __init__(self) -> None:
        self.store: dict[UUID, tuple[UUID, bytes]] = {}

    def new_keys(self, case_id: UUID, count: int) -> list[tuple[UUID, bytes]]:
        made = [(uuid4(), AESGCM.generate_key(bit_length=256)) for _ in range(count)]
        for key_id, key in made:
            self.store[key_id] = (case_id, key)
        return made

    def keys(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        return {k: self.store[k][1] for k in key_ids if k in self.store}

    def destroy(self, case_id: UUID, key_ids: Iterable[UUID]) -> int:
        doomed = [k for k in key_ids if k in self.store and self.store[k][0] == case_id]
        for key_id in doomed:
            del self.store[key_id]
        return len(doomed)

    def destroy_case(self, case_id: UUID) -> int:
        return self.destroy(case_id, list(self.store))


def _aad(key_id: UUID, field_name: str) -> bytes:
    # Bound to the key and the field: a sealed value moved to another field does not open.
    return key_id.bytes + field_name.encode("ascii")


def seal(key_id: UUID, key: bytes, field_name: str, value: str) -> dict[str, str]:
    nonce = secrets.token_bytes(_NONCE)
    ct = AESGCM(key).encrypt(nonce, value.encode("utf-8"), _aad(key_id, field_name))
    return {"sealed": key_id.hex, "ct": base64.b64encode(nonce + ct).decode("ascii")}


def is_sealed(value: object) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and "sealed" in value and "ct" in value


def is_passage(value: object) -> TypeGuard[dict[str, str]]:
    return is_sealed(value) and value.get("kind") == PASSAGE


def _passage_aad(key_id: UUID) -> bytes:
    # One key per passage: the key binds the ciphertext to its passage.
    return key_id.bytes + b"passage"


def seal_passage(key_id: UUID, key: bytes, value: str) -> dict[str, str]:
    nonce = secrets.token_bytes(_NONCE)
    ct = AESGCM(key).encrypt(nonce, value.encode("utf-8"), _passage_aad(key_id))
    return {"sealed": key_id.hex, "ct": base64.b64encode(nonce + ct).decode("ascii"),
            "kind": PASSAGE}  # fmt: skip


def seal_json_passage(key_id: UUID, key: bytes, value: Any) -> dict[str, str]:
    """A structured value sealed as one passage (its JSON)."""
    text = json.dumps(value, separators=(",", ":"), default=str)
    return {**seal_passage(key_id, key, text), _JSON: "1"}


def unseal_whole(key: bytes | None, value: dict[str, str]) -> Any:
    """A passage of :func:`whole_fields` opened: the text, or the structured value (``[]`` once
    its key is gone)."""
    plain = unseal_passage(key, value)
    if not value.get(_JSON):
        return plain
    if key is None or plain == ERASED:
        return []
    try:
        return json.loads(plain)
    except ValueError:
        return []


def passage_key_id(value: dict[str, str]) -> UUID:
    return UUID(hex=value["sealed"])


def unseal_passage(
    key: bytes | None, value: dict[str, str], redactions: Mapping[str, str] | None = None
) -> str:
    """The plaintext of a sealed passage; when its key was destroyed, the replacement text its
    redaction recorded (``redactions``: key id hex -> text), else :data:`ERASED`."""
    if key is None:
        return (redactions or {}).get(value["sealed"], ERASED)
    raw = base64.b64decode(value["ct"])
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _passage_aad(passage_key_id(value)))
    except InvalidTag:
        return ERASED
    return plain.decode("utf-8")


def _passage_values(value: Any) -> list[dict[str, str]]:
    if is_passage(value):
        return [value]
    if isinstance(value, list):
        return [v for v in value if is_passage(v)]
    return []


def sealed_from_text(value: object) -> dict[str, str] | None:
    """A sealed value a view keeps in a text column (its JSON), else ``None``."""
    # As stored (``sealed_as_text``), or as PostgreSQL prints a jsonb object (``->>``).
    if isinstance(value, str) and value.startswith("{") and '"sealed"' in value:
        try:
            loaded = json.loads(value)
        except ValueError:
            return None
        return loaded if is_sealed(loaded) else None
    return None


def sealed_as_text(value: Any) -> Any:
    """A sealed value as the JSON text a text column keeps (other values unchanged)."""
    return json.dumps(value, separators=(",", ":")) if is_sealed(value) else value


KeyLookup = Callable[[set[UUID], set[UUID]], tuple[dict[UUID, bytes], dict[UUID, bytes]]]


def key_lookup(pupil_keys: PupilKeys | None, content_keys: ContentKeys | None) -> KeyLookup:
    """A :data:`KeyLookup` over a school's key stores (missing stores: nothing opens)."""

    def lookup(
        pupil_ids: set[UUID], passage_ids: set[UUID]
    ) -> tuple[dict[UUID, bytes], dict[UUID, bytes]]:
        pupil: dict[UUID, bytes] = {}
        if pupil_keys is not None:
            for key_id in pupil_ids:
                key = pupil_keys.key(key_id)
                if key is not None:
                    pupil[key_id] = key
        passages = content_keys.keys(passage_ids) if content_keys and passage_ids else {}
        return pupil, passages

    return lookup


def _collect(value: Any, pupil: set[UUID], passages: set[UUID]) -> None:
    text_sealed = sealed_from_text(value)
    if text_sealed is not None:
        value = text_sealed
    if is_sealed(value):
        (passages if is_passage(value) else pupil).add(UUID(hex=value["sealed"]))
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, pupil, passages)
    elif isinstance(value, list | tuple):
        for v in value:
            _collect(v, pupil, passages)


def unseal_tree(value: Any, lookup: KeyLookup, redactions: Mapping[str, str] | None = None) -> Any:
    """``value`` (a view's document: dicts, lists, strings) with every sealed value in it opened
    (also one kept as JSON text); destroyed keys read as their redaction's text or
    :data:`ERASED`. A sealed pupil field is opened with the name of the key it is kept under."""
    pupil_ids: set[UUID] = set()
    passage_ids: set[UUID] = set()
    _collect(value, pupil_ids, passage_ids)
    if not pupil_ids and not passage_ids:
        return value
    pupil_keys, passage_keys = lookup(pupil_ids, passage_ids)

    def pupil_key(sealed: dict[str, str]) -> bytes | None:
        # An inner value (a register pupil's key) is only known once its outer one is open.
        key_id = UUID(hex=sealed["sealed"])
        if key_id not in pupil_keys:
            pupil_keys.update(lookup({key_id}, set())[0])
        return pupil_keys.get(key_id)

    def walk(v: Any, name: str) -> Any:
        text_sealed = sealed_from_text(v)
        if text_sealed is not None:
            v = text_sealed
        if is_passage(v):
            return unseal_passage(passage_keys.get(passage_key_id(v)), v, redactions)
        if is_sealed(v):
            return open_pupil_field(v, name, pupil_key)
        if isinstance(v, dict):
            return {k: walk(item, k) for k, item in v.items()}
        if isinstance(v, list | tuple):
            return type(v)(walk(item, name) for item in v)
        return v

    return walk(value, "")


def unseal(key: bytes | None, field_name: str, value: dict[str, str]) -> str:
    """The plaintext of a sealed field, or :data:`ERASED` when its key was destroyed."""
    key_id = UUID(hex=value["sealed"])
    if key is None:
        return ERASED
    raw = base64.b64decode(value["ct"])
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(key_id, field_name))
    except InvalidTag:
        # A damaged value must not stop a replay; it reads as erased (and carries no data).
        return ERASED
    return plain.decode("utf-8")


class SealingMapper(BoundMapper):
    """eventsourcing ``Mapper`` that seals pupil fields on write and unseals them on read (and,
    like every Vangnet mapper, encrypts each event for its identity:
    :mod:`services.shared.mapper`)."""

    def __init__(
        self,
        transcoder: Transcoder,
        pupil_keys: PupilKeys,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        content_keys: ContentKeys | None = None,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self.pupil_keys = pupil_keys
        self.content_keys = content_keys
        #: ``False``: read events keep their sealed values (the read side's copy).
        self.unsealing = True

    def keeping_sealed(self) -> SealingMapper:
        """This mapper, reading events with their sealed values left sealed (for the views:
        they store ciphertext, opened when a page is rendered)."""
        sealed = copy.copy(self)
        sealed.unsealing = False
        return sealed

    def seal_state(self, domain_event: DomainEventProtocol[UUID]) -> dict[str, Any] | None:
        """The event's state with its pupil fields and passages sealed (fresh keys), or
        ``None`` when it has nothing to seal. Values sealed already stay as they are."""
        kind = type(domain_event)
        fields = SEALED_FIELDS.get(kind, ())
        register_fields = PUPIL_SEALED_FIELDS.get(kind, ())
        content = content_fields(kind) if self.content_keys else ()
        whole = whole_fields(kind) if self.content_keys else ()
        if not fields and not register_fields and not content and not whole:
            return None
        state = dict(vars(domain_event))
        pupil = [n for n in fields or register_fields if not is_sealed(state.get(n))]
        texts = [(n, i) for n in content for i in _plain_positions(state.get(n))]
        wholes = [n for n in whole if state.get(n) not in (None, "") and not is_sealed(state[n])]
        if not pupil and not texts and not wholes:
            return None
        if pupil and register_fields:
            # A pupil of the register: sealed with the pupil's own key.
            key_id, key = self.pupil_keys.pupil_key(state["originator_id"])
            for name in pupil:
                state[name] = seal(key_id, key, name, str(state[name]))
        elif pupil:
            # A participant: sealed with a key of its own; linked to a register pupil, sealed
            # first with the pupil's key (and the link itself with the participant's).
            key_id, key = self.pupil_keys.new_key(
                state["originator_id"], state.get("participant_id") or uuid4()
            )
            pupil_id = state.get(LINK_FIELD)
            inner: tuple[UUID, bytes] | None = None
            if pupil_id is not None and not is_sealed(pupil_id):
                inner = self.pupil_keys.pupil_key(pupil_id)
                state[LINK_FIELD] = seal(key_id, key, LINK_FIELD, str(pupil_id))
            for name in pupil:
                if inner is None:
                    state[name] = seal(key_id, key, name, str(state[name]))
                else:
                    sealed = seal(*inner, name, str(state[name]))
                    state[name] = {**seal(key_id, key, name, json.dumps(sealed)), _INNER: "1"}
        if texts:
            assert self.content_keys is not None
            made = self.content_keys.new_keys(state["originator_id"], len(texts))
            for (name, index), (key_id, key) in zip(texts, made, strict=True):
                if index is None:
                    state[name] = seal_passage(key_id, key, state[name])
                else:
                    state[name] = list(state[name])
                    state[name][index] = seal_passage(key_id, key, state[name][index])
        if wholes:
            assert self.content_keys is not None
            made = self.content_keys.new_keys(state["originator_id"], len(wholes))
            for name, (key_id, key) in zip(wholes, made, strict=True):
                value = state[name]
                state[name] = (
                    seal_passage(key_id, key, value)
                    if isinstance(value, str)
                    else seal_json_passage(key_id, key, value)
                )
        return state

    def open_register(self, stored: Sequence[StoredEvent]) -> list[DomainEventProtocol[UUID]]:
        """Many events of the pupil register, opened with their pupils' keys read in one go
        (:meth:`PupilKeys.keys_of`) instead of one key read per pupil; a destroyed key opens
        as :data:`ERASED`, as in :meth:`to_domain_event`."""
        sealed = self.keeping_sealed()
        events = [sealed.to_domain_event(s) for s in stored]
        wanted: set[UUID] = set()
        for domain_event in events:
            state = vars(domain_event)
            for name in PUPIL_SEALED_FIELDS.get(type(domain_event), ()):
                if is_sealed(state.get(name)):
                    wanted.add(UUID(hex=state[name]["sealed"]))
        keys = self.pupil_keys.keys_of(wanted)

        def key_of(value: dict[str, str]) -> bytes | None:
            return keys.get(UUID(hex=value["sealed"]))

        for domain_event in events:
            state = vars(domain_event)
            for name in PUPIL_SEALED_FIELDS.get(type(domain_event), ()):
                value = state.get(name)
                if is_sealed(value):
                    state[name] = open_pupil_field(value, name, key_of)
        return events

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = self.seal_state(domain_event)
        if state is None:
            return super().to_stored_event(domain_event)
        sealed_event = object.__new__(type(domain_event))
        object.__setattr__(sealed_event, "__dict__", state)
        return super().to_stored_event(sealed_event)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        kind = type(domain_event)
        fields = SEALED_FIELDS.get(kind) or PUPIL_SEALED_FIELDS.get(kind, ())
        content = content_fields(kind) if self.unsealing else ()
        state = vars(domain_event)
        whole = [n for n in whole_fields(kind) if is_passage(state.get(n))]
        if whole and self.unsealing:
            found_whole = (
                self.content_keys.keys(passage_key_id(state[n]) for n in whole)
                if self.content_keys is not None
                else {}
            )
            for name in whole:
                sealed_value = state[name]
                key = found_whole.get(passage_key_id(sealed_value))
                state[name] = unseal_whole(key, sealed_value)
        if not fields and not content:
            return domain_event
        keys: dict[str, bytes | None] = {}  # one lookup per key, not per field

        def key_of(value: dict[str, str]) -> bytes | None:
            key_hex = value["sealed"]
            if key_hex not in keys:
                keys[key_hex] = self.pupil_keys.key(UUID(hex=key_hex))
            return keys[key_hex]

        link = state.get(LINK_FIELD)
        if is_sealed(link):
            # The link opens for the read side too: a pupil id names nobody.
            plain = unseal(key_of(link), LINK_FIELD, link)
            try:
                state[LINK_FIELD] = None if plain == ERASED else UUID(plain)
            except ValueError:
                state[LINK_FIELD] = None
        if not self.unsealing:
            return domain_event
        for name in fields:
            value = state.get(name)
            if is_sealed(value):
                state[name] = open_pupil_field(value, name, key_of)
        passages = [p for name in content for p in _passage_values(state.get(name))]
        if passages:
            found = (
                self.content_keys.keys(passage_key_id(p) for p in passages)
                if self.content_keys is not None
                else {}
            )
            for name in content:
                value = state.get(name)
                if is_passage(value):
                    state[name] = unseal_passage(found.get(passage_key_id(value)), value)
                elif isinstance(value, list):
                    state[name] = [
                        unseal_passage(found.get(passage_key_id(v)), v) if is_passage(v) else v
                        for v in value
                    ]
        return domain_event


def open_pupil_field(
    value: dict[str, str], name: str, key_of: Callable[[dict[str, str]], bytes | None]
) -> str:
    """A sealed pupil field's plaintext (:data:`ERASED` when a key is gone); one sealed twice (a
    participant linked to a register pupil) is opened with both keys."""
    plain = unseal(key_of(value), name, value)
    if value.get(_INNER) and plain != ERASED:
        try:
            inner = json.loads(plain)
        except ValueError:
            return ERASED
        return open_pupil_field(inner, name, key_of) if is_sealed(inner) else ERASED
    return plain


def _plain_positions(value: Any) -> list[int | None]:
    """Where a field holds plain, non-empty text: ``[None]`` for a string, item indexes for a
    list of strings (an empty text has nothing to erase and stays as it is)."""
    if isinstance(value, str):
        return [None] if value else []
    if isinstance(value, list):
        return [i for i, v in enumerate(value) if isinstance(v, str) and v]
    return []
