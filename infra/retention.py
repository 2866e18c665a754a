"""Erasing pupil data: on request (the contact person's ``RequestErasure``) and at retention
expiry. This is the adapter (the candidates from the case view); which cases are due, and
erasing them, is :mod:`services.privacy.retention`.

Either way the case records an ``ErasureRequested`` event, and the casework application, when it
saves it, destroys the keys of the case's participants (:mod:`services.casework.sealing`) and
purges their data from the school's views before it returns (:mod:`infra.privacy.purge`), so
the erasure is complete when it is reported, whatever state the views are in.

Nothing in the event log changes: the stored bytes, and so the hash chain over them, stay as they
were. The board statistics hold no pupil data and are unaffected by the new event.

Not covered: ``ParticipantAdded`` events stored before sealing existed hold their pupil fields
under the school key only; erasing such a case records the request but cannot erase those fields.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier

from infra.container import Container
from infra.postgres.pool import SharedPool
from infra.privacy.reseal import Resealed, seal_old_events
from infra.views import rebuild_school
from services.privacy.retention import expire_cases, retention_cutoff

log = logging.getLogger(__name__)


@dataclass
class ExpiryReport:
    school_slug: str
    cutoff: date
    erased: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class ViewClosedCases:
    """:class:`services.privacy.retention.ClosedCases` read from the school's case view (kept
    current by the sweep)."""

    pool: SharedPool
    schema: str

    def closed_before(self, cutoff: date) -> list[UUID]:
        moment = datetime.combine(cutoff, time.min, tzinfo=UTC)
        with self.pool.connection() as conn:
            exists: Any = conn.execute(
                "SELECT to_regclass(%s)", (f'"{self.schema}".cases',)
            ).fetchone()
            if (exists["to_regclass"] if isinstance(exists, dict) else exists[0]) is None:
                return []  # no case view yet: nothing was ever projected, so nothing closed
            rows = conn.execute(
                SQL(
                    "SELECT case_id FROM {} WHERE status = 'closed' AND closed_at < %s"
                    " ORDER BY closed_at"
                ).format(Identifier(self.schema, "cases")),
                (moment,),
            ).fetchall()
        return [r["case_id"] if isinstance(r, dict) else r[0] for r in rows]


def expire_school(container: Container, school_id: UUID, *, today: date) -> ExpiryReport:
    """Erase the pupil data of every case closed more than the school's retention period
    before ``today`` (:func:`services.privacy.retention.expire_cases`)."""
    school = container.registry.school(school_id)
    cutoff = retention_cutoff(today, school.retention_days)
    candidates = ViewClosedCases(container.pool, school.schema_name).closed_before(cutoff)
    erased = expire_cases(container.schools.get(school_id), school_id, candidates)
    if erased:
        log.info("retention: erased %d case(s) at school %s", len(erased), school_id)
    return ExpiryReport(school_slug=school.slug, cutoff=cutoff, erased=erased)


def expire_all(container: Container, *, today: date) -> list[ExpiryReport]:
    """:func:`expire_school` for every school on the platform."""
    return [expire_school(container, s.id, today=today) for s in container.registry.list_schools()]


def seal_old_school(container: Container, school_id: UUID) -> Resealed:
    """Seal the pupil fields and free text of one school's events written before sealing
    existed (:mod:`infra.privacy.reseal`), then rebuild its views so they hold sealed values."""
    school = container.registry.school(school_id)
    app = container.schools.get(school_id)
    with container.pool.connection() as conn:
        done = seal_old_events(conn, container.audit, container.audit.school_log(school), app)
    if done.sealed:
        rebuild_school(container, school_id)
    return done
