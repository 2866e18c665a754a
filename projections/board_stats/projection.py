"""Board statistics: one anonymous row per case in ``platform.stats_cases`` (DESIGN.md §4).

Anonymous by construction. A row holds only vocabulary values, months, whole-day durations,
counts and flags — never a pupil reference, a name, a user id, a case id or any free text.
The row is keyed by an opaque **case key** (the first 16 hex characters of
sha256(case id bytes + school id bytes)), so the same case always updates the same row without
the case id leaving the school.

Words used here:

- ``stats_cases`` lives in the shared ``platform`` schema for the live target; a rebuild or a
  verification stages the same columns in the school's schema (``<schema>.stats_cases_next`` /
  ``_verify``), and :meth:`BoardStatsView.switch` replaces this school's platform rows by the
  staged ones in the caller's single transaction (DELETE WHERE school_id + INSERT SELECT).
- ``stats_case_state`` is the view's private working state in the **school's** schema: the case's
  full row (including the date it was reported, which the platform row only keeps as a month),
  keyed by case id. It never leaves the school's schema.

The platform rows are written in the same transaction as the school's projection position (the
engine's caller transaction; one database), so each event counts exactly once.

Dates are calendar dates in Europe/Amsterdam. ``days_to_intake`` is the intake's ``held_on``
minus the report date; ``days_to_close`` the closing date minus the report date (both whole
days, never negative: an intake recorded as held before the report counts as 0). Reopening a
case clears its closing month and duration (it is open again) and supersedes its aftercare
result, like the aggregate does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL, Composable, Identifier, Literal
from psycopg.types.json import Jsonb

from projections.board_stats.queries import COUNT_PLAN
from projections.db import PLATFORM_SCHEMA, first
from projections.engine import Batch, Handlers, Target, View
from services.casework.domain import Case
from services.casework.vocabulary import ComplaintLevel
from services.shared.clock import SCHOOL_TZ

STATS_TABLE = "stats_cases"
STATE_TABLE = "stats_case_state"

Row = dict[str, Any]
HANDLERS = Handlers()
on = HANDLERS.on

#: The columns of ``platform.stats_cases`` (and of the staged tables), in order.
COLUMNS: tuple[str, ...] = (
    "school_id",
    "case_key",
    "month_reported",
    "reporter_kind",
    "forms",
    "locations",
    "days_to_intake",
    "month_closed",
    "days_to_close",
    "aftercare_stopped",
    "reopened",
    "complaint_levels",
    "police_advised",
)

STATS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    school_id uuid NOT NULL,
    case_key text NOT NULL,
    month_reported date NOT NULL,
    reporter_kind text NOT NULL,
    forms text[] NOT NULL,
    locations text[] NOT NULL,
    days_to_intake integer,
    month_closed date,
    days_to_close integer,
    aftercare_stopped boolean,
    reopened integer NOT NULL,
    complaint_levels text[] NOT NULL,
    police_advised boolean NOT NULL,
    PRIMARY KEY (school_id, case_key)
)"""

#: Indexes of the platform table only (the staged tables are read whole).
PLATFORM_INDEXES = (
    "CREATE INDEX IF NOT EXISTS stats_cases_school_month"
    " ON platform.stats_cases (school_id, month_reported)",
    "CREATE INDEX IF NOT EXISTS stats_cases_month ON platform.stats_cases (month_reported)",
    "CREATE INDEX IF NOT EXISTS stats_cases_school_closed"
    " ON platform.stats_cases (school_id, month_closed) WHERE month_closed IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS stats_cases_closed"
    " ON platform.stats_cases (month_closed) WHERE month_closed IS NOT NULL",
)

STATE_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    case_id uuid PRIMARY KEY,
    state jsonb NOT NULL
)"""


def case_key(case_id: UUID, school_id: UUID) -> str:
    """The opaque key of a case in the statistics (not reversible without the case id)."""
    return hashlib.sha256(case_id.bytes + school_id.bytes).hexdigest()[:16]


def local_date(event: Any) -> date:
    """The calendar date in Europe/Amsterdam of an event's (UTC) timestamp."""
    day: date = event.timestamp.astimezone(SCHOOL_TZ).date()
    return day


def month_of(day: date) -> date:
    return day.replace(day=1)


def new_row(event: Case.CaseReported) -> Row:
    reported_on = local_date(event)
    return {
        "case_key": case_key(event.originator_id, event.school_id),
        "reported_on": reported_on.isoformat(),  # private: stays in the school's schema
        "month_reported": month_of(reported_on).isoformat(),
        "reporter_kind": event.reporter_kind,
        "forms": [],
        "locations": [],
        "days_to_intake": None,
        "month_closed": None,
        "days_to_close": None,
        "aftercare_stopped": None,
        "reopened": 0,
        "complaint_levels": [],
        "police_advised": False,
    }


def _days_since_report(row: Row, day: date) -> int:
    return max(0, (day - date.fromisoformat(row["reported_on"])).days)


@on(Case.IntakeHeld)
def _intake(row: Row, e: Case.IntakeHeld) -> None:
    row["days_to_intake"] = _days_since_report(row, e.held_on)


@on(Case.SituationMapped)
def _situation(row: Row, e: Case.SituationMapped) -> None:
    row["forms"] = sorted(set(e.forms))
    row["locations"] = sorted(set(e.locations))


@on(Case.PoliceReportAdvised)
def _police(row: Row, e: Case.PoliceReportAdvised) -> None:
    row["police_advised"] = True


@on(Case.FollowUpCompleted)
def _follow_up_done(row: Row, e: Case.FollowUpCompleted) -> None:
    # Events arrive in completion order, so the last one seen is the latest completed follow-up.
    row["aftercare_stopped"] = bool(e.bullying_stopped)


def _reach(row: Row, level: str) -> None:
    levels = {*row["complaint_levels"], level}
    row["complaint_levels"] = sorted(levels, key=lambda lvl: ComplaintLevel(lvl).rank)


@on(Case.ComplaintFiled)
def _complaint(row: Row, e: Case.ComplaintFiled) -> None:
    _reach(row, e.level)


@on(Case.ComplaintEscalated)
def _complaint_escalated(row: Row, e: Case.ComplaintEscalated) -> None:
    _reach(row, e.to_level)


@on(Case.CaseClosed)
def _closed(row: Row, e: Case.CaseClosed) -> None:
    closed_on = local_date(e)
    row["month_closed"] = month_of(closed_on).isoformat()
    row["days_to_close"] = _days_since_report(row, closed_on)


@on(Case.CaseReopened)
def _reopened(row: Row, e: Case.CaseReopened) -> None:
    row["reopened"] += 1
    row["month_closed"] = None
    row["days_to_close"] = None
    row["aftercare_stopped"] = None  # completed follow-ups are superseded by the reopening


def evolve(row: Row | None, event: Any) -> Row:
    """The statistics row after ``event`` (pure: the same events always give the same row)."""
    if isinstance(event, Case.CaseReported):
        return new_row(event)
    assert row is not None, f"event {type(event).__name__} before the case was reported"
    handler = HANDLERS.get(type(event))
    if handler is not None:
        handler(row, event)
    return row


def public_columns(school_id: UUID, row: Row) -> tuple[Any, ...]:
    """The platform columns of a school's row, in :data:`COLUMNS` order (nothing private)."""

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value is not None else None

    return (
        school_id,
        row["case_key"],
        day(row["month_reported"]),
        row["reporter_kind"],
        list(row["forms"]),
        list(row["locations"]),
        row["days_to_intake"],
        day(row["month_closed"]),
        row["days_to_close"],
        row["aftercare_stopped"],
        row["reopened"],
        list(row["complaint_levels"]),
        row["police_advised"],
    )


def _column_list() -> Composable:
    return SQL(", ").join(Identifier(c) for c in COLUMNS)


class BoardStatsView(View):
    """Anonymous per-case statistics of one school, in the shared ``platform`` schema."""

    name = "board_stats"
    #: Tables in the school's schema: the private working state (renamed on switch as usual).
    school_tables = {STATE_TABLE: STATE_DDL}

    @staticmethod
    def stats_table(target: Target) -> Identifier:
        """``platform.stats_cases`` for the live target, else the staged school-schema table."""
        if target.is_live:
            return Identifier(PLATFORM_SCHEMA, STATS_TABLE)
        return target.table(STATS_TABLE)

    def create(self, curs: Cursor[Any], target: Target) -> None:
        super().create(curs, target)
        if not target.is_live:
            curs.execute(SQL(STATS_DDL).format(table=self.stats_table(target)))
            return
        curs.execute("SELECT to_regclass('platform.stats_cases') IS NOT NULL")
        if not first(curs.fetchone()):
            # Many schools may be set up at once: serialise the one-time creation of the table.
            curs.execute("SELECT pg_advisory_xact_lock(hashtext('platform.stats_cases'))")
            curs.execute(SQL(STATS_DDL).format(table=self.stats_table(target)))
            for ddl in PLATFORM_INDEXES:
                curs.execute(ddl)
        ensure_months(curs)  # the common case: one query, no DDL, no lock on shared tables

    def drop(self, curs: Cursor[Any], target: Target) -> None:
        """Drop the school-schema tables; for the live target, delete this school's platform
        rows (the shared table itself is never dropped)."""
        super().drop(curs, target)
        if target.is_live:
            curs.execute(
                SQL("DELETE FROM {} WHERE school_id = %s").format(self.stats_table(target)),
                (target.school_id,),
            )
            curs.execute(
                "DELETE FROM platform.stats_months WHERE school_id = %s", (target.school_id,)
            )
        else:
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.stats_table(target)))

    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        ids = sorted({e.originator_id for _, e in batch})
        curs.execute(
            SQL("SELECT case_id, state FROM {} WHERE case_id = ANY(%s)").format(
                target.table(STATE_TABLE)
            ),
            (ids,),
        )
        rows: dict[UUID, Row] = {}
        for r in curs.fetchall():
            case_id, state = (r["case_id"], r["state"]) if isinstance(r, dict) else r
            rows[case_id] = state if isinstance(state, dict) else json.loads(state)
        # The months whose aggregate a change can move: a case's closing month may change.
        months: set[str] = {r["month_closed"] for r in rows.values() if r["month_closed"]}
        changed: set[UUID] = set()
        for _, event in batch:
            rows[event.originator_id] = evolve(rows.get(event.originator_id), event)
            if isinstance(event, Case.CaseReported) or type(event) in HANDLERS:
                changed.add(event.originator_id)  # other events leave the row as it was
        if not changed:
            return
        states = [(case_id, Jsonb(rows[case_id])) for case_id in sorted(changed)]
        curs.executemany(
            SQL(
                "INSERT INTO {} (case_id, state) VALUES (%s, %s)"
                " ON CONFLICT (case_id) DO UPDATE SET state = excluded.state"
            ).format(target.table(STATE_TABLE)),
            states,
        )
        updates = SQL(", ").join(
            SQL("{0} = excluded.{0}").format(Identifier(c))
            for c in COLUMNS
            if c not in {"school_id", "case_key"}
        )
        curs.executemany(
            SQL(
                "INSERT INTO {table} ({columns}) VALUES ({values})"
                " ON CONFLICT (school_id, case_key) DO UPDATE SET {updates}"
            ).format(
                table=self.stats_table(target),
                columns=_column_list(),
                values=SQL(", ").join(SQL("%s") for _ in COLUMNS),
                updates=updates,
            ),
            [public_columns(target.school_id, rows[case_id]) for case_id in sorted(changed)],
        )
        if target.is_live:  # a rebuild's staged rows get theirs when they are switched in
            for case_id in changed:
                row = rows[case_id]
                months.add(row["month_reported"])
                if row["month_closed"]:
                    months.add(row["month_closed"])
            refresh_months(curs, target.school_id, [date.fromisoformat(m) for m in sorted(months)])

    def switch(self, curs: Cursor[Any], live: Target, rebuilt: Target) -> None:
        """Replace this school's platform rows by the staged ones, and the private state table
        by the rebuilt one, inside the caller's transaction (readers see old or new, never
        neither)."""
        # The base switch drops the live state table and (see drop) this school's platform rows,
        # then renames the rebuilt state table; then the staged rows take the platform's place.
        super().switch(curs, live, rebuilt)
        staged = self.stats_table(rebuilt)
        curs.execute(
            SQL(
                "INSERT INTO {platform} ({columns}) SELECT {columns} FROM {staged}"
                " WHERE school_id = %s"
            ).format(platform=self.stats_table(live), columns=_column_list(), staged=staged),
            (live.school_id,),
        )
        refresh_months(curs, live.school_id)
        curs.execute(SQL("DROP TABLE IF EXISTS {}").format(staged))

    def compare_rows(self, curs: Cursor[Any], live: Target, other: Target) -> list[str]:
        differences = super().compare_rows(curs, live, other)
        live_rows = SQL("SELECT {columns} FROM {table} WHERE school_id = %s").format(
            columns=_column_list(), table=self.stats_table(live)
        )
        other_rows = SQL("SELECT {columns} FROM {table} WHERE school_id = %s").format(
            columns=_column_list(), table=self.stats_table(other)
        )
        for a, b, label in ((live_rows, other_rows, "only live"), (other_rows, live_rows,
                            "only rebuilt")):  # fmt: skip
            curs.execute(
                SQL("SELECT count(*) FROM ({} EXCEPT ALL {}) d").format(a, b),
                (live.school_id, live.school_id),
            )
            count = first(curs.fetchone())
            if count:
                differences.append(f"{self.name}.{STATS_TABLE}: {count} rows {label}")
        return differences


# --- The per-(school, month) aggregate the queries read -------------------------------------

#: ``platform.stats_months``: per school and month, what the statistics need of its cases (the
#: counts of :data:`projections.board_stats.queries.COUNT_PLAN` in its order, the day lists
#: the pooled medians need, the school-month's own medians). Kept by this view in the same
#: transaction as ``stats_cases`` (refreshed from it for the months a batch touched), so a board
#: of 50 reads ~600 small rows instead of ~2,500 cases, and all schools ~12,000 instead of
#: ~50,000. Derived only: :func:`refresh_months` rebuilds any part of it from ``stats_cases``.
MONTHS_TABLE = "stats_months"

#: The count columns, ``c1 .. cN`` in the plan's order (columns, not an array: summing 12,000
#: rows' array elements cost ~5x summing columns).
COUNT_COLUMNS = tuple(f"c{i}" for i in range(1, len(COUNT_PLAN) + 1))

MONTHS_DDL = (
    "CREATE TABLE IF NOT EXISTS platform.stats_months ("
    " school_id uuid NOT NULL, month date NOT NULL, "
    + ", ".join(f"{c} integer NOT NULL" for c in COUNT_COLUMNS)
    + ", n_intake integer NOT NULL, intake_days integer[] NOT NULL,"
    " median_intake double precision, n_aftercare integer NOT NULL,"
    " aftercare_stopped integer NOT NULL, closed integer NOT NULL,"
    " close_days integer[] NOT NULL, median_close double precision,"
    " PRIMARY KEY (school_id, month))"
)

MONTHS_INDEX = "CREATE INDEX IF NOT EXISTS stats_months_month ON platform.stats_months (month)"

#: What the count columns mean (the plan's keys, in order), kept as the table's comment: a code
#: change of the plan (a new vocabulary value) makes the next start build the table anew.
PLAN_FINGERPRINT = hashlib.sha256(repr([key for key, _, _ in COUNT_PLAN]).encode()).hexdigest()[:16]

_MONTHS_COLUMNS = SQL(
    "school_id, month, "
    + ", ".join(COUNT_COLUMNS)
    + ", n_intake, intake_days, median_intake, n_aftercare,"
    " aftercare_stopped, closed, close_days, median_close"
)


def _months_select(reported_where: Composable, closed_where: Composable) -> Composable:
    """The aggregate's rows computed from ``platform.stats_cases`` for the filtered cases."""
    counts = SQL(", ").join(
        SQL(expression + " AS " + column).format(*(Literal(v) for v in values))
        for (_, expression, values), column in zip(COUNT_PLAN, COUNT_COLUMNS, strict=True)
    )
    outer = SQL(", ").join(SQL("coalesce(r.{0}, 0)").format(Identifier(c)) for c in COUNT_COLUMNS)
    return SQL(
        "SELECT school_id, month, {outer},"
        " coalesce(r.n_intake, 0), coalesce(r.intake_days, '{{}}'), r.median_intake,"
        " coalesce(r.n_aftercare, 0), coalesce(r.aftercare_stopped, 0), coalesce(c.closed, 0),"
        " coalesce(c.close_days, '{{}}'), c.median_close"
        " FROM (SELECT school_id, month_reported AS month, {counts},"
        " count(days_to_intake) AS n_intake,"
        " array_agg(days_to_intake ORDER BY days_to_intake)"
        " FILTER (WHERE days_to_intake IS NOT NULL) AS intake_days,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_intake) AS median_intake,"
        " count(aftercare_stopped) AS n_aftercare,"
        " count(*) FILTER (WHERE aftercare_stopped) AS aftercare_stopped"
        " FROM platform.stats_cases WHERE {reported_where} GROUP BY school_id, month_reported) r"
        " FULL JOIN (SELECT school_id, month_closed AS month, count(*) AS closed,"
        " array_agg(days_to_close ORDER BY days_to_close)"
        " FILTER (WHERE days_to_close IS NOT NULL) AS close_days,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_close) AS median_close"
        " FROM platform.stats_cases WHERE month_closed IS NOT NULL AND {closed_where}"
        " GROUP BY school_id, month_closed) c USING (school_id, month)"
    ).format(
        outer=outer,
        counts=counts,
        reported_where=reported_where,
        closed_where=closed_where,
    )


def refresh_months(
    curs: Cursor[Any], school_id: UUID | None = None, months: Sequence[date] | None = None
) -> None:
    """Recompute ``platform.stats_months`` from ``platform.stats_cases``: for ``months`` of
    ``school_id``, for every month of ``school_id``, or (both None) for everyone."""
    if school_id is None:
        where: Composable = SQL("true")
        closed_where: Composable = where
        delete = SQL("DELETE FROM platform.stats_months")
    elif months is None:
        where = closed_where = SQL("school_id = %(school)s")
        delete = SQL("DELETE FROM platform.stats_months WHERE school_id = %(school)s")
    else:
        where = SQL("school_id = %(school)s AND month_reported = ANY(%(months)s)")
        closed_where = SQL("school_id = %(school)s AND month_closed = ANY(%(months)s)")
        delete = SQL(
            "DELETE FROM platform.stats_months WHERE school_id = %(school)s"
            " AND month = ANY(%(months)s)"
        )
    values = {"school": school_id, "months": list(months or ())}
    curs.execute(delete, values)
    curs.execute(
        SQL("INSERT INTO platform.stats_months ({}) {}").format(
            _MONTHS_COLUMNS, _months_select(where, closed_where)
        ),
        values,
    )


def ensure_months(curs: Cursor[Any]) -> None:
    """Create ``platform.stats_months`` if missing or made for another plan (the table's
    comment names the plan), filled from ``stats_cases``; else nothing (one query)."""
    curs.execute("SELECT obj_description(to_regclass('platform.stats_months'), 'pg_class')")
    if first(curs.fetchone()) == PLAN_FINGERPRINT:
        return
    curs.execute("SELECT pg_advisory_xact_lock(hashtext('platform.stats_months'))")
    curs.execute("SELECT obj_description(to_regclass('platform.stats_months'), 'pg_class')")
    if first(curs.fetchone()) == PLAN_FINGERPRINT:
        return  # another process did it meanwhile
    curs.execute("DROP TABLE IF EXISTS platform.stats_months")  # made for another plan
    curs.execute(MONTHS_DDL)
    curs.execute(MONTHS_INDEX)
    curs.execute("SELECT obj_description(to_regclass('platform.stats_months'), 'pg_class')")
    if first(curs.fetchone()) == PLAN_FINGERPRINT:
        return  # another process did it meanwhile
    refresh_months(curs)
    curs.execute(
        SQL("COMMENT ON TABLE platform.stats_months IS {}").format(Literal(PLAN_FINGERPRINT))
    )
