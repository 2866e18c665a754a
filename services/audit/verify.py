"""Verifying a log, the rules: walking its chains against their checkpoints and naming what does
not fit.

:func:`verify_chains` returns a :class:`LogReport` that names what does not fit — the first event
that does not (notification id, case id, version, and whether its ciphertext belongs to it), a
checkpoint whose signature does not verify, one that the outside copy holds and the database
lost or holds differently, a log shorter than a checkpoint — or how much it verified. The report
never holds case content (ids only).

What it reads comes through ports: the database's checkpoints (a list), the signing key
(:class:`~services.audit.checkpoints.Signer`), the outside copy
(:class:`~services.audit.checkpoints.CheckpointSink`) and the walks of the chains
(:data:`WalkChain`: recompute a chain over the stored rows, keep the hashes at the positions
asked for, stop at the first row that does not fit). ``infra/adapters/audit/integrity.py`` provides
them.

Words: *chain* (the keyed hash chain over a log's rows, or over its access log: ``case_reads``),
*walk* (recomputing it), *trusted* checkpoints (signed, and agreeing with the outside copy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from services.audit.checkpoints import (
    KIND_RESEALED,
    KIND_SEALED,
    LEGACY_SCHEME,
    SCHEME,
    Checkpoint,
    CheckpointSink,
    Signer,
    from_record,
    signature_problem,
)

#: The chain of a log's access log (the events' chain is named by the events table).
ACCESS_LOG = "case_reads"


@dataclass(frozen=True)
class Walked:
    """What walking one chain found: how many rows verified, where it stopped (``broken``: the
    row's name, e.g. ``event #12 (case …, version 3)``, and what is wrong with it), the stored
    hashes at the positions asked for, and the last position reached."""

    verified: int
    head_id: int
    hashes_at: dict[int, bytes]
    broken: tuple[str, str] | None = None
    #: At the positions asked for, the hashes the chain had before a re-sealing rewrote it
    #: (``vangnet privacy seal-old``), kept beside the chain.
    before_reseal: dict[int, bytes] = field(default_factory=dict)


#: Walks one chain, keeping the hashes at the given positions.
WalkChain = Callable[[frozenset[int]], Walked]


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


def trusted_checkpoints(
    report: LogReport,
    signer: Signer,
    sink: CheckpointSink,
    schema: str,
    in_db: list[Checkpoint],
) -> tuple[dict[tuple[str, int], Checkpoint], set[tuple[str, int]]]:
    """The signed checkpoints of the log, from the database and the outside copy, checked
    against each other, and which of them the outside copy holds; every problem found on the
    way goes into ``report``."""
    where = sink.where(schema)
    keyed_db: dict[tuple[str, int], Checkpoint] = {}
    for checkpoint in in_db:
        if checkpoint.scheme != SCHEME:
            continue  # the unkeyed history of a re-sealed log: nothing to compare it with
        problem = signature_problem(signer, checkpoint)
        if problem is not None:
            report.problems.append(
                f"{checkpoint.chain} checkpoint #{checkpoint.position} of {checkpoint.when} "
                f"in the database: {problem}"
            )
            continue
        keyed_db[(checkpoint.chain, checkpoint.position)] = checkpoint
    outside: dict[tuple[str, int], Checkpoint] = {}
    for line in sink.read(schema):
        copy = from_record(line.record) if line.record is not None else None
        if copy is None:
            report.problems.append(
                f"the outside copy {where}, line {line.number}, is not a checkpoint record: "
                "it was damaged or altered"
            )
            continue
        problem = "it names another log" if copy.log != schema else signature_problem(signer, copy)
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
                and c.scheme == SCHEME
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


def check_checkpoints(
    report: LogReport,
    chain: str,
    recorded: Iterable[Checkpoint],
    hashes_at: dict[int, bytes],
    reached: int,
    broken: bool,
    outside: set[tuple[str, int]],
    before_reseal: dict[int, bytes] | None = None,
    reseals: Iterable[Checkpoint] = (),
) -> None:
    """Compare each checkpoint of ``chain`` with the stored hash at its position (a checkpoint
    recorded before a signed re-sealing that rewrote its position: with the hash kept from
    before it)."""
    last_good: Checkpoint | None = None
    reseals = list(reseals)
    for checkpoint in sorted(recorded, key=lambda c: c.position):
        at = f"#{checkpoint.position} of {checkpoint.when}"
        stored = hashes_at.get(checkpoint.position)
        rewritten = any(
            r.recorded_at > checkpoint.recorded_at and checkpoint.position <= r.position
            for r in reseals
        )
        if rewritten and stored != checkpoint.hash:
            stored = (before_reseal or {}).get(checkpoint.position, stored)
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


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def verify_chains(
    *,
    label: str,
    schema: str,
    events_table: str,
    in_db: list[Checkpoint],
    signer: Signer,
    sink: CheckpointSink,
    walk_events: WalkChain | None,
    walk_reads: WalkChain | None,
) -> LogReport:
    """Walk one log's chain (``walk_events``; ``None``: its chain table is gone) and access log
    (``walk_reads``; ``None``: it has none), and compare them with their checkpoints."""
    report = LogReport(label=label, schema=schema)
    report.first_sealed = next(
        (
            c
            for c in in_db
            if c.chain == events_table and c.kind == KIND_SEALED and c.scheme == LEGACY_SCHEME
        ),
        None,
    )
    report.sealed = next(
        (
            c
            for c in in_db
            if c.chain == events_table and c.kind == KIND_SEALED and c.scheme == SCHEME
        ),
        None,
    )
    trusted, outside_keys = trusted_checkpoints(report, signer, sink, schema, in_db)
    of_events = [c for (chain, _), c in trusted.items() if chain == events_table]
    if not of_events:
        report.problems.append(
            f"{events_table} has no signed checkpoint at all (not even its creation's): it "
            "was deleted, or the log was never sealed with the keyed chain"
        )
    if walk_events is None:
        report.problems.append(f"{events_table} has no chain table: it was dropped")
        return report
    walk = walk_events(frozenset(c.position for c in of_events))
    report.events = walk.verified
    if walk.broken is not None:
        subject, problem = walk.broken
        report.problems.append(
            f"{subject} {problem}; {_count(walk.verified, 'event')} before it verified"
        )
    check_checkpoints(
        report,
        events_table,
        of_events,
        walk.hashes_at,
        walk.head_id,
        walk.broken is not None,
        outside_keys,
        walk.before_reseal,
        [c for c in of_events if c.kind == KIND_RESEALED],
    )
    if walk_reads is not None:
        of_reads = [c for (chain, _), c in trusted.items() if chain == ACCESS_LOG]
        reads = walk_reads(frozenset(c.position for c in of_reads))
        report.reads = reads.verified
        if reads.broken is not None:
            subject, problem = reads.broken
            report.problems.append(
                f"{subject} {problem}; {_count(reads.verified, 'read')} before it verified"
            )
        check_checkpoints(
            report,
            ACCESS_LOG,
            of_reads,
            reads.hashes_at,
            reads.head_id,
            reads.broken is not None,
            outside_keys,
        )
    return report
