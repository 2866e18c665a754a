"""The yearly report over the API: the same suppressed figures as the pages and downloads, the
school's lesson titles only for roles that read lessons, the board's lesson counts only as
numbers; a bad school year is refused."""

from __future__ import annotations

from typing import Any

import pytest

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from services.access.roles import Role
from services.casework.commands import ReportCase
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from tests.integration.readside import today
from tests.integration.test_yearly_report import _year_of
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    bearer,
    configure_fake_login,
    make_world,
    web_client,
)

pytestmark = pytest.mark.integration


def _cell(cells: list[dict[str, Any]], school_id: Any, measure: str) -> dict[str, Any]:
    [found] = [
        c
        for c in cells
        if c["school_id"] == school_id and c["measure"] == measure and c["category"] is None
        and c["month"].endswith("-08-01") and c["month"].startswith(_year_of(today())[:4])
    ]  # fmt: skip
    return found


def test_the_yearly_report_through_the_api(container: Container) -> None:
    world = make_world(container, "jaar-api")
    a, b = world.school_a, world.school_b
    issuer_a = FakeIssuer(f"https://idp.test/{a.slug}", "vangnet-api")
    configure_fake_login(container, a, issuer_a)
    # School B: two reports this school year (hidden), School A: none (a true 0).
    service = CaseService(container.schools.get(b.id), b.id)
    contact = Actor(user_id=f"test-{b.slug}-contact_person", role=Role.CONTACT_PERSON)
    for n in range(2):
        service.report(contact, ReportCase(reporter_kind="parent", summary=f"Fictief {n}."))
    catch_up_school(container, b.id)
    current = _year_of(today())

    with web_client(container, http_transport=Issuers(issuer_a).transport) as client:
        board = client.get(
            "/api/stats/board/yearly",
            params={"school_year": current},
            headers=bearer(issuer_a, a, Role.BOARD),
        )
        assert board.status_code == 200, board.text
        body = board.json()
        assert (body["school_year"], body["previous_year"][-4:]) == (current, current[:4])
        assert {s["slug"] for s in body["schools"]} == {a.slug, b.slug}
        hidden = _cell(body["cells"], str(b.id), "new_cases")
        assert (hidden["value"], hidden["suppressed"]) == (None, True)
        assert _cell(body["cells"], str(a.id), "new_cases")["value"] == 0
        # The board total would give School B's 2 back (minus School A's 0): hidden too.
        assert _cell(body["cells"], None, "new_cases")["suppressed"]
        assert "Fictief" not in board.text
        assert all(c["value"] is None or c["value"] == 0 or c["value"] >= 5
                   for c in body["cells"] if c["measure"] in ("new_cases", "closed"))  # fmt: skip
        assert {c["school_id"]: c["count"] for c in body["lesson_counts"]} == {
            str(a.id): 0, str(b.id): 0,
        }  # fmt: skip

        coordinator = bearer(issuer_a, a, Role.COORDINATOR)
        school = client.get("/api/stats/school/yearly", headers=coordinator)
        assert school.status_code == 200, school.text
        assert school.json()["school_year"] == current  # the current one by default
        assert school.json()["lesson_titles"] == []  # reads lessons: a list (none this year)
        safety = bearer(issuer_a, a, Role.SAFETY_COORDINATOR)
        assert (
            client.get("/api/stats/school/yearly", headers=safety).json()["lesson_titles"] is None
        )
        assert {c["school_id"] for c in school.json()["cells"]} <= {str(a.id), None}

        refused = client.get("/api/stats/school/yearly?school_year=2025-2027", headers=coordinator)
        assert refused.status_code == 422, refused.text
        assert client.get("/api/stats/school/yearly?school_year=25-26",
                          headers=coordinator).status_code == 400  # fmt: skip
        teacher = bearer(issuer_a, a, Role.TEACHER)
        assert client.get("/api/stats/school/yearly", headers=teacher).status_code == 403
        assert client.get("/api/stats/board/yearly", headers=coordinator).status_code == 403
