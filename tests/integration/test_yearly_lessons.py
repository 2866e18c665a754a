"""Lessons learned in the yearly report (issue 15 §2), on real PostgreSQL: the school's report
(page, CSV, PDF) lists the titles of this school year's lessons, opened as it renders; the
board's report shows only how many lessons each school learned, never their text. All names
and texts are fictitious."""

from __future__ import annotations

import csv
import io
from datetime import date
from uuid import uuid4

import pytest

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from services.access.roles import Role
from services.casework.commands import EvaluateCase, ReportCase
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from tests.integration.readside import today
from tests.integration.test_exports import pdf_text
from tests.integration.web import log_in, make_world, principal, web_client

pytestmark = pytest.mark.integration


def _year(day: date) -> str:
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{start + 1}"


def test_the_school_report_lists_lesson_titles_and_the_board_only_counts(
    container: Container,
) -> None:
    world = make_world(container, "yearly-lessons")
    a = world.school_a
    contact = Actor(user_id=f"test-{a.slug}-contact_person", role=Role.CONTACT_PERSON)
    service = CaseService(container.schools.get(a.id), a.id)
    tag = uuid4().hex[:6]
    title = f"Fictief leerpunt {tag}: ouders eerder bellen"
    case_id = service.report(contact, ReportCase(reporter_kind="parent", summary="Fictief"))
    service.handle(
        contact,
        EvaluateCase(case_id=case_id, went_well="Fictief", to_improve="Fictief",
                     lessons=[title, f"Fictief tweede leerpunt {tag}"]),
    )  # fmt: skip
    catch_up_school(container, a.id)
    year = _year(today())

    with web_client(container) as client:
        log_in(client, principal(a, Role.COORDINATOR))
        page = client.get(f"/school/jaarverslag?schooljaar={year}")
        assert page.status_code == 200
        assert "Leerpunten uit de evaluaties" in page.text
        assert title in page.text
        data = client.get(f"/school/jaarverslag.csv?schooljaar={year}").content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(data), delimiter=";"))
        assert ["School A", year, "Leerpunt", title] in rows
        assert title in pdf_text(client.get(f"/school/jaarverslag.pdf?schooljaar={year}").content)
        # Last year had none.
        last = f"{int(year[:4]) - 1}-{year[:4]}"
        assert title not in client.get(f"/school/jaarverslag?schooljaar={last}").text

        # The passage's key destroyed (as an erasure does): the title reads [gewist].
        keys = container.schools.get(a.id).content_keys
        assert keys is not None
        keys.destroy_case(case_id)
        page = client.get(f"/school/jaarverslag?schooljaar={year}")
        assert title not in page.text
        assert "<li>[gewist]</li>" in page.text

    with web_client(container) as client:
        log_in(client, principal(a, Role.BOARD))
        page = client.get(f"/bestuur/jaarverslag?schooljaar={year}").text
        assert "Leerpunten per school" in page
        assert tag not in page
        data = client.get(f"/bestuur/jaarverslag.csv?schooljaar={year}").content.decode("utf-8-sig")
        assert tag not in data
        rows = list(csv.reader(io.StringIO(data), delimiter=";"))
        assert ["School A", year, "Leerpunten (aantal)", "<5"] in rows  # two: suppressed
        assert ["School B", year, "Leerpunten (aantal)", "0"] in rows
        assert tag not in pdf_text(
            client.get(f"/bestuur/jaarverslag.pdf?schooljaar={year}").content
        )
