"""The read side's part of an erasure: the school's views lose the case's pupil data before the
erasure is reported done (issue #10; :class:`services.casework.application.ReadSidePurge`).

Every path that stores an ``ErasureRequested`` event (the case action in the API and the pages,
the retention run) goes through ``CaseworkApplication.save_case``, which runs
:meth:`ViewPurge.purge` around the save:

1. **prepare** (nothing stored yet): on one pooled connection, open a transaction, lock the
   positions of the views that hold pupil data (live, and a rebuild's or verification's tables
   if they exist), so no catch-up, rebuild switch or verification can write the data back
   meanwhile, and erase the case's pupil fields in their rows. Whatever the views' state —
   behind the log (no worker running), or degraded (stopped before, or skipping, an event they
   cannot apply) — the rows that exist are erased; rows a lagging view has yet to write come
   from events whose keys will be gone, and the erasure event itself erases again when applied.
   Failing here (the views are locked by a long rebuild, the database does not answer) raises
   ``ErasureUnavailable``: nothing is stored, nothing erased; try again.
2. **save** the request (a conflict or any failure rolls the purge back: nothing happened);
3. **destroy** the pupils' keys, then **commit** the purge. A failure here raises
   ``ErasureIncomplete``: the request is recorded, and it cannot stay half-done: the views erase
   the same fields when they apply it, and repeating the erasure destroys the keys.

Afterwards the key table and the case view's tables are vacuumed (best effort), so deleted key
rows and the old row versions holding the name are reclaimed now rather than by autovacuum.

The transaction stays open while the request is saved (milliseconds; the pool connections'
idle-in-transaction timeout bounds it). It needs a second pool connection for the save: the wait
for the first one is bounded (:data:`CONNECTION_WAIT`) and so is the wait for the views' locks
(:data:`LOCK_TIMEOUT_MS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL, Identifier, Literal

from infra.adapters.postgres.pool import SharedPool
from infra.adapters.privacy.keys import CONTENT_TABLE
from infra.adapters.privacy.keys import TABLE as KEYS
from projections.engine import POSITIONS, Target, View
from projections.views import ALL_VIEWS
from services.shared.errors import ErasureIncomplete, ErasureUnavailable

log = logging.getLogger(__name__)

#: Seconds to wait for a pool connection before refusing the erasure (nothing stored).
CONNECTION_WAIT = 5.0
#: Milliseconds to wait for the views' locks (a catch-up batch, a rebuild's switch).
LOCK_TIMEOUT_MS = 5000
#: The targets whose tables may exist: live, a rebuild under way, a verification under way.
SUFFIXES = ("", "_next", "_verify")


class ViewPurge:
    """:class:`services.casework.application.ReadSidePurge` for one school's views."""

    def __init__(self, pool: SharedPool, school_id: UUID, schema: str) -> None:
        self.pool = pool
        self.school_id = school_id
        self.schema = schema

    def purge(
        self, case_id: UUID, *, save: Callable[[], None], then: Callable[[UUID], None]
    ) -> None:
        self._run(
            case_id,
            lambda curs: self._erase_rows(curs, lambda v, c, t: v.erase(c, t, case_id)),
            save=save,
            then=then,
            what="case",
        )

    def purge_pupil(
        self, pupil_id: UUID, *, save: Callable[[], None], then: Callable[[UUID], None]
    ) -> None:
        """The same order for a register pupil: their number, name and group are erased from
        the views' rows of every case they take part in, the pupil's erasure is saved, their
        key destroyed, the purge committed."""
        self._run(
            pupil_id,
            lambda curs: self._erase_rows(curs, lambda v, c, t: v.erase_pupil(c, t, pupil_id)),
            save=save,
            then=then,
            what="pupil",
        )

    def _run(
        self,
        subject: UUID,
        erase: Callable[[Cursor[Any]], None],
        *,
        save: Callable[[], None],
        then: Callable[[UUID], None],
        what: str,
    ) -> None:
        case_id = subject
        step = "prepare"
        failed_after_save: Exception | None = None
        try:
            with (
                self.pool.connection(timeout=CONNECTION_WAIT) as conn,
                conn.transaction(),
                conn.cursor() as curs,
            ):
                erase(curs)
                step = "save"
                save()
                step = "keys"
                try:
                    then(case_id)
                except Exception as e:  # the request is stored: commit the purge regardless
                    failed_after_save = e
                step = "commit"
        except Exception as e:
            if step == "save":
                raise  # the save's own error (e.g. a conflict); nothing stored, nothing purged
            log.warning(
                "erasure of %s %s at school %s: %s failed (%s)",
                what, case_id, self.school_id, step, type(e).__name__,
            )  # fmt: skip
            if step == "prepare":
                msg = (
                    "the school's views could not be prepared for the erasure (busy or not "
                    "reachable): nothing was stored or erased; try again in a few minutes"
                )
                raise ErasureUnavailable(msg) from None
            raise _incomplete() from None
        if failed_after_save is not None:
            log.warning(
                "erasure of %s %s at school %s: destroying the keys failed (%s)",
                what, case_id, self.school_id, type(failed_after_save).__name__,
            )  # fmt: skip
            raise _incomplete() from None
        self._vacuum()

    def _erase_rows(
        self, curs: Cursor[Any], erase: Callable[[View, Cursor[Any], Target], None]
    ) -> None:
        curs.execute(SQL("SET LOCAL lock_timeout = {}").format(Literal(f"{LOCK_TIMEOUT_MS}ms")))
        views: list[View] = [v for v in ALL_VIEWS if v.holds_pupil_data]
        for suffix in SUFFIXES:
            target = Target(self.school_id, self.schema, suffix)
            for view in views:
                if not _exists(curs, target, view):
                    continue
                curs.execute(
                    SQL("SELECT position FROM {} WHERE view = %s FOR UPDATE").format(
                        Identifier(self.schema, POSITIONS)
                    ),
                    (target.position_key(view),),
                )
                erase(view, curs, target)

    def _vacuum(self) -> None:
        try:
            with self.pool.connection(timeout=CONNECTION_WAIT) as conn:
                for table in (KEYS, CONTENT_TABLE, "cases", "case_timeline"):
                    if _table_exists(conn, self.schema, table):
                        conn.execute(SQL("VACUUM {}").format(Identifier(self.schema, table)))
        except Exception as e:  # hygiene only: the rows are erased already
            log.warning(
                "vacuum after an erasure at school %s: %s", self.school_id, type(e).__name__
            )


def _exists(curs: Cursor[Any], target: Target, view: View) -> bool:
    """Whether all of the view's tables exist for the target (and its positions table)."""
    names = [f'"{target.schema}"."{name}{target.suffix}"' for name in view.school_tables]
    names.append(f'"{target.schema}"."{POSITIONS}"')
    row = curs.execute(
        "SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest(%s::text[]) AS n", (names,)
    ).fetchone()
    return bool(row and (row["bool_and"] if isinstance(row, dict) else row[0]))


def _table_exists(conn: Any, schema: str, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{table}"',)).fetchone()
    return bool(row and (row[0] if not isinstance(row, dict) else next(iter(row.values()))))


def _incomplete() -> ErasureIncomplete:
    return ErasureIncomplete(
        "the erasure request is recorded, but a step after it failed: the views erase the "
        "pupils' data when they apply it; repeat the erasure to finish it"
    )
