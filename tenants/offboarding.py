"""Offboarding: a school leaves the platform, after its full export was made and verified.

The counterpart of :mod:`tenants.provisioning`. This module decides the order and what is
refused; the school's stored data is reached through the :class:`SchoolArchive` port (adapters/
implements it on PostgreSQL: :mod:`infra.adapters.offboarding`). Order, and why:

1. **Verify the export** (:meth:`SchoolArchive.verify_export`): the file's SHA-256,
   the school it names, and that it holds exactly the events and reads the database holds — read
   again from the database now. Anything else is refused and nothing changes.
2. In one transaction on the school's log: **lock** the events table and the access log against
   writers and check that nothing was added since the verification; record a final signed
   **checkpoint** of the log's hash chain in ``platform.chain_checkpoints`` (hashes only: the
   platform can later show which log the handed-over export came from), and, after the commit,
   in the outside copy of the checkpoints.
3. Record **School.Offboarded** in the registry: from here on every lookup treats the school as
   unknown, its current state holds no data key and no login, and its slug stays taken. This
   comes before the drop so nothing ever points at a schema that is gone.
4. Same transaction as 2: **drop the school's schema** (log, chain, access log, views), delete
   the school's rows from ``platform.stats_cases`` (and ``platform.stats_months``) and the web
   sessions of its users; commit.

If the process dies between 3 and 4, running the same command again finishes 4 (the registry's
record names the export's checksum, which the file must still match).

Board statistics: the school's anonymous rows are deleted, not kept. They are one row per case
(microdata, not totals) that can no longer be rebuilt or verified from a log once the schema is
gone, and board views only count the schools the registry lists, so kept rows would show up in
platform-wide totals only, which then no longer add up to the listed schools. The export holds
the events, from which they can be recomputed if ever needed.

Known limit: the registry's own log keeps the school's creation event, which holds the data key
wrapped with the master key (events are immutable, and the registry's log is hash-chained).
Dropping the schema removes the data the key protected, but a database backup taken before the
offboarding still holds both. Crypto-shredding backups needs the wrapped keys out of the event
log (a deletable key table); not done here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from services.exports.school import ExportMismatch, ExportStale
from services.shared.actor import Actor
from services.shared.errors import InvalidInput
from tenants.operator import as_operator
from tenants.registry import Registry, School

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifiedExport:
    """An export file found to hold exactly the school's log and access log."""

    path: Path
    sha256: str
    events: int
    last_position: int | None
    last_read_id: int | None


@dataclass(frozen=True)
class Offboarded:
    school_id: UUID
    slug: str
    schema: str
    export_sha256: str
    events: int
    stats_rows_deleted: int
    sessions_deleted: int
    finished_earlier_attempt: bool


class ClosingLog(Protocol):
    """The school's log in the one transaction that ends it, its writers locked out."""

    def heads(self) -> tuple[int | None, int | None]:
        """The last event position and the last read id, now."""
        ...

    def checkpoint(self) -> None:
        """Record the final signed checkpoint of the log's chains (published outside the
        database only once the transaction has committed)."""
        ...

    def remove_school_data(self) -> tuple[int, int]:
        """Drop the schema, its statistics and health rows and its users' sessions; returns
        (statistics rows, sessions) deleted."""
        ...


class SchoolArchive(Protocol):
    """A school's stored data, as offboarding needs it (a port: adapters/ implements it)."""

    def verify_export(self, school: School, path: Path, sha256: str | None) -> VerifiedExport:
        """The file, checked to be an intact export of exactly what the school holds now
        (:class:`ExportMismatch` says what differs)."""
        ...

    def read_export(self, path: Path, sha256: str | None) -> tuple[dict[str, Any], str]:
        """The export document and its checksum (refused unless the checksum matches)."""
        ...

    def closing(self, school: School) -> AbstractContextManager[ClosingLog]:
        """The one transaction on the school's log; it commits when the block ends."""
        ...

    def remove_left_over(self, school: School) -> tuple[bool, int, int]:
        """Finish an interrupted offboarding: (schema existed, statistics rows, sessions)."""
        ...

    def forget(self, school_id: UUID) -> None:
        """Drop what the process keeps of the school (its cached application)."""
        ...


#: What :func:`offboard_school` does, in order (what a progress display names).
OFFBOARDING_STEPS = (
    "verifying the export against the database",
    "closing the logs (last checkpoint, registry event)",
    "dropping the school's schema and destroying its key",
)


def _quiet(_what: str) -> None:
    """No progress display."""


def offboard_school(
    registry: Registry,
    archive: SchoolArchive,
    slug: str,
    export_path: Path,
    *,
    confirm: str,
    sha256: str | None = None,
    actor: Actor | None = None,
    step: Callable[[str], None] | None = None,
) -> Offboarded:
    """Offboard the school ``slug`` after verifying ``export_path`` (see the module's steps).

    ``confirm`` must repeat the slug. Refusals (``InvalidInput``/``ExportMismatch``/
    ``ExportStale``/``SchoolNotFound``) change nothing. ``step(what)``: told as each of the
    :data:`OFFBOARDING_STEPS` begins (a progress display).
    """
    say = step or _quiet
    with as_operator(actor, "offboard a school"):
        if confirm != slug:
            raise InvalidInput("the confirmation must repeat the school's slug exactly")
        school = registry.school_by_slug(slug, include_offboarded=True)
        if school.offboarded:
            return _finish(archive, school, export_path, sha256)
        say(OFFBOARDING_STEPS[0])
        verified = archive.verify_export(school, export_path, sha256)
        say(OFFBOARDING_STEPS[1])
        with archive.closing(school) as closing:
            if closing.heads() != (verified.last_position, verified.last_read_id):
                msg = (
                    f"school {school.slug} recorded events or reads after the export was "
                    "verified: export again"
                )
                raise ExportStale(msg)
            closing.checkpoint()
            registry.offboard_school(
                school.id, export_sha256=verified.sha256, events_exported=verified.events
            )
            archive.forget(school.id)
            say(OFFBOARDING_STEPS[2])
            stats, sessions = closing.remove_school_data()
        log.info("offboarded school %s (schema %s dropped)", school.id, school.schema_name)
        return Offboarded(
            school_id=school.id,
            slug=school.slug,
            schema=school.schema_name,
            export_sha256=verified.sha256,
            events=verified.events,
            stats_rows_deleted=stats,
            sessions_deleted=sessions,
            finished_earlier_attempt=False,
        )


def _finish(
    archive: SchoolArchive, school: School, export_path: Path, sha256: str | None
) -> Offboarded:
    """Finish an offboarding whose registry event was recorded but whose drop did not happen."""
    document, digest = archive.read_export(export_path, sha256)
    if digest != school.offboard_export_sha256:
        msg = f"school {school.slug} was offboarded with another export than {export_path}"
        raise ExportMismatch(msg)
    existed, stats, sessions = archive.remove_left_over(school)
    return Offboarded(
        school_id=school.id,
        slug=school.slug,
        schema=school.schema_name,
        export_sha256=digest,
        events=int((document.get("counts") or {}).get("events") or 0),
        stats_rows_deleted=stats,
        sessions_deleted=sessions,
        finished_earlier_attempt=existed,
    )
