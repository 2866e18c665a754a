"""Verifying a log: its chain, its access log's chain, and every checkpoint recorded of them.

:func:`verify_log` returns a :class:`LogReport` that names the first thing that does not fit —
the school, the notification id, the case (originator) id and version — or how much it
verified. ``vangnet audit verify`` prints it; the report never holds case content (ids only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

from infra.audit import access_log, checkpoints
from infra.audit.checkpoints import Checkpoint
from infra.audit.tables import PLATFORM_EVENTS, PLATFORM_SCHEMA, SCHOOL_EVENTS
from infra.postgres.chain import chain_table, table_exists, walk_chain
from infra.postgres.pool import SharedPool
from tenants.registry import School


@dataclass
class LogReport:
    """What verifying one log found. ``problems`` empty: the log is intact."""

    label: str  # the school's slug, or "platform"
    schema: str
    events: int = 0
    reads: int | None = None  # None: this log has no access log
    checkpoints: int = 0
    sealed: Checkpoint | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if not self.ok:
            return [f"{self.label}: {problem}" for problem in self.problems]
        what = f"{self.events} events"
        if self.reads is not None:
            what += f" and {self.reads} case reads"
        lines = [f"{self.label}: intact: {what} verified, {self.checkpoints} checkpoint(s) match"]
        if self.sealed is not None:
            lines.append(
                f"{self.label}: note: the events up to #{self.sealed.position} were written "
                "before tamper evidence existed and were sealed on "
                f"{self.sealed.recorded_at:%Y-%m-%d %H:%M %Z}: changes to them are evident "
                "from that moment on, not from when they were written"
            )
        return lines


def _check_checkpoints(
    report: LogReport,
    chain: str,
    recorded: list[Checkpoint],
    hashes_at: dict[int, bytes],
    reached: int,
    broken: bool,
) -> None:
    """Compare each checkpoint of ``chain`` with the stored hash at its position."""
    last_good: Checkpoint | None = None
    for checkpoint in sorted(recorded, key=lambda c: c.position):
        when = f"{checkpoint.recorded_at:%Y-%m-%d %H:%M:%S %Z}"
        at = f"#{checkpoint.position} of {when}"
        stored = hashes_at.get(checkpoint.position)
        if stored == checkpoint.hash:
            report.checkpoints += 1
            last_good = checkpoint
            continue
        if broken and checkpoint.position > reached:
            return  # the walk stopped before it; the break is reported already
        after = f"after #{last_good.position}" if last_good else "from its start"
        if stored is None and checkpoint.position > reached:
            report.problems.append(
                f"{chain} ends at #{reached}, but the checkpoint of {when} recorded its head "
                f"at #{checkpoint.position}: entries at the end were removed (or the log was "
                f"rewritten {after})"
            )
        elif stored is None:
            report.problems.append(
                f"{chain} no longer holds #{checkpoint.position} named by checkpoint {at}: "
                f"the log was rewritten {after}, at or before #{checkpoint.position}"
            )
        else:
            report.problems.append(
                f"{chain} no longer matches checkpoint {at}: the log was rewritten "
                f"{after}, at or before #{checkpoint.position} (the hashes were recomputed)"
            )
        return


def verify_log(conn: Connection[Any], schema: str, events_table: str, label: str) -> LogReport:
    """Walk one log's chain and access log, and compare them with their checkpoints."""
    report = LogReport(label=label, schema=schema)
    recorded = checkpoints.checkpoints_of(conn, schema)
    of_events = [c for c in recorded if c.chain == events_table]
    report.sealed = next((c for c in of_events if c.kind == checkpoints.KIND_SEALED), None)
    if not table_exists(conn, schema, chain_table(events_table)):
        report.problems.append(
            f"{events_table} has no chain table: not tamper-evident (any vangnet command "
            "introduces it)"
        )
        return report
    walk = walk_chain(conn, schema, events_table, frozenset(c.position for c in of_events))
    report.events = walk.verified
    if walk.broken is not None:
        b = walk.broken
        subject = (
            f"event #{b.notification_id} (case {b.originator_id}, version {b.originator_version})"
            if b.originator_id is not None
            else f"event #{b.notification_id}"
        )
        report.problems.append(f"{subject} {b.problem}; {walk.verified} events before it verified")
    _check_checkpoints(
        report, events_table, of_events, walk.hashes_at or {}, walk.head_id, walk.broken is not None
    )
    if table_exists(conn, schema, access_log.TABLE):
        of_reads = [c for c in recorded if c.chain == access_log.TABLE]
        reads = access_log.walk_reads(conn, schema, frozenset(c.position for c in of_reads))
        report.reads = reads.verified
        if reads.broken is not None:
            read_id, case_id, problem = reads.broken
            report.problems.append(
                f"case read #{read_id} (case {case_id}) {problem}; "
                f"{reads.verified} reads before it verified"
            )
        _check_checkpoints(
            report,
            access_log.TABLE,
            of_reads,
            reads.hashes_at or {},
            reads.head_id,
            reads.broken is not None,
        )
    return report


def verify_school(pool: SharedPool, school: School) -> LogReport:
    with pool.connection() as conn:
        return verify_log(conn, school.schema_name, SCHOOL_EVENTS, school.slug)


def verify_platform(pool: SharedPool) -> LogReport:
    with pool.connection() as conn:
        return verify_log(conn, PLATFORM_SCHEMA, PLATFORM_EVENTS, "platform")


def checkpoint_school(pool: SharedPool, school: School) -> list[Checkpoint]:
    with pool.connection() as conn:
        return checkpoints.checkpoint_log(conn, school.schema_name, SCHOOL_EVENTS)


def checkpoint_platform(pool: SharedPool) -> list[Checkpoint]:
    with pool.connection() as conn:
        return checkpoints.checkpoint_log(conn, PLATFORM_SCHEMA, PLATFORM_EVENTS)
