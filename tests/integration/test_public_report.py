"""Pupils and parents report and follow up themselves (issue 14 §3), through the pages: the
public form of a school, the follow-up code, the contact person's answer from the case page, the
signals until it is picked up, and the refusals (wrong codes, bursts, the honeypot, CSRF, unknown
schools, bad text, big bodies). All names and texts are fictitious.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from infra.entrypoints.web.edge import PUBLIC_FORM_MAX_BYTES
from infra.entrypoints.web.report_limits import ReportLimits
from services.access.roles import Role
from services.casework.commands import AssignOwner
from services.casework.handlers import CaseService
from services.reporting.codes import code_hash, code_key, parse_code
from services.shared.actor import Actor
from tests.integration.web import log_in, make_world, principal, web_client, web_settings

pytestmark = pytest.mark.integration

CODE = re.compile(r'<code id="volgcode">([^<]+)</code>')
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _token(page: str) -> str:
    found = TOKEN.search(page)
    assert found, page[:500]
    return found.group(1)


def form_page(client: TestClient, url: str) -> str:  # type: ignore[type-arg]
    """GET a public form as a first-time visitor does (a redirect gives them a session)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert "no-store" in response.headers["cache-control"]
    return response.text


def report(client: TestClient, slug: str, **fields: str) -> Any:  # type: ignore[type-arg]
    page = form_page(client, f"/melden/{slug}")
    data = {"reporter": "pupil_target", "anonymous": "ja", "website": "", **fields}
    return client.post(f"/melden/{slug}", data={**data, "_csrf_token": _token(page)})


def follow(client: TestClient, slug: str, code: str, message: str = "") -> Any:  # type: ignore[type-arg]
    page = form_page(client, f"/melden/{slug}/volgen")
    data = {"code": code, "bericht": message, "_csrf_token": _token(page)}
    return client.post(f"/melden/{slug}/volgen", data=data)


class Lines(logging.Handler):
    """The refusal log's lines (on its own logger: the app's logging setup replaces the root
    logger's handlers, pytest's capture among them)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def refusals() -> Iterator[list[str]]:
    handler = Lines()
    logger = logging.getLogger("vangnet.public_report")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


@contextmanager
def public_site(container: Container, prefix: str, **rates: str) -> Iterator[tuple[Any, Any]]:
    world = make_world(container, prefix)
    settings = dataclasses.replace(web_settings(container), **rates)
    with web_client(container, settings=settings) as client:
        yield world, client


def test_a_pupil_reports_anonymously_the_contact_person_answers_the_pupil_reads_it(
    container: Container, refusals: list[str]
) -> None:
    with public_site(container, "public-report") as (world, client):
        school = world.school_a
        page = form_page(client, f"/melden/{school.slug}")
        assert "Pesten melden" in page
        for danger in ("112", "0800-0432", "kindertelefoon.nl"):
            assert danger in page
        assert "<script" not in page.replace('<script src="/static/htmx.min.js" defer>', "")
        r = report(
            client,
            school.slug,
            what="Fictief: ze lachen me uit in de groepsapp",
            where="Online en op het plein",
            since="Sinds de herfstvakantie",
            who="Fictieve leerlingen uit groep 7",
            name="Naam die niet mag blijven",
        )
        assert r.status_code == 200, r.text[:1000]
        code = CODE.search(r.text)
        assert code, r.text[:1000]
        code_text = code.group(1)
        parsed = parse_code(code_text, code_key(container.settings.secret_key), school.id)
        assert parsed is not None
        case_id = parsed.case_id
        assert "content-security-policy" in r.headers
        catch_up_school(container, school.id)

        # The contact person sees the case, reported by the pupil, anonymously, with a signal.
        log_in(client, principal(school, Role.CONTACT_PERSON))
        case_page = client.get(f"/zaken/{case_id}").text
        assert "Berichten met de melder" in case_page
        assert "Melding via het meldformulier nog niet opgepakt" in case_page
        assert "anoniem, door een leerling (wordt zelf gepest)" in case_page
        assert "Naam die niet mag blijven" not in case_page  # anonymous: the name is dropped
        assert "Fictief: ze lachen me uit in de groepsapp" in case_page
        key = code_key(container.settings.secret_key)
        assert code_hash(key, school.id, parsed) not in case_page
        assert parsed.secret not in case_page
        listing = client.get("/zaken").text
        assert f'href="/zaken/{case_id}"' in listing

        # ... answers from the case page.
        form_url = f"/zaken/{case_id}/reply-to-reporter"
        reply = client.post(
            form_url,
            data={"text": "Fictief: dank je, ik kom morgen naar je toe.",
                  "_csrf_token": _token(client.get(form_url).text)},
            follow_redirects=False,
        )  # fmt: skip
        assert reply.status_code == 303, reply.text[:1000]

        # ... and picks it up: the signal goes.
        contact = Actor(f"test-{school.slug}-contact_person", Role.CONTACT_PERSON)
        service = CaseService(container.schools.get(school.id), school.id)
        owner = log_in(client, principal(school, Role.CONTACT_PERSON)).person_id
        assert owner is not None
        service.handle(contact, AssignOwner(case_id=case_id, owner_id=str(owner)))
        catch_up_school(container, school.id)
        assert "nog niet opgepakt" not in client.get(f"/zaken/{case_id}").text

    # The pupil, in a browser of their own, reads the answer with the code and writes back.
    with web_client(container, settings=web_settings(container)) as pupil:
        r = follow(pupil, school.slug, code_text)
        assert r.status_code == 200, r.text[:1000]
        assert '<strong id="melding-status">in behandeling</strong>' in r.text
        assert "Fictief: dank je, ik kom morgen naar je toe." in r.text
        assert "groepsapp" not in r.text  # the case itself is not shown
        r = follow(pupil, school.slug, code_text, message="Fictief: oké, tot morgen")
        assert r.status_code == 200
        assert "Fictief: oké, tot morgen" in r.text
    catch_up_school(container, school.id)
    with web_client(container, settings=web_settings(container)) as staff:
        log_in(staff, principal(school, Role.CONTACT_PERSON))
        page = staff.get(f"/zaken/{case_id}").text
        assert "Fictief: oké, tot morgen" in page
        assert "Bericht van de melder nog niet beantwoord" in page
        # The auditor's history lists the events without the code's hash.
        log_in(staff, principal(school, Role.AUDITOR))
        history = staff.get(f"/zaken/{case_id}/geschiedenis")
        assert history.status_code == 200
        assert "Bericht met de melder" in history.text
        assert "de melder" in history.text
        stored_hash = code_hash(code_key(container.settings.secret_key), school.id, parsed)
        assert stored_hash not in history.text
        # The report and the messages are the public form's, not an unknown operator's ...
        assert "Melder via het meldformulier" in history.text
        assert "[onbekend] (Platformbeheerder)" not in history.text
        assert "[onbekend] (Platformbeheerder)" not in page
        # ... and the two times the pupil read the status with the code are in the access log.
        reads = history.text.split('id="inzage-titel"', 1)[1]
        assert reads.count("melder: status en berichten (volgcode)") == 2
    assert refusals == []


def test_wrong_codes_and_bursts_are_refused_and_logged_without_the_code(
    container: Container, refusals: list[str]
) -> None:
    with public_site(container, "public-burst", code_rate_per_address="4/minute") as (w, client):
        school = w.school_a
        r = report(client, school.slug, what="Fictief gedoe in de klas")
        code = CODE.search(r.text)
        assert code
        good = code.group(1)
        parsed = parse_code(good, code_key(container.settings.secret_key), school.id)
        assert parsed is not None
        wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        r = follow(client, school.slug, wrong)
        assert r.status_code == 403
        assert "Deze code klopt niet" in r.text
        r = follow(client, school.slug, "zomaar-iets")
        assert r.status_code == 403
        # The other school does not know the code either.
        assert follow(client, w.school_b.slug, good).status_code == 403
        # A burst: past the limit even the right code is refused.
        statuses = [follow(client, school.slug, good).status_code for _ in range(3)]
        assert statuses[-1] == 429, statuses
        assert "te vaak" in follow(client, school.slug, good).text
    lines = refusals
    assert f"public report refused: school={school.slug} reason=mismatch" in lines
    assert f"public report refused: school={school.slug} reason=malformed" in lines
    assert f"public report refused: school={w.school_b.slug} reason=unknown" in lines
    assert f"public report refused: school={school.slug} reason=rate_address" in lines
    assert not [line for line in lines if good in line or wrong in line or "192." in line]


def test_per_code_limit_holds_across_addresses(container: Container) -> None:
    with public_site(container, "public-code", code_rate_per_code="2/minute") as (w, client):
        school = w.school_a
        code = CODE.search(report(client, school.slug, what="Fictief").text)
        assert code
        assert follow(client, school.slug, code.group(1)).status_code == 200
        assert follow(client, school.slug, code.group(1)).status_code == 200
        assert follow(client, school.slug, code.group(1)).status_code == 429


def test_refusals_store_nothing(container: Container, refusals: list[str]) -> None:
    with public_site(container, "public-refuse", report_rate_per_address="3/minute") as (w, c):
        school = w.school_a
        app = container.schools.get(school.id)
        before = len(app.recorder.select_notifications(start=None, limit=1000))

        def stored() -> int:
            return len(app.recorder.select_notifications(start=None, limit=1000)) - before

        # Unknown school: the plain 404 page.
        assert c.get(f"/melden/{school.slug}-nope").status_code == 404
        assert c.get("/melden/NIET%20BESTAAND").status_code == 404
        # The honeypot.
        r = report(c, school.slug, what="Fictief", website="http://spam.invalid")
        assert r.status_code == 400
        # Without the session's token.
        r = c.post(f"/melden/{school.slug}", data={"reporter": "parent", "what": "Fictief"})
        assert r.status_code == 403
        # Bad text, naming the field.
        r = report(c, school.slug, what="")
        assert r.status_code == 400
        assert 'id="m-what-error"' in r.text
        r = report(c, school.slug, what="Fictief", where="a\x00b")
        assert r.status_code == 400
        assert 'id="m-where-error"' in r.text
        r = report(c, school.slug, what="x" * 5000)
        assert r.status_code == 400
        # A body above the edge's limit.
        page = form_page(c, f"/melden/{school.slug}")
        r = c.post(
            f"/melden/{school.slug}",
            data={"what": "x" * (PUBLIC_FORM_MAX_BYTES + 10), "_csrf_token": _token(page)},
        )
        assert r.status_code == 413
        assert stored() == 0
        # Reports per address: the 4th within the minute is refused (3 were tried above and
        # counted, the honeypot and the tokenless one were not).
        r = report(c, school.slug, what="Fictief")
        assert r.status_code == 429
        assert stored() == 0
    assert f"public report refused: school={school.slug} reason=honeypot" in refusals
    assert f"public report refused: school={school.slug} reason=rate_report" in refusals


def test_limits_count_in_redis_across_processes() -> None:
    url = os.environ.get("VANGNET_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("VANGNET_TEST_REDIS_URL is not set in CI", pytrace=False)
        pytest.skip("VANGNET_TEST_REDIS_URL is not set")
    settings = dataclasses.replace(
        Settings(database_url=None, data_dir=Path(), master_key=b"k" * 32),
        report_rate_storage=url,
        code_rate_per_code="2/minute",
    )
    one, two = ReportLimits.from_settings(settings), ReportLimits.from_settings(settings)
    case_ref = str(uuid.uuid4())
    assert one.code_allowed("school-test", "192.0.2.1", case_ref) is None
    assert two.code_allowed("school-test", "192.0.2.2", case_ref) is None
    assert one.code_allowed("school-test", "192.0.2.3", case_ref) == "rate_code"
