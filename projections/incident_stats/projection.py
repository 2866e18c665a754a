"""Incident statistics: one anonymous row per case in ``platform.stats_incidents``.

Beside the board statistics (:mod:`projections.board_stats`), not inside them, so either can
change its storage on its own. A row holds the case's opaque key (the board statistics'
:func:`~projections.board_stats.projection.case_key`), the month it was reported
(Europe/Amsterdam), its incident category codes (the latest ``IncidentCategorised``), whether it
was marked a serious incident and whether the report to the Inspectie was recorded. No free
text (the Inspectie's reference stays in the school's log), no case id, no user id.

Every reported case gets a row (a case without categories counts nowhere but keeps the row
simple to update). The row needs no private state: every event after the report changes one
column by itself. A rebuild or verification stages the rows in the school's schema
(``<schema>.stats_incidents_next``) and :meth:`IncidentStatsView.switch` replaces this school's
platform rows in the caller's transaction, like the board statistics do.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL, Identifier

from projections.board_stats.projection import case_key, local_date, month_of
from projections.db import PLATFORM_SCHEMA, first
from projections.engine import Batch, Target, View
from services.casework.domain import Case

TABLE = "stats_incidents"
COLUMNS = ("school_id", "case_key", "month_reported", "categories", "serious", "reported")

DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    school_id uuid NOT NULL,
    case_key text NOT NULL,
    month_reported date NOT NULL,
    categories text[] NOT NULL,
    serious boolean NOT NULL,
    reported boolean NOT NULL,
    PRIMARY KEY (school_id, case_key)
)"""

PLATFORM_INDEX = (
    "CREATE INDEX IF NOT EXISTS stats_incidents_school_month"
    " ON platform.stats_incidents (school_id, month_reported)"
)

Row = dict[str, Any]


def _change(event: Any) -> Row | None:
    """The columns an event after the report sets (None: the event changes nothing here)."""
    if isinstance(event, Case.IncidentCategorised):
        return {"categories": list(event.categories)}
    if isinstance(event, Case.SeriousIncidentMarked):
        return {"serious": True}
    if isinstance(event, Case.InspectieReportRecorded):
        return {"reported": True}
    return None


class IncidentStatsView(View):
    """Anonymous incident counts of one school, in the shared ``platform`` schema."""

    name = "incident_stats"
    school_tables: ClassVar[dict[str, str]] = {}

    @staticmethod
    def table(target: Target) -> Identifier:
        """``platform.stats_incidents`` for the live target, else the staged school table."""
        if target.is_live:
            return Identifier(PLATFORM_SCHEMA, TABLE)
        return target.table(TABLE)

    def create(self, curs: Cursor[Any], target: Target) -> None:
        super().create(curs, target)
        if not target.is_live:
            curs.execute(SQL(DDL).format(table=self.table(target)))
            return
        curs.execute("SELECT to_regclass('platform.stats_incidents') IS NOT NULL")
        if first(curs.fetchone()):
            return
        curs.execute("SELECT pg_advisory_xact_lock(hashtext('platform.stats_incidents'))")
        curs.execute(SQL(DDL).format(table=self.table(target)))
        curs.execute(PLATFORM_INDEX)

    def drop(self, curs: Cursor[Any], target: Target) -> None:
        super().drop(curs, target)
        if target.is_live:
            curs.execute(
                SQL("DELETE FROM {} WHERE school_id = %s").format(self.table(target)),
                (target.school_id,),
            )
        else:
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.table(target)))

    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        new: dict[UUID, Row] = {}
        changed: dict[UUID, Row] = {}
        for _, event in batch:
            case_id = event.originator_id
            if isinstance(event, Case.CaseReported):
                new[case_id] = {
                    "case_key": case_key(case_id, event.school_id),
                    "month_reported": month_of(local_date(event)),
                    "categories": [],
                    "serious": False,
                    "reported": False,
                }
                continue
            change = _change(event)
            if change is None:
                continue
            if case_id in new:
                new[case_id].update(change)
            else:
                changed.setdefault(case_id, {}).update(change)
        table = self.table(target)
        if new:
            curs.executemany(
                SQL(
                    "INSERT INTO {} (school_id, case_key, month_reported, categories, serious,"
                    " reported) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (school_id, case_key) DO UPDATE SET"
                    " month_reported = excluded.month_reported,"
                    " categories = excluded.categories, serious = excluded.serious,"
                    " reported = excluded.reported"
                ).format(table),
                [
                    (
                        target.school_id,
                        r["case_key"],
                        r["month_reported"],
                        r["categories"],
                        r["serious"],
                        r["reported"],
                    )
                    for _, r in sorted(new.items())
                ],
            )
        if changed:
            curs.executemany(
                SQL(
                    "UPDATE {} SET categories = coalesce(%s, categories),"
                    " serious = serious OR %s, reported = reported OR %s"
                    " WHERE school_id = %s AND case_key = %s"
                ).format(table),
                [
                    (
                        c.get("categories"),
                        c.get("serious", False),
                        c.get("reported", False),
                        target.school_id,
                        case_key(case_id, target.school_id),
                    )
                    for case_id, c in sorted(changed.items())
                ],
            )

    def switch(self, curs: Cursor[Any], live: Target, rebuilt: Target) -> None:
        super().switch(curs, live, rebuilt)  # drops this school's platform rows (see drop)
        columns = SQL(", ").join(Identifier(c) for c in COLUMNS)
        staged = self.table(rebuilt)
        curs.execute(
            SQL(
                "INSERT INTO {platform} ({columns}) SELECT {columns} FROM {staged}"
                " WHERE school_id = %s"
            ).format(platform=self.table(live), columns=columns, staged=staged),
            (live.school_id,),
        )
        curs.execute(SQL("DROP TABLE IF EXISTS {}").format(staged))

    def compare_rows(self, curs: Cursor[Any], live: Target, other: Target) -> list[str]:
        differences = super().compare_rows(curs, live, other)
        columns = SQL(", ").join(Identifier(c) for c in COLUMNS)
        select = SQL("SELECT {columns} FROM {table} WHERE school_id = %s")
        a = select.format(columns=columns, table=self.table(live))
        b = select.format(columns=columns, table=self.table(other))
        for x, y, label in ((a, b, "only live"), (b, a, "only rebuilt")):
            curs.execute(
                SQL("SELECT count(*) FROM ({} EXCEPT ALL {}) d").format(x, y),
                (live.school_id, live.school_id),
            )
            count = first(curs.fetchone())
            if count:
                differences.append(f"{self.name}.{TABLE}: {count} rows {label}")
        return differences
