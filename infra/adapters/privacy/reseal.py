"""Sealing events written before sealing existed (issue #12 §4): ``vangnet privacy seal-old``.

Events stored before per-pupil keys (pupil fields) or passage keys (free text) existed hold those
values in plain text under the school's data key only: erasing the pupil could not reach them.
Upcasting on read would not change the stored bytes (nor the database's backups from then on), so
they are rewritten once, like :mod:`infra.adapters.audit.migration` re-seals a log, and the rewrite
is
recorded and verifiable. In one transaction holding the log's table lock (no command writes
meanwhile):

1. the keyed chain must verify over the whole log as it is (a log that does not is not touched:
   that would bless the tampering; ``vangnet audit verify`` names it);
2. every case event with a plain pupil field or passage gets fresh keys (in the key tables, in the
   same transaction) and its state is encrypted again, bound to the event as before; so does a
   file received from another school (``FileReceived``: the pupil's name and the documents,
   with keys of the file's own); values sealed already and other events stay as they are;
3. from the first rewritten event on, the old links are kept in
   ``<events table>_chain_before_reseal`` (hashes only: no content) and the keyed chain is
   computed anew over the result;
4. a signed ``resealed`` checkpoint of the new head is recorded in the database and outside.

``vangnet audit verify`` then walks the new chain, and compares each checkpoint recorded *before*
a ``resealed`` one (at a position it rewrote) with the hash kept from before: the old checkpoints
still mean what they meant. Running it again finds nothing to seal and changes nothing.

Afterwards stop and restart nothing: the views are rebuilt from the log (``vangnet projections
rebuild``) so they hold the sealed values too (the erasure of a case already scrubbed them).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import Connection
from psycopg.sql import SQL, Identifier

from infra.adapters.audit import checkpoints
from infra.adapters.audit.checkpoints import publish
from infra.adapters.audit.trail import AuditTrail
from infra.adapters.postgres.chain import (
    BATCH,
    before_reseal_table,
    chain_batches,
    chain_table,
    create_before_reseal_statement,
    encode_event,
    event_batches,
    genesis,
    link,
    rows_of,
)
from infra.adapters.postgres.store import LogKeys
from infra.adapters.privacy.keys import using_connection
from services.audit import checkpoints as signed
from services.audit.checkpoints import Checkpoint
from services.casework.application import CaseworkApplication
from services.casework.sealing import SealingMapper
from services.handover.domain import ReceivedFile

log = logging.getLogger(__name__)

#: Topics of the events sealing concerns (the case's events); others are never decoded here.
CASE_TOPIC = "services.casework.domain:Case."
#: A file received from another school (its pupil name and documents; issue 15 §5).
RECEIVED_TOPIC = f"{ReceivedFile.__module__}:{ReceivedFile.FileReceived.__qualname__}"


@dataclass(frozen=True)
class Resealed:
    """What sealing old events of one log did (ids and counts only)."""

    log: str
    events: int = 0  # events in the log
    sealed: int = 0  # events rewritten now
    checkpoint: Checkpoint | None = None
    refused: str | None = None


class _Refused(Exception):
    pass


def _pairs(
    conn: Connection[Any], schema: str, events_table: str
) -> Iterator[tuple[tuple[Any, ...], bytes]]:
    links = rows_of(chain_batches(conn, schema, events_table))
    for event in rows_of(event_batches(conn, schema, events_table)):
        chained = next(links, None)
        if chained is None or int(chained[0]) != int(event[0]):
            msg = f"the chain does not cover event #{event[0]}"
            raise _Refused(msg)
        yield event, bytes(chained[1])
    extra = next(links, None)
    if extra is not None:
        msg = f"the chain has a link #{extra[0]} without an event"
        raise _Refused(msg)


def _sealed_state(mapper: SealingMapper, oid: Any, version: int, topic: str, state: bytes) -> Any:
    """The event's new stored state, or ``None`` when it has nothing left to seal."""
    if not topic.startswith(CASE_TOPIC) and topic != RECEIVED_TOPIC:
        return None
    stored = StoredEvent(originator_id=oid, originator_version=version, topic=topic, state=state)
    event = mapper.keeping_sealed().to_domain_event(stored)
    new_state = mapper.seal_state(event)
    if new_state is None:
        return None
    sealed_event = object.__new__(type(event))
    object.__setattr__(sealed_event, "__dict__", new_state)
    rewritten = mapper.to_stored_event(sealed_event)
    if rewritten.topic != topic:
        msg = f"event (case {oid}, version {version}) would change its type: not sealed"
        raise _Refused(msg)
    return rewritten.state


def seal_old_events(
    conn: Connection[Any], trail: AuditTrail, keys: LogKeys, app: CaseworkApplication
) -> Resealed:
    """Seal the old events of one school's log (see the module docstring). ``conn``: an
    autocommit connection; the key rows are written on it, in the same transaction."""
    mapper = app.mapper
    if not isinstance(mapper, SealingMapper) or app.content_keys is None:
        return Resealed(keys.label, refused="the application does not seal (no key stores)")
    schema, events_table = keys.schema, keys.events_table
    try:
        with conn.transaction(), using_connection(conn):
            conn.execute(
                SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(Identifier(schema, events_table))
            )
            count, sealed, head, head_hash = _rewrite_log(conn, keys, mapper)
            checkpoint = None
            if sealed:
                checkpoint = signed.sign(
                    trail.signer, schema, events_table, head, head_hash, signed.KIND_RESEALED
                )
                checkpoints.insert(conn, checkpoint)
    except _Refused as refusal:
        log.error("%s.%s: old events not sealed: %s", schema, events_table, refusal)
        return Resealed(keys.label, refused=str(refusal))
    if checkpoint is not None:
        publish(trail.sink, [checkpoint])
        log.warning(
            "%s.%s: %d events written before sealing existed were sealed now",
            schema, events_table, sealed,
        )  # fmt: skip
    return Resealed(keys.label, events=count, sealed=sealed, checkpoint=checkpoint)


def _rewrite_log(
    conn: Connection[Any], keys: LogKeys, mapper: SealingMapper
) -> tuple[int, int, int, bytes]:
    """Verify the chain, seal what is plain, re-chain from the first rewritten event; returns
    (events, events sealed, head position, head hash)."""
    schema, events_table = keys.schema, keys.events_table
    previous = genesis(schema, events_table)
    rewritten: dict[int, bytes] = {}  # notification id -> new state
    rows: list[tuple[int, Any, int, str, bytes, bytes]] = []  # with the old link
    for (nid, oid, version, topic, stored), old_link in _pairs(conn, schema, events_table):
        state = bytes(stored)
        previous = link(keys.chain_key, previous, encode_event(nid, oid, version, topic, state))
        if not hmac.compare_digest(previous, old_link):
            msg = f"event #{nid} does not match its chain: the log is not sealed"
            raise _Refused(msg)
        rows.append((int(nid), oid, int(version), str(topic), state, old_link))
        new_state = _sealed_state(mapper, oid, int(version), str(topic), state)
        if new_state is not None:
            rewritten[int(nid)] = new_state
    if not rewritten:
        return len(rows), 0, (rows[-1][0] if rows else 0), previous
    first = min(rewritten)
    conn.execute(create_before_reseal_statement(schema, events_table))
    kept = [(nid, old) for nid, *_, old in rows if nid >= first]
    for start in range(0, len(kept), BATCH):
        part = kept[start : start + BATCH]
        conn.execute(
            SQL(
                "INSERT INTO {} (notification_id, hash) "
                "SELECT * FROM unnest(%s::bigint[], %s::bytea[]) ON CONFLICT DO NOTHING"
            ).format(Identifier(schema, before_reseal_table(events_table))),
            ([n for n, _ in part], [h for _, h in part]),
        )
    changed = sorted(rewritten.items())
    for start in range(0, len(changed), BATCH):
        part = changed[start : start + BATCH]
        conn.execute(
            SQL(
                "UPDATE {} e SET state = v.state FROM unnest(%s::bigint[], %s::bytea[]) "
                "AS v(id, state) WHERE e.notification_id = v.id"
            ).format(Identifier(schema, events_table)),
            ([n for n, _ in part], [s for _, s in part]),
        )
    previous = genesis(schema, events_table)
    links: list[tuple[int, bytes]] = []
    for nid, oid, version, topic, state, old_link in rows:
        if nid < first:
            previous = old_link
            continue
        body = encode_event(nid, oid, version, topic, rewritten.get(nid, state))
        previous = link(keys.chain_key, previous, body)
        links.append((nid, previous))
    for start in range(0, len(links), BATCH):
        part = links[start : start + BATCH]
        conn.execute(
            SQL(
                "UPDATE {} c SET hash = v.hash FROM unnest(%s::bigint[], %s::bytea[]) "
                "AS v(id, hash) WHERE c.notification_id = v.id"
            ).format(Identifier(schema, chain_table(events_table))),
            ([n for n, _ in part], [h for _, h in part]),
        )
    return len(rows), len(rewritten), rows[-1][0], previous
