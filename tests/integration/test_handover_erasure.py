"""A received copy erased (issue 15 §5), on real PostgreSQL through the web edge: the pupil's
name and the case text are sealed with keys of the file's own; after the retention run (the
``keep_until`` passed) or the receiving contact person's early erasure, a pg_dump of the whole
database and the stored events opened with the school's key hold neither, the inbox keeps the
record ("[gewist]"), and the chain still verifies. Every name is fictitious."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from infra.adapters.audit.integrity import verify_school
from infra.adapters.schools import casework_env
from infra.bootstrap.container import Container
from infra.bootstrap.retention import expire_school
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from services.access.roles import Role
from services.casework.application import CaseworkApplication
from services.casework.sealing import ERASED
from services.handover.domain import ReceivedFile
from services.handover.service import Inbox
from services.shared.actor import acting_as
from services.shared.mapper import BoundMapper
from tests.integration.test_erasure import CONTACT, _school
from tests.integration.test_erasure import cli_env as cli_env  # noqa: PLC0414 (the fixture)
from tests.integration.test_erasure_everywhere import _dump
from tests.integration.test_pages import Browser
from tests.integration.test_pupils import Site
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    web_client,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    world = make_world(container, "hoerase")
    a = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    b = FakeIssuer(f"https://idp.test/{world.school_b.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, a)
    configure_fake_login(container, world.school_b, b)
    with web_client(container, http_transport=Issuers(a, b).transport) as client:
        yield Site(client, container, world, (a, b))


def _send(site: Site, name: str, text: str) -> str:
    """Hand a pupil called ``name`` over from school A to B, ``text`` in the case summary; the
    received file's id."""
    tag = uuid4().hex[:6]
    pupil = site.api("POST", "/api/pupils", Role.CONTACT_PERSON,
                     json={"reference": f"W-{tag}", "display_name": name})  # fmt: skip
    assert pupil.status_code == 201, pupil.text
    pupil_id = pupil.json()["pupil_id"]
    body = {"reporter_kind": "parent", "summary": text}
    case_id = site.api("POST", "/api/cases", Role.CONTACT_PERSON, json=body).json()["case_id"]
    assert site.add(case_id, pupil_id=pupil_id, role="target").status_code == 200
    catch_up_school(site.container, site.world.school_a.id)
    consent = {
        "to_school": site.world.school_b.slug,
        "pupil_consent_on": "2026-11-20",
        "parents_consent_by": "Fictieve ouders",
        "parents_consent_on": "2026-11-21",
    }
    sent = site.api("POST", f"/api/pupils/{pupil_id}/handover", Role.CONTACT_PERSON,
                    json=consent)  # fmt: skip
    assert sent.status_code == 201, sent.text
    return _file_of(site, name)


def _file_of(site: Site, name: str) -> str:
    listed = site.api("GET", "/api/handovers/received", Role.CONTACT_PERSON, school_b=True)
    [file_id] = [f["file_id"] for f in listed.json() if f["pupil_name"] == name]
    return str(file_id)


def _stored_plain(site: Site, file_id: str) -> str:
    """The file's stored events opened with the receiving school's key only (not its passage
    keys): what a copy "under the school's key" would give away."""
    app = site.container.schools.get(site.world.school_b.id)
    stored = app.recorder.select_events(UUID(file_id))
    return str([vars(BoundMapper.to_domain_event(app.mapper, s)) for s in stored])


def _keys_left(site: Site, file_id: str) -> int:
    """The passage keys of the file still in B's key table."""
    schema = site.world.school_b.schema_name
    with site.container.pool.connection() as conn:
        row: Any = conn.execute(
            f'SELECT count(*) AS n FROM "{schema}".content_keys WHERE case_id = %s',
            (UUID(file_id),),
        ).fetchone()
    return int(row["n"] if isinstance(row, dict) else row[0])


def _received(site: Site, file_id: str) -> Any:
    listed = site.api("GET", "/api/handovers/received", Role.CONTACT_PERSON, school_b=True)
    [found] = [f for f in listed.json() if f["file_id"] == file_id]
    return found


def test_the_retention_run_erases_a_received_copy_everywhere(site: Site) -> None:
    tag = uuid4().hex[:6]
    name = f"Fictieve Xandrina Bewaartijd{tag}"
    text = f"Fictieve ZAAKTEKST{tag} over Xandrina"
    file_id = _send(site, name, text)
    school_b = site.world.school_b
    dsn = site.container.settings.database_url
    assert dsn is not None

    # Kept: readable by B's contact person, sealed in the store (also under B's key).
    opened = site.api("GET", f"/api/handovers/received/{file_id}", Role.CONTACT_PERSON,
                      school_b=True)  # fmt: skip
    assert name in opened.text
    assert text in opened.text
    plain = _stored_plain(site, file_id)
    assert "sealed" in plain
    assert name not in plain
    assert f"ZAAKTEKST{tag}" not in plain
    assert _keys_left(site, file_id) == 2  # the name's and the documents'
    keep_until = date.fromisoformat(_received(site, file_id)["keep_until"])

    # The day of keep_until itself: kept.
    assert expire_school(site.container, school_b.id, today=keep_until).erased_received == []
    # The day after: erased (what `vangnet privacy expire` and the worker's daily run do).
    report = expire_school(site.container, school_b.id, today=keep_until + timedelta(days=1))
    assert report.erased_received == [UUID(file_id)]

    # Gone: the whole database, the stored events, the API; the record stays.
    dump = _dump(dsn)
    assert file_id in dump  # the dump does reach B's tables
    for needle in (name, f"Bewaartijd{tag}", f"ZAAKTEKST{tag}"):
        assert needle not in dump
    assert _keys_left(site, file_id) == 0
    item = _received(site, file_id)
    assert (item["pupil_name"], item["cases"], item["erase_reason"]) == (ERASED, 0, "retention")
    assert item["erased_at"] is not None
    opened = site.api("GET", f"/api/handovers/received/{file_id}", Role.CONTACT_PERSON,
                      school_b=True)  # fmt: skip
    assert opened.status_code == 200
    assert opened.json()["documents"] == []
    assert f"ZAAKTEKST{tag}" not in opened.text
    app_b = site.container.schools.get(school_b.id)
    kinds = [type(e).__name__ for e in app_b.events.get(UUID(file_id))]
    assert kinds == ["FileReceived", "ReceivedFileErased"]
    # The chain still verifies; running again erases nothing new.
    assert verify_school(site.container.pool, school_b).ok
    again = expire_school(site.container, school_b.id, today=keep_until + timedelta(days=1))
    assert again.erased_received == []

    # The inbox page shows the record as erased.
    browser = Browser(site.client)
    log_in(site.client, principal(school_b, Role.CONTACT_PERSON))
    listing = browser.get("/overdrachten")
    assert ERASED in listing
    assert "gewist op" in listing


def test_the_contact_person_erases_a_copy_early(site: Site) -> None:
    tag = uuid4().hex[:6]
    name = f"Fictieve Yolanthe Vroegweg{tag}"
    text = f"Fictieve VROEGTEKST{tag}"
    file_id = _send(site, name, text)
    school_b = site.world.school_b
    erase = f"/api/handovers/received/{file_id}/erase"
    # Refused: no reason or one not in the list (422, nothing erased); another role (403);
    # another school (404).
    for body in ({}, {"reason": ""}, {"reason": "zomaar"}, {"reason": "retention"}):
        refused = site.api("POST", erase, Role.CONTACT_PERSON, school_b=True, json=body)
        assert refused.status_code in (400, 422), (body, refused.text)
    assert site.api("POST", erase, Role.COORDINATOR, school_b=True,
                    json={"reason": "not_enrolled"}).status_code == 403  # fmt: skip
    assert site.api("POST", erase, Role.CONTACT_PERSON,
                    json={"reason": "not_enrolled"}).status_code == 404  # fmt: skip
    assert _received(site, file_id)["pupil_name"] == name

    # Through the page: a reason is chosen, then the list shows the erased record.
    browser = Browser(site.client)
    log_in(site.client, principal(school_b, Role.CONTACT_PERSON))
    page = browser.get(f"/overdrachten/{file_id}")
    assert "Dossier wissen" in page
    assert browser.post(f"/overdrachten/{file_id}/wissen", {}).status_code == 422
    listing = browser.submit(f"/overdrachten/{file_id}/wissen", {"reason": "not_enrolled"})
    assert "Het dossier is gewist" in listing
    assert name not in listing
    assert re.search(r"gewist op", listing)
    item = _received(site, file_id)
    assert (item["pupil_name"], item["erase_reason"]) == (ERASED, "not_enrolled")
    # Again through the API: nothing changes.
    again = site.api("POST", erase, Role.CONTACT_PERSON, school_b=True,
                     json={"reason": "not_needed"})  # fmt: skip
    assert again.status_code == 200
    assert again.json()["erase_reason"] == "not_enrolled"
    dsn = site.container.settings.database_url
    assert dsn is not None
    dump = _dump(dsn)
    assert name not in dump
    assert f"VROEGTEKST{tag}" not in dump
    assert verify_school(site.container.pool, school_b).ok


@pytest.mark.usefixtures("cli_env")
def test_a_copy_received_before_sealing_is_sealed_by_seal_old_then_erasable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings.from_env()
    name = f"Fictieve Oudewijn Ontvangen{uuid4().hex[:6]}"
    with Container.open(settings) as container:
        school = _school(container)
        legacy = CaseworkApplication(env=casework_env(school, settings.master_key))  # no keys
        inbox = Inbox(legacy, school.id)
        with acting_as(CONTACT):
            received = ReceivedFile(
                school_id=school.id,
                from_school_id=uuid4(),
                from_school_name="Fictieve Vorige School",
                handover_id=uuid4(),
                pupil_name=name,
                sent_by="Fictieve Afzender",
                sent_at=datetime.now(UTC),
                keep_until=date(2026, 1, 1),
                documents=[{"summary": f"Fictief over {name}"}],
            )
        inbox.deliver(received)
        app = container.schools.get(school.id)
        [stored] = app.recorder.select_events(received.id)
        assert name in str(vars(BoundMapper.to_domain_event(app.mapper, stored)))  # plain

    assert main(["privacy", "seal-old", "--school", school.slug]) == 0
    assert f"{school.slug}: 1 event(s), 1 sealed now" in capsys.readouterr().out

    with Container.open(settings) as container:
        app = container.schools.get(school.id)
        [stored] = app.recorder.select_events(received.id)
        assert name not in str(vars(BoundMapper.to_domain_event(app.mapper, stored)))
        assert Inbox(app, school.id).every()[0].pupil_name == name
        report = expire_school(container, school.id, today=date(2026, 1, 2))
        assert report.erased_received == [received.id]
        container.schools.clear()
        [erased] = Inbox(container.schools.get(school.id), school.id).every()
        assert (erased.pupil_name, erased.documents) == (ERASED, [])
        assert verify_school(container.pool, school).ok
