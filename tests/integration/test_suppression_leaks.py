"""Leaks of hidden counts found in the suppression audit, closed (issue 15 §2), through HTTP.

One board with three schools, all fictitious, every case reported this month:

- School A: 6 new cases, 5 reported by a parent and 1 by staff; aftercare on 5 of them found
  the bullying stopped in 4. Before: the share 80% (with 6 new cases the basis can only be 5)
  gave "1 not stopped" back, and 6 new cases minus 5 by parents gave the 1 by staff back.
- Schools B and C: 4 new cases each (hidden). Before: the board total of 14 minus A's 6 gave
  8 = 4 + 4, so both hidden counts were 4.
"""

from __future__ import annotations

import html
import re
from typing import Any
from uuid import UUID, uuid4

import pytest

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school, ensure_school_views
from projections.yearly_report import SchoolYear
from services.access.roles import Role
from tests.integration.test_board_stats import Spec, World, _build_case, _month
from tests.integration.test_pages import browser
from tests.integration.web import (
    FakeIssuer,
    bearer,
    configure_fake_login,
    principal,
    web_client,
)

pytestmark = pytest.mark.integration

SPECS_A = [
    *(Spec("parent", intake_after=1, follow_up_stopped=True) for _ in range(4)),
    Spec("parent", intake_after=1, follow_up_stopped=False),
    Spec("staff"),
]


@pytest.fixture
def leaky(container: Container) -> World:
    tag = uuid4().hex[:8]
    board = container.create_board(f"Fictief Lekbestuur {tag}")
    a = container.create_school(board.slug, f"Fictieve Lekschool A {tag}")
    b = container.create_school(board.slug, f"Fictieve Lekschool B {tag}")
    c = container.create_school(board.slug, f"Fictieve Lekschool C {tag}")
    w = World(a, b, c, {}, [], [], [], {})
    for school, specs, letter in (
        (a, SPECS_A, "a"),
        (b, [Spec("parent")] * 4, "b"),
        (c, [Spec("peer")] * 4, "c"),
    ):
        ensure_school_views(container, school.id)
        w.cases[school.id] = [
            _build_case(container, school, spec, n, w, tag + letter) for n, spec in enumerate(specs)
        ]
        catch_up_school(container, school.id)
    return w


def _cells(found: list[dict[str, Any]], school: UUID | None, measure: str) -> list[dict[str, Any]]:
    wanted = str(school) if school else None
    return [c for c in found if c["school_id"] == wanted and c["measure"] == measure]


def _api(container: Container, w: World, role: Role, url: str) -> Any:
    issuer = FakeIssuer(f"https://idp.test/{w.a.slug}", "vangnet-api")
    configure_fake_login(container, w.a, issuer)
    with web_client(container, http_transport=issuer.transport) as client:
        response = client.get(url, headers=bearer(issuer, w.a, role))
        assert response.status_code == 200, response.text
        return response.json()


def _row(page: str, table_id: str, label: str) -> list[str]:
    """The texts of one row of a statistics table on a page."""
    table = re.search(rf'<table class="stats" id="{table_id}">(.*?)</table>', page, re.S)
    assert table, table_id
    row = re.search(
        rf"<th scope=\"row\">{re.escape(html.escape(label))}</th>(.*?)</tr>", table.group(1), re.S
    )
    assert row, label
    return [html.unescape(re.sub(r"<[^>]+>", "", td)).strip() for td in re.findall(
        r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]  # fmt: skip


def test_the_board_api_and_page_give_no_hidden_count_back(
    leaky: World, container: Container
) -> None:
    month = _month(leaky).isoformat()
    a = leaky.a.id
    found = _api(container, leaky, Role.BOARD, "/api/stats/board?months=1")
    per_school, totals = found["per_school"], found["totals"]

    (new_a,) = _cells(per_school, a, "new_cases")
    assert (new_a["value"], new_a["suppressed"]) == (6, False)
    # The share over 5 results with 1 not stopped: not computed (was 0.8).
    (share,) = _cells(per_school, a, "aftercare_stopped_share")
    assert (share["value"], share["suppressed"]) == (None, True)
    # Reporter kinds: 6 - 5 by parents would give the 1 by staff: all kinds hidden.
    kinds = _cells(per_school, a, "by_reporter_kind")
    assert len(kinds) == 6
    assert all(k["suppressed"] and k["value"] is None for k in kinds), kinds
    # B and C: 4 each, hidden; the board total 14 - 6 would give 8 = 4 + 4: hidden.
    for school in (leaky.b.id, leaky.c.id):
        (n,) = _cells(per_school, school, "new_cases")
        assert n["suppressed"]
    (total,) = [c for c in _cells(totals, None, "new_cases") if c["month"] == month]
    assert (total["value"], total["suppressed"]) == (None, True)
    total_kinds = [c for c in _cells(totals, None, "by_reporter_kind") if c["month"] == month]
    assert all(k["suppressed"] for k in total_kinds), total_kinds

    with browser(container, principal(leaky.a, Role.BOARD)) as br:
        page = br.get("/bestuur/statistiek?months=1")
        slug = leaky.a.slug
        share_label = "Nazorg: aandeel waarin het pesten gestopt is"
        assert _row(page, f"cijfers-{slug}", share_label) == ["te weinig zaken"]
        assert _row(page, f"cijfers-{slug}", "Nieuwe meldingen") == ["6"]
        assert "80%" not in page
        assert _row(page, "cijfers-bestuur", "Nieuwe meldingen") == ["<5"]
        assert _row(page, "cijfers-bestuur", "Gemeld door: ouder") == ["<5"]


def test_the_school_page_gives_no_hidden_reporter_kind_back(
    leaky: World, container: Container
) -> None:
    with browser(container, principal(leaky.a, Role.COORDINATOR)) as br:
        page = br.get("/school/statistiek?months=1")
        assert _row(page, "cijfers-school", "Nieuwe meldingen") == ["6"]
        # 5 by parents shown would give 6 - 5 = 1 by staff back.
        assert _row(page, "cijfers-school", "Gemeld door: ouder") == ["<5"]
        assert _row(page, "cijfers-school", "Gemeld door: medewerker") == ["<5"]
        share_label = "Nazorg: aandeel waarin het pesten gestopt is"
        assert _row(page, "cijfers-school", share_label) == ["te weinig zaken"]
    found = _api(container, leaky, Role.COORDINATOR, "/api/stats/school?months=1")
    (share,) = _cells(found, leaky.a.id, "aftercare_stopped_share")
    assert share["suppressed"]


def test_the_board_yearly_csv_gives_no_hidden_school_back(
    leaky: World, container: Container
) -> None:
    """The year's board total of new cases: 14 - 6 (A) = 8 would be B's 4 and C's 4."""
    with browser(container, principal(leaky.a, Role.BOARD)) as br:
        response = br.client.get("/bestuur/jaarverslag.csv")
        assert response.status_code == 200, response.text
    lines = [line.split(";") for line in response.text.lstrip("\ufeff").splitlines()]
    year = str(SchoolYear.containing(_month(leaky)))
    new_cases = {
        unit: value
        for unit, school_year, label, value in lines
        if school_year == year and label == "Nieuwe meldingen"
    }
    assert new_cases[leaky.a.name] == "6"
    assert new_cases[leaky.b.name] == new_cases[leaky.c.name] == "<5"
    assert new_cases["alle scholen samen"] == "<5"
