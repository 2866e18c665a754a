"""Verifying a log: its keyed chain, its ciphertexts, its access log, and its checkpoints as the
database and the outside copy hold them.

:func:`verify_log` returns a :class:`LogReport` that names what does not fit — the first event
that does not (notification id, case id, version, and whether its ciphertext belongs to it), a
checkpoint whose signature does not verify, one that the outside copy holds and the database
lost or holds differently, a log shorter than a checkpoint — or how much it verified.
``vangnet audit verify`` prints it; the report never holds case content (ids only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from infra.audit import access_log, checkpoints
from infra.audit.checkpoints import Checkpoint, publish
from infra.audit.trail import ACCESS_LOG, SCHOOL_EVENTS, AuditTrail, current_trail
from infra.postgres.chain import chain_table, table_exists, walk_chain
from infra.postgres.cipher import EventIntegrityError, associated_data, open_state
from infra.postgres.pool import SharedPool
from infra.postgres.store import LogKeys
from tenants.registry import School


@dataclass
class LogReport:
    """What verifying one log found. ``problems`` empty: the log is intact."""

    label: str  # the school's slug, or "platform"
    schema: str
    events: int = 0
    reads: int | None = None  # None: this log has no access log
    checkpoints: int = 0  # signed checkpoints that match the chains
    outside: int = 0  # of them, found in the outside copy
    sealed: Checkpoint | None = None  # the keyed re-seal of a log an older version wrote
    first_sealed: Checkpoint | None = None  # the first (unkeyed) seal of a pre-chain log
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        lines = [f"{self.label}: {problem}" for problem in self.problems]
        if self.ok:
            what = f"{self.events} events"
            if self.reads is not None:
                what += f" and {self.reads} case reads"
            lines.append(
                f"{self.label}: intact: {what} verified, {self.checkpoints} checkpoint(s) match "
                f"({self.outside} of them also outside the database)"
            )
        if self.first_sealed is not None:
            lines.append(
                f"{self.label}: note: the events up to #{self.first_sealed.position} were "
                "written before tamper evidence existed and were sealed on "
                f"{self.first_sealed.when}: changes to them are evident from that moment on, "
                "not from when they were written"
            )
        if self.sealed is not None and self.sealed.position:
            lines.append(
                f"{self.label}: note: {self.sealed.chain} up to #{self.sealed.position} was "
                f"re-sealed with the keyed chain on {self.sealed.when}: from then on it is "
                "tamper-evident against anyone who can write the database; before, only "
                "against someone who could not recompute the unkeyed chain"
            )
        lines += [f"{self.label}: note: {note}" for note in self.notes]
        return lines


def _trusted(
    report: LogReport, trail: AuditTrail, schema: str, in_db: list[Checkpoint]
) -> tuple[dict[tuple[str, int], Checkpoint], set[tuple[str, int]]]:
    """The signed checkpoints of the log, from the database and the outside copy, checked
    against each other, and which of them the outside copy holds; every problem found on the
    way goes into ``report``."""
    where = trail.sink.where(schema)
    keyed_db: dict[tuple[str, int], Checkpoint] = {}
    for checkpoint in in_db:
        if checkpoint.scheme != checkpoints.SCHEME:
            continue  # the unkeyed history of a re-sealed log: nothing to compare it with
        problem = checkpoints.signature_problem(trail.signer, checkpoint)
        if problem is not None:
            report.problems.append(
                f"{checkpoint.chain} checkpoint #{checkpoint.position} of {checkpoint.when} "
                f"in the database: {problem}"
            )
            continue
        keyed_db[(checkpoint.chain, checkpoint.position)] = checkpoint
    outside: dict[tuple[str, int], Checkpoint] = {}
    for line in trail.sink.read(schema):
        copy = checkpoints.from_record(line.record) if line.record is not None else None
        if copy is None:
            report.problems.append(
                f"the outside copy {where}, line {line.number}, is not a checkpoint record: "
                "it was damaged or altered"
            )
            continue
        problem = (
            "it names another log"
            if copy.log != schema
            else checkpoints.signature_problem(trail.signer, copy)
        )
        if problem is not None:
            report.problems.append(
                f"the outside copy {where}, line {line.number} ({copy.chain} "
                f"#{copy.position}): {problem}"
            )
            continue
        outside[(copy.chain, copy.position)] = copy
    for key, checkpoint in sorted(outside.items()):
        stored = keyed_db.get(key)
        if stored is None:
            if not any(
                c.chain == checkpoint.chain
                and c.position == checkpoint.position
                and c.scheme == checkpoints.SCHEME
                for c in in_db
            ):  # (one whose signature fails was reported already)
                report.problems.append(
                    f"{checkpoint.chain} checkpoint #{checkpoint.position} of {checkpoint.when} "
                    f"is in the outside copy ({where}) but missing from the database: it was "
                    "deleted there"
                )
        elif stored.hash != checkpoint.hash:
            report.problems.append(
                f"{checkpoint.chain} checkpoint #{checkpoint.position} of {checkpoint.when}: "
                "the database holds another hash than the outside copy"
            )
    only_in_db = [key for key in keyed_db if key not in outside]
    if keyed_db and not outside:
        report.notes.append(
            f"the outside copy ({where}) holds none of this log's {len(keyed_db)} "
            "checkpoint(s): is VANGNET_CHECKPOINT_DIR the directory they are written to?"
        )
    elif only_in_db:
        report.notes.append(
            f"{len(only_in_db)} checkpoint(s) in the database are not in the outside copy "
            f"({where}): recorded before it was configured, or writing it failed (see the logs)"
        )
    return {**keyed_db, **outside}, set(outside)


def _check_checkpoints(
    report: LogReport,
    chain: str,
    recorded: Iterable[Checkpoint],
    hashes_at: dict[int, bytes],
    reached: int,
    broken: bool,
    outside: set[tuple[str, int]],
) -> None:
    """Compare each checkpoint of ``chain`` with the stored hash at its position."""
    last_good: Checkpoint | None = None
    for checkpoint in sorted(recorded, key=lambda c: c.position):
        at = f"#{checkpoint.position} of {checkpoint.when}"
        stored = hashes_at.get(checkpoint.position)
        if stored == checkpoint.hash:
            report.checkpoints += 1
            report.outside += (chain, checkpoint.position) in outside
            last_good = checkpoint
            continue
        if broken and checkpoint.position > reached:
            return  # the walk stopped before it; the break is reported already
        after = (
            f"after #{last_good.position}" if last_good and last_good.position else "from its start"
        )
        if stored is None and checkpoint.position > reached:
            report.problems.append(
                f"{chain} ends at #{reached}, but the checkpoint of {checkpoint.when} recorded "
                f"its head at #{checkpoint.position}: entries at the end were removed"
            )
        elif stored is None:
            report.problems.append(
                f"{chain} no longer holds #{checkpoint.position} named by checkpoint {at}: "
                f"the log was rewritten {after}, at or before #{checkpoint.position}"
            )
        else:
            report.problems.append(
                f"{chain} no longer matches checkpoint {at}: the log was rewritten "
                f"{after}, at or before #{checkpoint.position}"
            )
        return


def _opener(keys: LogKeys) -> Any:
    def opens(_nid: int, oid: Any, version: int, topic: str, state: bytes) -> bool:
        try:
            open_state(keys.data_key, associated_data(keys.context, oid, version, topic), state)
        except EventIntegrityError:
            return False
        return True

    return opens


def verify_log(conn: Connection[Any], trail: AuditTrail, keys: LogKeys) -> LogReport:
    """Walk one log's chain and access log, and compare them with their checkpoints."""
    schema, events_table = keys.schema, keys.events_table
    report = LogReport(label=keys.label, schema=schema)
    in_db = checkpoints.checkpoints_of(conn, schema)
    report.first_sealed = next(
        (
            c
            for c in in_db
            if c.chain == events_table
            and c.kind == checkpoints.KIND_SEALED
            and c.scheme == checkpoints.LEGACY_SCHEME
        ),
        None,
    )
    report.sealed = next(
        (
            c
            for c in in_db
            if c.chain == events_table
            and c.kind == checkpoints.KIND_SEALED
            and c.scheme == checkpoints.SCHEME
        ),
        None,
    )
    trusted, outside_keys = _trusted(report, trail, schema, in_db)
    of_events = [c for (chain, _), c in trusted.items() if chain == events_table]
    if not of_events:
        report.problems.append(
            f"{events_table} has no signed checkpoint at all (not even its creation's): it "
            "was deleted, or the log was never sealed with the keyed chain"
        )
    if not table_exists(conn, schema, chain_table(events_table)):
        report.problems.append(f"{events_table} has no chain table: it was dropped")
        return report
    walk = walk_chain(
        conn,
        schema,
        events_table,
        keys.chain_key,
        frozenset(c.position for c in of_events),
        opens=_opener(keys),
    )
    report.events = walk.verified
    if walk.broken is not None:
        b = walk.broken
        subject = (
            f"event #{b.notification_id} (case {b.originator_id}, version {b.originator_version})"
            if b.originator_id is not None
            else f"event #{b.notification_id}"
        )
        report.problems.append(
            f"{subject} {b.problem}; {_count(walk.verified, 'event')} before it verified"
        )
    _check_checkpoints(
        report,
        events_table,
        of_events,
        walk.hashes_at or {},
        walk.head_id,
        walk.broken is not None,
        outside_keys,
    )
    if keys.reads_key is not None and table_exists(conn, schema, ACCESS_LOG):
        of_reads = [c for (chain, _), c in trusted.items() if chain == ACCESS_LOG]
        reads = access_log.walk_reads(
            conn, schema, keys.reads_key, frozenset(c.position for c in of_reads)
        )
        report.reads = reads.verified
        if reads.broken is not None:
            read_id, case_id, problem = reads.broken
            report.problems.append(
                f"case read #{read_id} (case {case_id}) {problem}; "
                f"{_count(reads.verified, 'read')} before it verified"
            )
        _check_checkpoints(
            report,
            ACCESS_LOG,
            of_reads,
            reads.hashes_at or {},
            reads.head_id,
            reads.broken is not None,
            outside_keys,
        )
    return report


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def verify_school(pool: SharedPool, school: School) -> LogReport:
    trail = current_trail()
    with pool.connection() as conn:
        return verify_log(conn, trail, trail.school_log(school))


def verify_platform(pool: SharedPool) -> LogReport:
    trail = current_trail()
    with pool.connection() as conn:
        return verify_log(conn, trail, trail.platform_log())


def checkpoint_school(pool: SharedPool, school: School) -> list[Checkpoint]:
    """Record (and publish outside) the heads of a school's log and access log that moved."""
    trail = current_trail()
    with pool.connection() as conn:
        recorded = checkpoints.checkpoint_log(conn, trail.signer, school.schema_name, SCHOOL_EVENTS)
    publish(trail.sink, recorded)
    return recorded


def checkpoint_platform(pool: SharedPool) -> list[Checkpoint]:
    """Record (and publish outside) the head of the registry's log, if it moved."""
    trail = current_trail()
    keys = trail.platform_log()
    with pool.connection() as conn:
        recorded = checkpoints.checkpoint_log(conn, trail.signer, keys.schema, keys.events_table)
    publish(trail.sink, recorded)
    return recorded
