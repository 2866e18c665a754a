"""Hand-over of a pupil's bullying file to their next school (issue 15 §5), through the web
edge on real PostgreSQL: refused without consent (422 naming the field, nothing sent), sent with
it (only the cases where the pupil is target, only what the receiving school needs), received
read-only by the other school's contact person (the read in *its* access log), confirmed, both
sides' records; a third party cannot read it. Every name is fictitious."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from infra.adapters.audit.integrity import verify_school
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.bootstrap.views import verify_school as verify_school_views
from services.access.roles import Role
from services.handover.domain import HandOver, ReceivedFile
from tests.integration.test_pages import Browser
from tests.integration.test_pupils import Site, _error_fields
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
    world = make_world(container, "handover")
    a = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    b = FakeIssuer(f"https://idp.test/{world.school_b.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, a)
    configure_fake_login(container, world.school_b, b)
    with web_client(container, http_transport=Issuers(a, b).transport) as client:
        yield Site(client, container, world, (a, b))


def _reads(site: Site, schema: str, file_id: str) -> list[tuple[str, str]]:
    with site.container.pool.connection() as conn:
        rows = conn.execute(
            f'SELECT role, what FROM "{schema}".case_reads WHERE case_id = %s', (UUID(file_id),)
        ).fetchall()
    return [(r["role"], r["what"]) for r in rows]


def _aggregates(site: Site, school_id: UUID, kind: type[Any]) -> list[Any]:
    app = site.container.schools.get(school_id)
    topic = f"{kind.__module__}:{kind.__qualname__}"
    notes = app.recorder.select_notifications(start=1, limit=1000, topics=[topic])
    return [app.repository.get(n.originator_id) for n in notes]


def test_a_file_is_handed_over_received_and_confirmed(site: Site) -> None:
    tag = uuid4().hex[:6]
    world = site.world
    school_a, school_b = world.school_a, world.school_b
    name = f"Fictieve Pupilla Overstap-{tag}"
    other = f"Fictieve Bram Zandloper{tag}"

    pupil = site.api("POST", "/api/pupils", Role.CONTACT_PERSON,
                     json={"reference": f"LLN-{tag}", "display_name": name})  # fmt: skip
    assert pupil.status_code == 201, pupil.text
    pupil_id = pupil.json()["pupil_id"]
    # Target in one case (with another pupil as actor); actor in another (not sent).
    body = {"reporter_kind": "parent", "summary": f"Fictieve MELDING{tag}"}
    target_case = site.api("POST", "/api/cases", Role.CONTACT_PERSON, json=body).json()["case_id"]
    actor_case = site.new_case()
    assert site.add(target_case, pupil_id=pupil_id, role="target").status_code == 200
    assert site.add(target_case, pupil_ref=f"ZL-{tag}", display_name=other,
                    role="actor").status_code == 200  # fmt: skip
    assert site.add(actor_case, pupil_id=pupil_id, role="actor").status_code == 200
    held = {"held_on": "2026-11-02", "summary": f"Fictief INTAKE{tag}"}
    intake = site.api("POST", f"/api/cases/{target_case}/hold-intake", Role.CONTACT_PERSON,
                      json=held)  # fmt: skip
    assert intake.status_code == 200, intake.text
    catch_up_school(site.container, school_a.id)

    send = f"/api/pupils/{pupil_id}/handover"
    consent = {
        "to_school": school_b.slug,
        "pupil_consent_on": "2026-11-20",
        "parents_consent_by": "Fictieve moeder",
        "parents_consent_on": "2026-11-21",
    }
    # Without either consent, or to no school of the platform: 422 naming the field, nothing sent.
    for field, value, reason in (
        ("pupil_consent_on", "", "required"),
        ("parents_consent_by", "", "required"),
        ("parents_consent_on", "", "required"),
        ("parents_consent_on", "gisteren", "not_a_date"),
        ("pupil_consent_on", "2999-01-01", "in_the_future"),
        ("to_school", "geen-school-hier", "unknown_school"),
        ("to_school", school_a.slug, "same_school"),
    ):
        refused = site.api("POST", send, Role.CONTACT_PERSON, json={**consent, field: value})
        assert refused.status_code == 422, (field, refused.text)
        assert (field, reason) in _error_fields(refused), refused.text
    assert site.api("GET", "/api/handovers/received", Role.CONTACT_PERSON,
                    school_b=True).json() == []  # fmt: skip
    assert _aggregates(site, school_a.id, HandOver.HandOverSent) == []
    # Only the contact person hands over.
    assert site.api("POST", send, Role.COORDINATOR, json=consent).status_code == 403

    # Sent: the sending school's record (consents, by whom, when) in its own log.
    sent = site.api("POST", send, Role.CONTACT_PERSON, json=consent)
    assert sent.status_code == 201, sent.text
    record = sent.json()
    assert record["case_ids"] == [target_case]
    assert (record["pupil_consent_on"], record["parents_consent_by"]) == (
        "2026-11-20",
        "Fictieve moeder",
    )
    assert record["confirmed_at"] is None
    [stored] = _aggregates(site, school_a.id, HandOver.HandOverSent)
    assert str(stored.id) == record["handover_id"]
    assert stored.to_school_id == school_b.id
    assert _aggregates(site, school_b.id, HandOver.HandOverSent) == []

    # Received: in school B's log, listed for B's contact person only.
    listed = site.api("GET", "/api/handovers/received", Role.CONTACT_PERSON, school_b=True)
    assert listed.status_code == 200
    [item] = listed.json()
    assert (item["pupil_name"], item["from_school"], item["cases"]) == (name, school_a.name, 1)
    file_id = item["file_id"]
    [received] = _aggregates(site, school_b.id, ReceivedFile.FileReceived)
    assert str(received.id) == file_id
    assert _aggregates(site, school_a.id, ReceivedFile.FileReceived) == []
    assert site.api("GET", "/api/handovers/received", Role.CONTACT_PERSON).json() == []

    # Opened read-only: what the receiving school needs, nothing else; the read is recorded in
    # B's access log (none in A's).
    opened = site.api("GET", f"/api/handovers/received/{file_id}", Role.CONTACT_PERSON,
                      school_b=True)  # fmt: skip
    assert opened.status_code == 200, opened.text
    text = opened.text
    assert f"MELDING{tag}" in text
    assert name in text, "the pupil themself by full name"
    assert f"Zandloper{tag}" not in text, "another pupil's surname"
    assert f"ZL-{tag}" not in text, "another pupil's number"
    assert f"LLN-{tag}" not in text, "the pupil number"
    assert f"INTAKE{tag}" not in text, "the intake is not the receiving school's"
    [document] = opened.json()["documents"]
    assert [s["key"] for s in document["sections"]] == [
        "report", "participants", "steps", "agreements", "aftercare",
    ]  # fmt: skip
    assert document["timeline"] == []
    assert _reads(site, school_b.schema_name, file_id) == [("contact_person", "handover")]
    assert _reads(site, school_a.schema_name, file_id) == []

    # Nobody else reads it: another school (A, the sender, too) 404; B's other roles 403.
    for role in (Role.CONTACT_PERSON, Role.COORDINATOR):
        assert site.api("GET", f"/api/handovers/received/{file_id}", role).status_code in (
            403,
            404,
        )
    assert site.api("GET", f"/api/handovers/received/{file_id}",
                    Role.CONTACT_PERSON).status_code == 404  # fmt: skip
    for role in (Role.COORDINATOR, Role.AUDITOR, Role.TEACHER):
        answer = site.api("GET", f"/api/handovers/received/{file_id}", role, school_b=True)
        assert answer.status_code == 403
    assert site.api("GET", f"/api/handovers/{record['handover_id']}", Role.CONTACT_PERSON,
                    school_b=True).status_code == 404  # fmt: skip
    assert site.api("POST", f"/api/handovers/received/{file_id}/confirm",
                    Role.CONTACT_PERSON).status_code == 404  # fmt: skip

    # Confirmed: recorded in B's log, and on A's hand-over (by whom, when).
    confirmed = site.api("POST", f"/api/handovers/received/{file_id}/confirm",
                         Role.CONTACT_PERSON, school_b=True)  # fmt: skip
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmed_at"] is not None
    assert school_b.name in confirmed.json()["confirmed_by"]
    back = site.api("GET", f"/api/handovers/{record['handover_id']}", Role.CONTACT_PERSON)
    assert back.status_code == 200
    assert back.json()["confirmed_at"] is not None
    assert school_b.name in back.json()["confirmed_by"]
    app_b = site.container.schools.get(school_b.id)
    kinds = [type(e).__name__ for e in app_b.events.get(UUID(file_id))]
    assert kinds == ["FileReceived", "ReceiptConfirmed"]
    app_a = site.container.schools.get(school_a.id)
    kinds = [type(e).__name__ for e in app_a.events.get(UUID(record["handover_id"]))]
    assert kinds == ["HandOverSent", "HandOverConfirmed"]
    # Both logs still verify (chain and checkpoints), and the views ignore the new events.
    for school in (school_a, school_b):
        assert verify_school(site.container.pool, school).ok
        catch_up_school(site.container, school.id)
        assert verify_school_views(site.container, school.id) == []


def test_the_pages_hand_over_list_open_and_confirm(site: Site) -> None:
    tag = uuid4().hex[:6]
    school_a, school_b = site.world.school_a, site.world.school_b
    name = f"Fictieve Kees Paginaloper-{tag}"
    pupil = site.api("POST", "/api/pupils", Role.CONTACT_PERSON,
                     json={"reference": f"P-{tag}", "display_name": name})  # fmt: skip
    pupil_id = pupil.json()["pupil_id"]
    body = {"reporter_kind": "parent", "summary": f"Fictieve PAGINA{tag}"}
    case_id = site.api("POST", "/api/cases", Role.CONTACT_PERSON, json=body).json()["case_id"]
    assert site.add(case_id, pupil_id=pupil_id, role="target").status_code == 200
    catch_up_school(site.container, school_a.id)

    # The sending contact person: from the pupil's page to the form; refused without the
    # parents' consent (the field says why), then sent.
    browser = Browser(site.client)
    log_in(site.client, principal(school_a, Role.CONTACT_PERSON))
    assert f"/leerlingen/{pupil_id}/overdragen" in browser.get(f"/leerlingen/{pupil_id}")
    browser.get(f"/leerlingen/{pupil_id}/overdragen")
    form = {
        "to_school": school_b.slug,
        "pupil_consent_on": "2026-11-20",
        "parents_consent_by": "",
        "parents_consent_on": "2026-11-20",
    }
    refused = browser.post(f"/leerlingen/{pupil_id}/overdragen", form)
    assert refused.status_code == 422
    assert 'id="overdracht-parents_consent_by-fout"' in refused.text
    form["parents_consent_by"] = "Fictieve ouders"
    # First the preview ("Dit wordt verstuurd"), then sent from there.
    preview = browser.post(f"/leerlingen/{pupil_id}/overdragen", form)
    assert preview.status_code == 200
    assert "Dit wordt verstuurd" in preview.text
    [digest] = re.findall(r'name="preview_digest" value="([0-9a-f]+)"', preview.text)
    assert "Het dossier is overgedragen" in browser.submit(
        f"/leerlingen/{pupil_id}/overdragen",
        {**form, "versturen": "1", "preview_digest": digest},
    )

    # The receiving contact person: the list, the file (read recorded), confirming.
    log_in(site.client, principal(school_b, Role.CONTACT_PERSON))
    listing = browser.get("/overdrachten")
    assert name in listing
    [file_id] = re.findall(r'href="/overdrachten/([0-9a-f-]{36})"', listing)
    page = browser.get(f"/overdrachten/{file_id}")
    assert f"PAGINA{tag}" in page
    assert "Ontvangst bevestigen" in page
    confirmed = browser.submit(f"/overdrachten/{file_id}/bevestigen", {})
    assert "Ontvangst bevestigen" not in confirmed
    assert _reads(site, school_b.schema_name, file_id) == [
        ("contact_person", "handover"),
        ("contact_person", "handover"),
    ]
    # Another role of the receiving school does not open it.
    log_in(site.client, principal(school_b, Role.COORDINATOR))
    assert site.client.get(f"/overdrachten/{file_id}").status_code == 403


def test_other_pupils_names_in_the_free_text_are_replaced_as_the_preview_shows(
    site: Site,
) -> None:
    tag = uuid4().hex[:6]
    school_b = site.world.school_b
    name = f"Fictieve Rosalie Voorbeeld{tag}"
    other = f"Fictieve Teun van der Naamveld{tag}"
    outsider = f"Fictieve Wubbe Registerling{tag}"
    for ref, display in ((f"V-{tag}", name), (f"R-{tag}", outsider)):
        made = site.api("POST", "/api/pupils", Role.CONTACT_PERSON,
                        json={"reference": ref, "display_name": display})  # fmt: skip
        assert made.status_code == 201, made.text
        if display == name:
            pupil_id = made.json()["pupil_id"]
    summary = (
        f"{name} werd gepest door TEUN VAN DER NAAMVELD{tag}; naamveld{tag} lachte, "
        f"{outsider} keek toe (nummer T-{tag}). Bijnaam Pluisje{tag} niet herkend."
    )
    body = {"reporter_kind": "parent", "summary": summary}
    case_id = site.api("POST", "/api/cases", Role.CONTACT_PERSON, json=body).json()["case_id"]
    assert site.add(case_id, pupil_id=pupil_id, role="target").status_code == 200
    assert site.add(case_id, pupil_ref=f"T-{tag}", display_name=other,
                    role="actor").status_code == 200  # fmt: skip
    catch_up_school(site.container, site.world.school_a.id)
    consent = {
        "to_school": school_b.slug,
        "pupil_consent_on": "2026-11-20",
        "parents_consent_by": "Fictieve moeder",
        "parents_consent_on": "2026-11-21",
    }
    path = f"/api/pupils/{pupil_id}/handover"
    # The preview needs the consents too (nothing is read without them).
    refused = site.api("POST", f"{path}/preview", Role.CONTACT_PERSON,
                       json={**consent, "pupil_consent_on": ""})  # fmt: skip
    assert refused.status_code == 422
    assert site.api("POST", f"{path}/preview", Role.COORDINATOR,
                    json=consent).status_code == 403  # fmt: skip
    preview = site.api("POST", f"{path}/preview", Role.CONTACT_PERSON, json=consent)
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    found = {(r["found"], r["replaced_by"]) for r in shown["replacements"]}
    assert found == {
        (f"TEUN VAN DER NAAMVELD{tag}", "Fictieve"),
        (f"naamveld{tag}", "Fictieve"),
        (outsider, "[naam]"),
        (f"T-{tag}", "Fictieve"),
    }
    assert {r["section"] for r in shown["replacements"]} == {"report"}
    text = str(shown["documents"])
    assert name in text, "the pupil by full name"
    assert f"Naamveld{tag}".casefold() not in text.casefold()
    assert f"Registerling{tag}" not in text
    assert f"Pluisje{tag}" in text, "a nickname is not recognised (the README says so)"
    # Nothing was sent by the preview.
    assert site.api("GET", "/api/handovers/received", Role.CONTACT_PERSON,
                    school_b=True).json() == []  # fmt: skip
    # A digest that is not the preview's: refused, nothing sent.
    stale = site.api("POST", path, Role.CONTACT_PERSON,
                     json={**consent, "preview_digest": "0" * 64})  # fmt: skip
    assert stale.status_code == 422
    assert ("preview_digest", "preview_changed") in _error_fields(stale)
    sent = site.api("POST", path, Role.CONTACT_PERSON,
                    json={**consent, "preview_digest": shown["digest"]})  # fmt: skip
    assert sent.status_code == 201, sent.text
    [item] = site.api("GET", "/api/handovers/received", Role.CONTACT_PERSON,
                      school_b=True).json()  # fmt: skip
    opened = site.api("GET", f"/api/handovers/received/{item['file_id']}", Role.CONTACT_PERSON,
                      school_b=True).json()  # fmt: skip
    # Exactly what the preview showed.
    assert [d["sections"] for d in opened["documents"]] == [
        d["sections"] for d in shown["documents"]
    ]

    # The page: the preview marks each replacement.
    browser = Browser(site.client)
    log_in(site.client, principal(site.world.school_a, Role.CONTACT_PERSON))
    browser.get(f"/leerlingen/{pupil_id}/overdragen")
    page = browser.post(f"/leerlingen/{pupil_id}/overdragen", consent)
    assert page.status_code == 200
    assert "Dit wordt verstuurd" in page.text
    assert '<mark title="was: ' in page.text
    assert "[naam]</mark>" in page.text
