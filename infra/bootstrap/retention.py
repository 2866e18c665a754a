"""Erasing pupil data: on request (the contact person's ``RequestErasure``) and at retention
expiry. This is the adapter (the candidates from the case view); which cases are due, and
erasing them, is :mod:`services.privacy.retention`.

Either way the case records an ``ErasureRequested`` event, and the casework application, when it
saves it, destroys the keys of the case's participants (:mod:`services.casework.sealing`) and
purges their data from the school's views before it returns (:mod:`infra.adapters.privacy.purge`),
so
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

from psycopg.sql import SQL, Composed, Identifier

from infra.adapters.postgres.pool import SharedPool
from infra.adapters.privacy.reseal import Resealed, seal_old_events
from infra.bootstrap.container import Container
from infra.bootstrap.views import rebuild_school
from projections.pupils.projection import TABLE as PUPIL_CASES
from services.casework.application import register_of
from services.handover.erasure import expire_received
from services.handover.service import Inbox
from services.privacy.retention import expire_cases, expire_pupils, retention_cutoff

log = logging.getLogger(__name__)


@dataclass
class ExpiryReport:
    school_slug: str
    cutoff: date
    erased: list[UUID] = field(default_factory=list)
    #: Pupils of the register erased (their last case past the period, or in no case).
    erased_pupils: list[UUID] = field(default_factory=list)
    #: Files received from other schools erased (their ``keep_until`` passed).
    erased_received: list[UUID] = field(default_factory=list)


def _exists(conn: Any, schema: str, name: str) -> bool:
    found: Any = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".{name}',)).fetchone()
    return (found["to_regclass"] if isinstance(found, dict) else found[0]) is not None


def _ids(rows: list[Any]) -> list[UUID]:
    return [r[next(iter(r))] if isinstance(r, dict) else r[0] for r in rows]


@dataclass(frozen=True)
class ViewPupilCases:
    """:class:`services.privacy.retention.PupilCases` read from the pupil links and the case
    view (kept current by the sweep)."""

    pool: SharedPool
    schema: str

    def _query(self, query: Composed, params: tuple[Any, ...]) -> list[UUID]:
        with self.pool.connection() as conn:
            if not (
                _exists(conn, self.schema, PUPIL_CASES) and _exists(conn, self.schema, "cases")
            ):
                return []
            return _ids(conn.execute(query, params).fetchall())

    def _tables(self) -> dict[str, Identifier]:
        return {
            "links": Identifier(self.schema, PUPIL_CASES),
            "cases": Identifier(self.schema, "cases"),
        }

    def pupils_due(self, cutoff: date) -> list[UUID]:
        moment = datetime.combine(cutoff, time.min, tzinfo=UTC)
        return self._query(
            SQL(
                "SELECT p.pupil_id FROM {links} p JOIN {cases} c USING (case_id)"
                " GROUP BY p.pupil_id"
                " HAVING bool_and(c.status = 'closed' AND c.closed_at < %s)"
                " ORDER BY p.pupil_id"
            ).format(**self._tables()),
            (moment,),
        )

    def held(self, case_ids: list[UUID], cutoff: date) -> set[UUID]:
        moment = datetime.combine(cutoff, time.min, tzinfo=UTC)
        return set(
            self._query(
                SQL(
                    "SELECT DISTINCT p.case_id FROM {links} p WHERE p.case_id = ANY(%s)"
                    " AND p.pupil_id IN (SELECT q.pupil_id FROM {links} q"
                    " JOIN {cases} c USING (case_id)"
                    " WHERE NOT (c.status = 'closed' AND c.closed_at < %s))"
                ).format(**self._tables()),
                (case_ids, moment),
            )
        )

    def linked(self) -> set[UUID]:
        return set(
            self._query(SQL("SELECT DISTINCT pupil_id FROM {links}").format(**self._tables()), ())
        )


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
    before ``today`` (:func:`services.privacy.retention.expire_cases`), except cases with a
    register pupil who has a later or open case; and erase the register pupils whose every
    case is past the period, or who are in no case and were registered before it
    (:func:`services.privacy.retention.expire_pupils`); and erase the files received from
    other schools kept until before ``today``
    (:func:`services.handover.erasure.expire_received`)."""
    school = container.registry.school(school_id)
    cutoff = retention_cutoff(today, school.retention_days)
    app = container.schools.get(school_id)
    closed = ViewClosedCases(container.pool, school.schema_name).closed_before(cutoff)
    links = ViewPupilCases(container.pool, school.schema_name)
    # Before any case is erased (that removes its links): the pupils due, the cases held.
    pupils_due = links.pupils_due(cutoff)
    linked = links.linked()
    held = links.held(closed, cutoff) if closed else set()
    erased = expire_cases(app, school_id, [c for c in closed if c not in held])
    erased_pupils = expire_pupils(
        register_of(app, school_id), pupils_due, unlinked_before=cutoff, linked=linked
    )
    erased_received = expire_received(Inbox(app, school_id), today, datetime.now(UTC))
    if erased or erased_pupils or erased_received:
        log.info(
            "retention: erased %d case(s), %d pupil(s), %d received file(s) at school %s",
            len(erased), len(erased_pupils), len(erased_received), school_id,
        )  # fmt: skip
    return ExpiryReport(
        school_slug=school.slug,
        cutoff=cutoff,
        erased=erased,
        erased_pupils=erased_pupils,
        erased_received=erased_received,
    )


def expire_all(container: Container, *, today: date) -> list[ExpiryReport]:
    """:func:`expire_school` for every school on the platform."""
    return [expire_school(container, s.id, today=today) for s in container.registry.list_schools()]


def seal_old_school(container: Container, school_id: UUID) -> Resealed:
    """Seal the pupil fields and free text of one school's events written before sealing
    existed (:mod:`infra.adapters.privacy.reseal`), then rebuild its views so they hold sealed
    values."""
    school = container.registry.school(school_id)
    app = container.schools.get(school_id)
    with container.pool.connection() as conn:
        done = seal_old_events(conn, container.audit, container.audit.school_log(school), app)
    if done.sealed:
        rebuild_school(container, school_id)
    return done
