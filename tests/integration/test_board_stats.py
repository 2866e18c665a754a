"""Board statistics on real PostgreSQL: expected numbers, suppression, anonymity, replay = live.

All data is fictitious. Cases are built through ``CaseService``; the views are caught up with
``infra.bootstrap.views.catch_up_school``. Events are timestamped now, so every case of this module
is
reported (and closed) in the current month (Europe/Amsterdam); days to intake come from the
``held_on`` dates chosen here, counted from the report's local date.
"""

from __future__ import annotations

import asyncio
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

from infra.bootstrap.container import Container
from infra.bootstrap.views import (
    ALL_VIEWS,
    catch_up_school,
    ensure_school_views,
    rebuild_school,
    verify_school,
)
from projections.board_stats import queries
from projections.board_stats.projection import COLUMNS, BoardStatsView, case_key
from projections.board_stats.queries import StatCell, cell
from projections.engine import View, catch_up_batch, positions
from services.access.roles import Role
from services.casework import vocabulary
from services.casework.commands import (
    AddNote,
    AddParticipant,
    AdvisePoliceReport,
    CloseCase,
    CompleteFollowUp,
    EvaluateCase,
    FlagCriminalOffence,
    HoldIntake,
    MapSituation,
    RecordAgreement,
    ReopenCase,
    ReportCase,
    ScheduleFollowUp,
    ShareLessons,
)
from services.casework.handlers import CaseService
from services.complaints.commands import EscalateComplaint, FileComplaint
from services.shared.actor import Actor
from services.shared.clock import FixedClock
from tenants.registry import School
from tests.unit.support import TestStaff, actor

pytestmark = pytest.mark.integration

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
STATS: tuple[View, ...] = tuple(v for v in ALL_VIEWS if isinstance(v, BoardStatsView))


@dataclass
class Spec:
    """One fictitious case, and what happens to it."""

    reporter: str
    forms: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    intake_after: int | None = None  # days after the report's local date
    follow_up_stopped: bool | None = None
    close: str | None = None  # resolved | referred
    reopen: bool = False
    complaint_levels: list[str] = field(default_factory=list)  # filed, then escalated
    police: bool = False


# School A: six cases (see the expectations in test_statistics_match_hand_computed_numbers).
SPECS_A = [
    Spec("parent", ["physical", "verbal"], ["schoolyard"], 2, True, "resolved",
         complaint_levels=["management", "board"], police=True),
    Spec("parent", ["physical"], ["schoolyard", "online"], 4, True, "resolved", reopen=True),
    Spec("staff", ["physical", "online"], ["online"], 0, False),
    Spec("target_pupil", ["physical"], ["classroom"], 7, complaint_levels=["management"]),
    Spec("parent", ["physical", "verbal"], ["schoolyard"], 1, True, "referred"),
    Spec("peer", ["verbal"], ["corridor"]),
]  # fmt: skip
# School B (same board): five cases, only reported and mapped.
SPECS_B = [
    Spec("parent", ["verbal"]),
    Spec("parent", ["verbal"]),
    Spec("staff", ["verbal", "physical"]),
    Spec("staff", ["relational"]),
    Spec("staff", ["physical", "relational"]),
]
# School C (another board): two cases.
SPECS_C = [Spec("anonymous", ["material"], ["gym"], 3), Spec("other", ["sexual"])]


@dataclass
class World:
    a: School
    b: School
    c: School
    cases: dict[UUID, list[UUID]]  # school id -> case ids
    actors: list[Actor]
    pupil_refs: list[str]
    display_names: list[str]
    reported_on: dict[UUID, date]  # case id -> local report date


def _suffix() -> str:
    return uuid4().hex[:8]


def _build_case(
    container: Container, school: School, spec: Spec, n: int, world: World, tag: str
) -> UUID:
    contact = Actor(f"test-cp-{tag}", Role.CONTACT_PERSON)
    school_contact = Actor(f"test-scp-{tag}", Role.SCHOOL_CONTACT)
    # The intakes are recorded as if weeks had passed since the report: the day an intake was
    # held may not lie after the school's today, which the service's clock says.
    app = container.schools.get(school.id)
    service = CaseService(
        app,
        school.id,
        clock=FixedClock(datetime.now(AMSTERDAM).date() + timedelta(days=60)),
        people=TestStaff(app, school.id),
    )
    case_id = service.report(
        contact,
        ReportCase(reporter_kind=spec.reporter, summary=f"Fictieve melding {tag} nummer {n}"),
    )
    case = container.schools.get(school.id).get_case(case_id, school.id)
    reported_on = case.created_on.astimezone(AMSTERDAM).date()
    world.reported_on[case_id] = reported_on
    pupil_ref = f"LL-{tag}{n:04d}"
    display_name = f"Fictieve Leerling {tag} {n}"
    world.pupil_refs.append(pupil_ref)
    world.display_names.append(display_name)

    def do(command: Any, actor: Actor = contact) -> None:
        service.handle(actor, command)

    do(AddParticipant(case_id=case_id, pupil_ref=pupil_ref, role="target",
                      display_name=display_name, group=f"Groep {tag}-{n}"))  # fmt: skip
    do(AddNote(case_id=case_id, text=f"Fictieve notitie {tag}-{n}: gesprek op het plein"))
    if spec.intake_after is not None:
        do(HoldIntake(case_id=case_id, held_on=reported_on + timedelta(days=spec.intake_after),
                      summary=f"Fictief intakegesprek {tag}-{n}"))  # fmt: skip
    if spec.forms:
        do(MapSituation(case_id=case_id, forms=spec.forms, locations=spec.locations,
                        frequency="weekly", impact="moderate",
                        description=f"Fictieve beschrijving {tag}-{n}"))  # fmt: skip
    if spec.police:
        do(FlagCriminalOffence(case_id=case_id, description=f"Fictief strafbaar feit {tag}-{n}"))
        do(AdvisePoliceReport(case_id=case_id, advised_to="parents",
                              note=f"Fictief advies {tag}-{n}"))  # fmt: skip
    if spec.complaint_levels:
        complaint_id = uuid4()
        do(FileComplaint(case_id=case_id, complaint_id=complaint_id,
                         complainant=f"Fictieve ouder {tag}-{n}",
                         summary=f"Fictieve klacht {tag}-{n}",
                         level=spec.complaint_levels[0]), school_contact)  # fmt: skip
        for level in spec.complaint_levels[1:]:
            do(EscalateComplaint(case_id=case_id, complaint_id=complaint_id, to_level=level,
                                 reason=f"Fictieve reden {tag}-{n}"), school_contact)  # fmt: skip
    if spec.follow_up_stopped is not None:
        do(RecordAgreement(case_id=case_id, text=f"Fictieve afspraak {tag}-{n}",
                           parties=f"Fictieve partijen {tag}-{n}"))  # fmt: skip
        follow_up = uuid4()
        do(ScheduleFollowUp(case_id=case_id, follow_up_id=follow_up,
                            due_on=reported_on + timedelta(days=14)))  # fmt: skip
        do(CompleteFollowUp(case_id=case_id, follow_up_id=follow_up, agreements_kept=True,
                            bullying_stopped=spec.follow_up_stopped, pupil_feels_safe=True,
                            notes=f"Fictieve nazorg {tag}-{n}"))  # fmt: skip
    if spec.close == "resolved":
        do(EvaluateCase(case_id=case_id, went_well=f"Fictief goed {tag}-{n}",
                        to_improve=f"Fictief beter {tag}-{n}",
                        lessons=[f"Fictieve les {tag}-{n}"]))  # fmt: skip
        do(
            ShareLessons(
                case_id=case_id, coordinator_id=actor(Role.COORDINATOR, f"test-apc-{tag}").user_id
            )
        )
        # A complaint may still be open at the board: closing goes on knowingly, it stays open.
        do(CloseCase(case_id=case_id, reason="resolved",
                     open_complaints_acknowledged=bool(spec.complaint_levels)))  # fmt: skip
    elif spec.close is not None:
        do(CloseCase(case_id=case_id, reason=spec.close,
                     explanation=f"Fictieve uitleg {tag}-{n}",
                     open_complaints_acknowledged=bool(spec.complaint_levels)))  # fmt: skip
    if spec.reopen:
        do(ReopenCase(case_id=case_id, reason=f"Fictief heropend {tag}-{n}"))
    world.actors += [contact, school_contact, Actor(f"test-apc-{tag}", Role.COORDINATOR)]
    return case_id


@pytest.fixture
def world(container: Container) -> World:
    tag = _suffix()
    board = container.create_board(f"Fictief Bestuur {tag}")
    other = container.create_board(f"Fictief Ander Bestuur {tag}")
    a = container.create_school(board.slug, f"Fictieve School A {tag}")
    b = container.create_school(board.slug, f"Fictieve School B {tag}")
    c = container.create_school(other.slug, f"Fictieve School C {tag}")
    w = World(a, b, c, {}, [], [], [], {})
    for school, specs, letter in ((a, SPECS_A, "a"), (b, SPECS_B, "b"), (c, SPECS_C, "c")):
        w.cases[school.id] = []
        for n, spec in enumerate(specs):
            w.cases[school.id].append(_build_case(container, school, spec, n, w, tag + letter))
            catch_up_school(container, school.id)  # incremental: one catch-up per case
    return w


def _month(w: World) -> date:
    months = {d.replace(day=1) for d in w.reported_on.values()}
    if len(months) != 1:
        pytest.skip("the cases of this test straddle a month boundary")
    return months.pop()


def _async_connect(database_url: str) -> Any:
    params = conninfo_to_dict(database_url)
    kwargs = {
        {"dbname": "database"}.get(k, k): v
        for k, v in params.items()
        if k in {"host", "port", "user", "password", "dbname"} and v not in (None, "")
    }
    if "port" in kwargs:
        kwargs["port"] = int(str(kwargs["port"]))
    return asyncpg.connect(**kwargs)


def _query(database_url: str, name: str, *args: Any, **kwargs: Any) -> list[StatCell]:
    async def run() -> list[StatCell]:
        conn = await _async_connect(database_url)
        try:
            result: list[StatCell] = await getattr(queries, name)(conn, *args, **kwargs)
            return result
        finally:
            await conn.close()

    return asyncio.run(run())


def _expected(specs: list[Spec]) -> dict[tuple[str, str | None], Any]:
    """Raw expectations computed from the specs alone (an oracle independent of the SQL)."""
    e: dict[tuple[str, str | None], Any] = {
        ("new_cases", None): len(specs),
        ("reopened", None): sum(s.reopen for s in specs),
        ("police_advised", None): sum(s.police for s in specs),
        ("closed", None): sum(s.close is not None and not s.reopen for s in specs),
    }
    for kind in vocabulary.ReporterKind:
        e["by_reporter_kind", kind.value] = sum(s.reporter == kind for s in specs)
    for form in vocabulary.Form:
        e["by_form", form.value] = sum(form in s.forms for s in specs)
    for loc in vocabulary.Location:
        e["by_location", loc.value] = sum(loc in s.locations for s in specs)
    for level in vocabulary.ComplaintLevel:
        e["complaints", level.value] = sum(level in s.complaint_levels for s in specs)
    intakes = [s.intake_after for s in specs if s.intake_after is not None]
    e["median_days_to_intake", None] = float(statistics.median(intakes)) if intakes else None
    aftercare = [s.follow_up_stopped for s in specs if s.follow_up_stopped is not None and
                 not s.reopen]  # fmt: skip
    e["aftercare_stopped_share", None] = sum(aftercare) / len(aftercare) if aftercare else None
    closed = sum(s.close is not None and not s.reopen for s in specs)
    e["median_days_to_close", None] = 0.0 if closed else None  # closed on the day of the report
    return e


def _platform_rows(database_url: str, school_ids: list[UUID]) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT * FROM platform.stats_cases WHERE school_id = ANY(%s)"
            " ORDER BY school_id, case_key",
            (school_ids,),
        ).fetchall()


def test_statistics_match_hand_computed_numbers(world: World, database_url: str) -> None:
    month = _month(world)
    a = world.a.id
    cells = _query(database_url, "monthly", [a], first_month=month, last_month=month,
                   threshold=1)  # fmt: skip
    assert {c.school_id for c in cells} == {a}
    assert not any(c.suppressed for c in cells)
    # By hand, for school A (see SPECS_A):
    assert cell(cells, "new_cases", school_id=a).value == 6
    assert cell(cells, "by_form", "physical", school_id=a).value == 5
    assert cell(cells, "by_form", "verbal", school_id=a).value == 3
    assert cell(cells, "by_form", "relational", school_id=a).value == 0
    assert cell(cells, "by_location", "schoolyard", school_id=a).value == 3
    assert cell(cells, "by_reporter_kind", "parent", school_id=a).value == 3
    assert cell(cells, "median_days_to_intake", school_id=a).value == 2.0  # of 0, 1, 2, 4, 7
    # Aftercare: case 1 stopped, case 3 not, case 5 stopped; case 2's result was superseded.
    assert cell(cells, "aftercare_stopped_share", school_id=a).value == pytest.approx(2 / 3)
    assert cell(cells, "reopened", school_id=a).value == 1
    assert cell(cells, "complaints", "management", school_id=a).value == 2
    assert cell(cells, "complaints", "board", school_id=a).value == 1
    assert cell(cells, "complaints", "committee", school_id=a).value == 0
    assert cell(cells, "police_advised", school_id=a).value == 1
    assert cell(cells, "closed", school_id=a).value == 2  # case 2 was reopened
    assert cell(cells, "median_days_to_close", school_id=a).value == 0.0
    # Every cell, against the oracle.
    expected = _expected(SPECS_A)
    assert {(c.measure, c.category): c.value for c in cells} == pytest.approx(expected)

    # Board totals (A + B), unsuppressed: sums of counts, medians over the pooled cases.
    both = _query(database_url, "board_totals", [a, world.b.id], first_month=month,
                  last_month=month, threshold=1)  # fmt: skip
    assert {c.school_id for c in both} == {None}
    assert {(c.measure, c.category): c.value for c in both} == pytest.approx(
        _expected(SPECS_A + SPECS_B)
    )
    # Rows carry the opaque key, never the case id.
    rows = _platform_rows(database_url, [a])
    keys = {r[1] for r in rows}
    assert keys == {case_key(case_id, a) for case_id in world.cases[a]}
    assert all(re.fullmatch(r"[0-9a-f]{16}", k) for k in keys)


def test_suppression_below_threshold_not_at_or_above(world: World, database_url: str) -> None:
    month = _month(world)
    a, b = world.a.id, world.b.id
    cells = _query(database_url, "monthly", [a, b], first_month=month, last_month=month)

    def get(measure: str, category: str | None = None, school: UUID = a) -> StatCell:
        return cell(cells, measure, category, school_id=school, month=month)

    assert get("new_cases") == StatCell(a, month, "new_cases", None, 6, False)
    assert get("by_form", "physical") == StatCell(a, month, "by_form", "physical", 5, False)
    assert get("by_form", "verbal") == StatCell(a, month, "by_form", "verbal", None, True)
    assert get("by_form", "online").suppressed  # 1
    assert get("by_form", "relational") == StatCell(a, month, "by_form", "relational", 0, False)
    assert get("by_reporter_kind", "parent").suppressed  # 3
    assert get("median_days_to_intake").value == 2.0  # over 5 intakes: shown
    assert get("aftercare_stopped_share").suppressed  # over 3 results
    assert get("reopened").suppressed
    assert get("police_advised").suppressed
    assert get("closed").suppressed  # 2
    assert get("median_days_to_close").suppressed  # over 2 closed cases
    assert get("complaints", "committee") == StatCell(a, month, "complaints", "committee", 0,
                                                      False)  # fmt: skip
    assert get("new_cases", school=b).value == 5
    assert get("median_days_to_intake", school=b) == StatCell(
        b, month, "median_days_to_intake", None, None, False
    )  # no intakes at all: nothing to hide
    # The rule, on every cell: a count is suppressed exactly when it is 1..4.
    raw = _query(database_url, "monthly", [a, b], first_month=month, last_month=month,
                 threshold=1)  # fmt: skip
    assert [(c.school_id, c.measure, c.category) for c in cells] == [
        (c.school_id, c.measure, c.category) for c in raw
    ]
    # Reporter kinds add up to the new cases: one of them 1..4 hides them all (zeros too).
    kinds_hidden = {
        school: any(
            0 < c.value < 5
            for c in raw
            if c.school_id == school and c.measure == "by_reporter_kind"
        )
        for school in (a, b)
    }
    for shown, unsuppressed in zip(cells, raw, strict=True):
        if shown.measure in _COUNTS:
            assert isinstance(unsuppressed.value, int)
            if shown.measure == "by_reporter_kind":
                assert shown.suppressed == kinds_hidden[shown.school_id], shown  # type: ignore[index]
            else:
                assert shown.suppressed == (0 < unsuppressed.value < 5), shown
            assert shown.value == (None if shown.suppressed else unsuppressed.value)

    # The threshold is configurable; at the threshold a median/share is shown.
    three = _query(database_url, "monthly", [a], first_month=month, last_month=month,
                   threshold=3)  # fmt: skip
    share = cell(three, "aftercare_stopped_share", school_id=a)
    # 2 of 3 stopped: over 3 results, but the 1 not stopped is below 3, so not computed.
    assert share.value is None
    assert share.suppressed
    assert cell(three, "by_form", "verbal", school_id=a).value == 3
    assert cell(three, "closed", school_id=a).suppressed

    # Board totals: 11 new cases; physical 5 (A) + 2 (B, suppressed) = 7, but shown the total
    # would reveal B's 2, so it is suppressed; verbal 3 + 3 = 6 hides 6 >= 5: shown.
    totals = _query(database_url, "board_totals", [a, b], first_month=month, last_month=month)
    assert cell(totals, "new_cases", month=month).value == 11
    assert cell(totals, "by_form", "physical", month=month).suppressed
    assert cell(totals, "by_form", "verbal", month=month).value == 6
    assert cell(totals, "by_form", "relational", month=month).value is None  # 2 in B
    assert cell(totals, "median_days_to_intake", month=month).value == 2.0
    # The operators' aggregate covers at least these schools (others may share the database).
    everyone = _query(database_url, "all_schools", first_month=month, last_month=month)
    assert {c.school_id for c in everyone} == {None}
    new_cases = cell(everyone, "new_cases", month=month)
    assert new_cases.value is None or new_cases.value >= 13


_COUNTS = {"new_cases", "by_form", "by_location", "by_reporter_kind", "reopened", "complaints",
           "police_advised", "closed"}  # fmt: skip


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, UUID):
        yield str(value)
    elif isinstance(value, date):
        yield value.isoformat()
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _strings(v)


def _vocabulary() -> set[str]:
    words: set[str] = {r.value for r in Role}
    for kind in vars(vocabulary).values():
        if isinstance(kind, type) and issubclass(kind, StrEnum):
            words |= {v.value for v in kind}
    return words


TEXTUAL = {"text", "character varying", "ARRAY", "jsonb", "json", "USER-DEFINED"}


def _columns(conn: psycopg.Connection[Any], schema: str) -> list[tuple[str, str, str]]:
    return [
        (t, c, d)
        for t, c, d in conn.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE'"
            " ORDER BY c.table_name, c.ordinal_position",
            (schema,),
        ).fetchall()
    ]


def _scan(
    conn: psycopg.Connection[Any], schema: str, forbidden: set[str]
) -> tuple[list[tuple[str, str, str]], set[tuple[str, str]]]:
    """Every textual value (text, arrays, json) of every table of ``schema`` checked for a pupil
    reference (``LL-...``) or any forbidden string; bytea values (encrypted event payloads, as
    in the registry's event table) are checked for the forbidden strings as plain bytes.
    Returns the hits (table, column, what) and the (table, column) pairs that held values."""
    hits: list[tuple[str, str, str]] = []
    scanned: set[tuple[str, str]] = set()
    for table, column, data_type in _columns(conn, schema):
        if data_type not in TEXTUAL and data_type != "bytea":
            continue
        cast = SQL("::text") if data_type in TEXTUAL else SQL("")
        query = SQL("SELECT {}{} FROM {} WHERE {} IS NOT NULL").format(
            Identifier(column), cast, Identifier(schema, table), Identifier(column)
        )
        for (value,) in conn.execute(query):
            scanned.add((table, column))
            if data_type == "bytea":
                data = bytes(value)
                hits += [(table, column, s) for s in forbidden if s.encode() in data]
                continue
            if re.search(r"LL-\w", value):
                hits.append((table, column, "LL-..."))
            hits += [(table, column, s) for s in forbidden if s in value]
    return hits, scanned


def test_no_pupil_data_user_id_or_free_text_in_the_platform_schema(
    world: World, container: Container, database_url: str
) -> None:
    # Every string value of every event written by this test, minus the fixed vocabularies
    # (which the statistics are made of) and the school ids (which key them).
    forbidden: set[str] = set()
    for school_id, case_ids in world.cases.items():
        app = container.schools.get(school_id)
        for case_id in case_ids:
            for event in app.events.get(case_id):
                # Values only: field names ("role", "school_id") are no data, and other
                # platform tables (the web sessions) use the same words as JSON keys.
                forbidden |= set(_strings(list(vars(event).values())))
    forbidden |= {a.user_id for a in world.actors} | set(world.pupil_refs)
    forbidden |= set(world.display_names)
    forbidden -= _vocabulary() | {str(s) for s in world.cases}
    forbidden = {s for s in forbidden if len(s) >= 4}
    assert any(s.startswith("Fictieve melding") for s in forbidden)  # the scan has teeth
    assert set(world.pupil_refs) <= forbidden

    with psycopg.connect(database_url) as conn:
        columns = _columns(conn, "platform")
        # The statistics table holds exactly the anonymous columns, and no id but the school's.
        stats = [(c, t) for table, c, t in columns if table == "stats_cases"]
        assert [c for c, _ in stats] == list(COLUMNS)
        assert [c for c, t in stats if t == "uuid"] == ["school_id"]
        hits, scanned = _scan(conn, "platform", forbidden)
        assert hits == []
        assert ("stats_cases", "case_key") in scanned
        assert ("stats_cases", "forms") in scanned
        # The same scan on the school's own schema finds the case data there: it has teeth.
        school_hits, _ = _scan(conn, world.a.schema_name, forbidden)
        assert any(table == "cases" for table, _, _ in school_hits)
        # The platform rows of the cases really are there (the scan looked at something).
        count = conn.execute(
            "SELECT count(*) FROM platform.stats_cases WHERE school_id = ANY(%s)",
            (list(world.cases),),
        ).fetchone()
        assert count == (13,)


def test_replay_equals_live_and_rebuild_leaves_other_schools_alone(
    world: World, container: Container, database_url: str
) -> None:
    a, b, c = world.a.id, world.b.id, world.c.id
    for school in (a, b, c):
        assert verify_school(container, school, STATS) == []
    others_before = _platform_rows(database_url, [b, c])
    mine_before = _platform_rows(database_url, [a])
    assert len(others_before) == 7
    assert len(mine_before) == 6

    # More events after the first catch-ups, then an incremental catch-up: still equal.
    service = CaseService(container.schools.get(a), a)
    contact = world.actors[0]
    reopened = world.cases[a][0]
    service.handle(contact, ReopenCase(case_id=reopened, reason="Fictief opnieuw geopend"))
    catch_up_school(container, a)
    assert verify_school(container, a, STATS) == []
    row = next(r for r in _platform_rows(database_url, [a]) if r[1] == case_key(reopened, a))
    assert row[COLUMNS.index("reopened")] == 1
    assert row[COLUMNS.index("month_closed")] is None
    assert row[COLUMNS.index("aftercare_stopped")] is None

    # A drifted live row is found by verify and repaired by a rebuild.
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE platform.stats_cases SET police_advised = NOT police_advised"
            " WHERE school_id = %s AND case_key = %s",
            (a, case_key(world.cases[a][3], a)),
        )
    assert verify_school(container, a, STATS) == [
        "board_stats.stats_cases: 1 rows only live",
        "board_stats.stats_cases: 1 rows only rebuilt",
    ]
    applied = rebuild_school(container, a, STATS)
    assert applied > 0
    assert verify_school(container, a, STATS) == []
    mine_after = _platform_rows(database_url, [a])
    assert len(mine_after) == 6
    assert _platform_rows(database_url, [b, c]) == others_before
    # Nothing staged is left behind in the school's schema.
    with psycopg.connect(database_url) as conn:
        left = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
            " AND table_name LIKE 'stats_%%'",
            (world.a.schema_name,),
        ).fetchall()
    assert sorted(t for (t,) in left) == ["stats_case_state"]
    # A second catch-up applies nothing and changes nothing (exactly once).
    assert catch_up_school(container, a) == 0
    assert _platform_rows(database_url, [a]) == mine_after


def test_platform_rows_commit_with_the_schools_position(
    container: Container, database_url: str
) -> None:
    """A crash after the rows were written but before the batch committed leaves neither the
    platform rows nor the position: the event is applied exactly once, on the retry."""
    tag = _suffix()
    board = container.create_board(f"Fictief Crashbestuur {tag}")
    school = container.create_school(board.slug, f"Fictieve Crashschool {tag}")
    service = CaseService(container.schools.get(school.id), school.id)
    contact = Actor(f"test-cp-{tag}", Role.CONTACT_PERSON)
    case_id = service.report(contact, ReportCase(reporter_kind="staff", summary="Fictief."))
    target = ensure_school_views(container, school.id)
    mapper = container.schools.get(school.id).read_side_mapper()

    def crash() -> None:
        raise RuntimeError("fictieve crash")

    with container.pool.connection() as conn, pytest.raises(RuntimeError, match="crash"):
        catch_up_batch(conn, target, mapper, STATS, after_process=crash)
    assert _platform_rows(database_url, [school.id]) == []
    with container.pool.connection() as conn:
        assert positions(conn, school.schema_name)["board_stats"] == 0
    assert catch_up_school(container, school.id) == 1
    assert catch_up_school(container, school.id) == 0
    [row] = _platform_rows(database_url, [school.id])
    assert row[:2] == (school.id, case_key(case_id, school.id))
