"""Erasing pupil data: on request (the contact person's ``RequestErasure``) and at retention expiry.

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
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier

from infra.container import Container
from services.access.roles import Role
from services.shared.actor import Actor, acting_as
from services.shared.errors import CaseNotFound

log = logging.getLogger(__name__)

#: Who erases at retention expiry (recorded as the actor of ``ErasureRequested``).
RETENTION = Actor(user_id="system:retention", role=Role.OPERATOR)
#: The reason recorded on a case whose retention period ran out.
RETENTION_REASON = "bewaartermijn verstreken"


@dataclass
class ExpiryReport:
    school_slug: str
    cutoff: date
    erased: list[UUID] = field(default_factory=list)


def _closed_before(container: Container, school_id: UUID, cutoff: date) -> list[UUID]:
    school = container.registry.school(school_id)
    moment = datetime.combine(cutoff, time.min, tzinfo=UTC)
    with container.pool.connection() as conn:
        exists: Any = conn.execute(
            "SELECT to_regclass(%s)", (f'"{school.schema_name}".cases',)
        ).fetchone()
        if (exists["to_regclass"] if isinstance(exists, dict) else exists[0]) is None:
            return []  # no case view yet: nothing was ever projected, so nothing closed
        rows = conn.execute(
            SQL(
                "SELECT case_id FROM {} WHERE status = 'closed' AND closed_at < %s"
                " ORDER BY closed_at"
            ).format(Identifier(school.schema_name, "cases")),
            (moment,),
        ).fetchall()
    return [r["case_id"] if isinstance(r, dict) else r[0] for r in rows]


def expire_school(container: Container, school_id: UUID, *, today: date) -> ExpiryReport:
    """Erase the pupil data of every case closed more than the school's retention period
    before ``today``. Idempotent: an already erased case is skipped (its keys are destroyed
    again, which finishes an erasure interrupted after its event was saved)."""
    school = container.registry.school(school_id)
    cutoff = today - timedelta(days=school.retention_days)
    report = ExpiryReport(school_slug=school.slug, cutoff=cutoff)
    # Candidates come from the case view (kept current by the sweep); each is checked against
    # its events before anything is erased.
    app = container.schools.get(school_id)
    for case_id in _closed_before(container, school_id, cutoff):
        try:
            case = app.get_case(case_id, school_id)
        except CaseNotFound:
            continue
        if not case.is_closed or not case.participants:
            continue
        if case.pupil_data_erased:
            if app.pupil_keys is not None:
                app.pupil_keys.destroy_case(case_id)
            continue
        with acting_as(RETENTION):
            case.request_erasure(reason=RETENTION_REASON)
        app.save_case(case)
        report.erased.append(case_id)
    if report.erased:
        log.info("retention: erased %d case(s) at school %s", len(report.erased), school_id)
    return report


def expire_all(container: Container, *, today: date) -> list[ExpiryReport]:
    """:func:`expire_school` for every school on the platform."""
    return [expire_school(container, s.id, today=today) for s in container.registry.list_schools()]
