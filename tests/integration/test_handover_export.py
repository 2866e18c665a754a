"""Hand-over outside the platform (issue 15 §5), through the web edge on real PostgreSQL: an
encrypted PDF (AES-256, one-time password) with a receipt link. Refused without consent
(nothing made), made with it (the same documents as on the platform; pypdf opens it with the
password only), downloaded and confirmed by the link (no login; the file destroyed after), a
wrong link 404, an expired one destroyed. Every name is fictitious."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from pypdf import PdfReader

from infra.adapters.audit.integrity import verify_school
from infra.bootstrap.views import catch_up_school
from infra.entrypoints.web.api.handover_export import export_service
from infra.entrypoints.web.context import Services
from infra.entrypoints.worker.actors import retention_sweep
from services.access.roles import Role
from services.handover.export import HandOverExport, Token
from tests.integration.test_handover import _aggregates, site  # noqa: F401 (fixture)
from tests.integration.test_pupils import Site, _error_fields

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _pupil_with_case(s: Site, tag: str) -> tuple[str, str]:
    """(pupil id, target case id): target in one case with another pupil as actor; an intake
    (not sent)."""
    name = f"Fictieve Pupilla Export-{tag}"
    pupil = s.api("POST", "/api/pupils", Role.CONTACT_PERSON,
                     json={"reference": f"LLN-{tag}", "display_name": name})  # fmt: skip
    assert pupil.status_code == 201, pupil.text
    pupil_id = pupil.json()["pupil_id"]
    # The other pupil's full name typed into the report: replaced by the first name when sent.
    body = {"reporter_kind": "parent", "summary": f"Fictieve MELDING{tag}: Bram Zandloper{tag}"}
    case = s.api("POST", "/api/cases", Role.CONTACT_PERSON, json=body).json()["case_id"]
    assert s.add(case, pupil_id=pupil_id, role="target").status_code == 200
    assert s.add(case, pupil_ref=f"ZL-{tag}", display_name=f"Bram Zandloper{tag}",
                    role="actor").status_code == 200  # fmt: skip
    held = {"held_on": "2026-11-02", "summary": f"Fictief INTAKE{tag}"}
    intake = s.api("POST", f"/api/cases/{case}/hold-intake", Role.CONTACT_PERSON, json=held)
    assert intake.status_code == 200, intake.text
    catch_up_school(s.container, s.world.school_a.id)
    return pupil_id, case


CONSENT = {
    "to_school_name": "Fictieve Basisschool Elders, Nergenshuizen",
    "pupil_consent_on": "2026-11-20",
    "parents_consent_by": "Fictieve vader",
    "parents_consent_on": "2026-11-21",
}


def _path(link: str) -> str:
    return "/overdracht/" + link.rsplit("/overdracht/", 1)[1]


def _service(s: Site) -> Any:
    services = Services.of(s.client.app.state)
    return export_service(services, s.world.school_a)


def test_export_refused_without_consent_made_downloaded_and_confirmed(site: Site) -> None:  # noqa: F811
    tag = uuid4().hex[:6]
    school_a = site.world.school_a
    pupil_id, case_id = _pupil_with_case(site, tag)
    url = f"/api/pupils/{pupil_id}/handover-export"

    # Without a consent or the school's name: 422 naming the field; nothing made or stored.
    for field, value, reason in (
        ("pupil_consent_on", "", "required"),
        ("parents_consent_by", "", "required"),
        ("parents_consent_on", "", "required"),
        ("pupil_consent_on", "2999-01-01", "in_the_future"),
        ("to_school_name", "", "required"),
    ):
        refused = site.api("POST", url, Role.CONTACT_PERSON, json={**CONSENT, field: value})
        assert refused.status_code in (400, 422), (field, refused.text)
        if refused.status_code == 422:
            assert (field, reason) in _error_fields(refused), refused.text
    assert _aggregates(site, school_a.id, HandOverExport.HandOverExported) == []
    assert site.api("POST", url, Role.COORDINATOR, json=CONSENT).status_code == 403

    # Made: the link and the password, once; the record in the sending school's log.
    made = site.api("POST", url, Role.CONTACT_PERSON, json=CONSENT)
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    out = made.json()
    password, path = out["password"], _path(out["link"])
    [stored] = _aggregates(site, school_a.id, HandOverExport.HandOverExported)
    assert str(stored.id) == out["export_id"]
    assert stored.case_ids == [UUID(case_id)]
    token = path.rsplit("/", 1)[1]
    assert token not in str(vars(stored))
    assert password not in str(vars(stored))
    listed = site.api("GET", "/api/handover-exports", Role.CONTACT_PERSON).json()
    assert [(e["export_id"], e["downloads"], e["confirmed_at"]) for e in listed] == [
        (out["export_id"], 0, None)
    ]
    assert site.api("GET", "/api/handover-exports", Role.CONTACT_PERSON,
                    school_b=True).json() == []  # fmt: skip

    # The link (no login): the page, then the PDF, which opens with the password only.
    page = site.client.get(path, follow_redirects=True)
    assert page.status_code == 200, page.text
    assert "Ontvangst bevestigen" in page.text
    download = site.client.get(f"{path}/bestand")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["cache-control"] == "no-store"
    raw = download.content
    assert raw.startswith(b"%PDF-")
    assert f"MELDING{tag}".encode() not in raw
    reader = PdfReader(io.BytesIO(raw))
    assert reader.is_encrypted
    assert reader.decrypt("niet-het-wachtwoord") == 0
    reader = PdfReader(io.BytesIO(raw))
    assert reader.decrypt(password) != 0
    assert reader.trailer["/Encrypt"]["/V"] == 5  # AES-256
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert f"MELDING{tag}" in text
    assert f"Fictieve Pupilla Export-{tag}" in text
    assert "Bram" in text
    assert f"Zandloper{tag}" not in text
    assert f"ZL-{tag}" not in text
    assert f"INTAKE{tag}" not in text
    assert "Fictieve vader" not in text

    # Confirmed by the link: name and school required (422 in Dutch), then recorded (sealed)
    # and the file destroyed; the link is gone.
    csrf = CSRF.search(page.text)
    assert csrf is not None
    empty = site.client.post(path, data={"confirmed_by": "", "confirmed_school": "X",
                                         "_csrf_token": csrf.group(1)})  # fmt: skip
    assert empty.status_code == 422
    assert "Vul dit veld in." in empty.text
    done = site.client.post(path, data={
        "confirmed_by": f"Fictieve Ontvanger{tag}",
        "confirmed_school": "Fictieve Basisschool Elders",
        "_csrf_token": csrf.group(1),
    })  # fmt: skip
    assert done.status_code == 200, done.text
    assert "Ontvangst bevestigd" in done.text
    assert site.client.get(path).status_code == 404
    assert site.client.get(f"{path}/bestand").status_code == 404
    service = _service(site)
    assert service.store.get(stored.id) is None
    assert service.keys.key(stored.key_id) is None
    listed = site.api("GET", "/api/handover-exports", Role.CONTACT_PERSON).json()
    assert listed[0]["downloads"] == 1
    assert listed[0]["confirmed_by"] == f"Fictieve Ontvanger{tag}"
    app_a = site.container.schools.get(school_a.id)
    kinds = [type(e).__name__ for e in app_a.events.get(stored.id)]
    assert kinds == ["HandOverExported", "ExportDownloaded", "ExportReceiptConfirmed"]
    states = app_a.recorder.select_events(stored.id)
    assert not any(f"Ontvanger{tag}".encode() in s.state for s in states)
    assert verify_school(site.container.pool, school_a).ok


def test_a_wrong_link_is_404_and_an_expired_one_is_destroyed(site: Site) -> None:  # noqa: F811
    tag = uuid4().hex[:6]
    pupil_id, _ = _pupil_with_case(site, tag)
    url = f"/api/pupils/{pupil_id}/handover-export"
    out = site.api("POST", url, Role.CONTACT_PERSON, json=CONSENT).json()
    path = _path(out["link"])
    school_ref, export_ref, secret = path.rsplit("/", 1)[1].split(".")
    for wrong in (
        "/overdracht/niets",
        f"/overdracht/{school_ref}.{export_ref}.{'A' * 22}",
        f"/overdracht/{export_ref}.{school_ref}.{secret}",
    ):
        for suffix in ("", "/bestand"):
            answer = site.client.get(wrong + suffix)
            assert answer.status_code == 404, wrong
            assert "Deze link werkt niet" in answer.text
            assert "Fictieve" not in answer.text

    # The worker's daily run looks at the exports too (this one is not due yet).
    assert retention_sweep(site.container).failed == 0
    assert site.client.get(path).status_code in (200, 303)

    # Past its date: destroyed (key and bytes), recorded, and the link 404.
    service = _service(site)
    export = service.load(UUID(out["export_id"]))
    assert service.expire_due(export.expires_at - timedelta(seconds=1)) == 0
    assert service.store.get(export.id) is not None
    assert service.expire_due(export.expires_at + timedelta(seconds=1)) == 1
    assert service.store.get(export.id) is None
    assert service.keys.key(export.key_id) is None
    assert site.client.get(path).status_code == 404
    listed = site.api("GET", "/api/handover-exports", Role.CONTACT_PERSON).json()
    assert listed[0]["expired_at"] is not None
    assert listed[0]["confirmed_at"] is None


def test_the_receipt_link_is_rate_limited_per_address(site: Site) -> None:  # noqa: F811
    settings = Services.of(site.client.app.state).settings
    limit = int(settings.code_rate_per_address.split("/", 1)[0])
    answers = [site.client.get("/overdracht/niets").status_code for _ in range(limit + 1)]
    assert answers[:limit] == [404] * limit
    assert answers[-1] == 429
    refused = site.client.get(f"/overdracht/{'A' * 22}.{'B' * 22}.{'C' * 22}/bestand")
    assert refused.status_code == 429
    assert "te vaak" in refused.text


def test_downloads_and_a_confirmation_at_the_same_time_are_all_recorded(site: Site) -> None:  # noqa: F811
    """Two requests on one export at once (a double click, a download while the receiver
    confirms) both load the same version; the second to save used to fail with the event
    store's IntegrityError (a 500). Now it reads the export again and does its step anew."""
    tag = uuid4().hex[:6]
    pupil_id, _ = _pupil_with_case(site, tag)
    url = f"/api/pupils/{pupil_id}/handover-export"
    out = site.api("POST", url, Role.CONTACT_PERSON, json=CONSENT).json()
    token = _path(out["link"]).rsplit("/", 1)[1]
    service = _service(site)
    export_id = UUID(out["export_id"])
    now = datetime.now(UTC)
    read_key = service.keys.key
    during: list[Any] = []

    def key_while(step: Any) -> Any:
        def key(key_id: UUID) -> Any:
            found = read_key(key_id)
            if not during:  # once: another request saves between our read and our save
                during.append(None)
                during[0] = step()
            return found

        return key

    # A download while another download is recorded: both downloads count.
    service.keys.key = key_while(lambda: service.download(token, now))  # type: ignore[method-assign]
    assert service.download(token, now) is not None
    assert during[0] is not None
    assert len(service.load(export_id).downloads) == 2  # type: ignore[union-attr]

    # A download while the receipt is confirmed: the confirmation stands, no file is handed out.
    during.clear()
    service.keys.key = key_while(  # type: ignore[method-assign]
        lambda: service.confirm(token, "Fictieve Ontvanger", "Fictieve School", now)
    )
    assert service.download(token, now) is None
    assert during[0] is not None
    export = service.load(export_id)
    assert export is not None
    assert export.confirmed_at is not None
    assert len(export.downloads) == 2
    assert service.store.get(export_id) is None


def test_the_receipt_link_pages_send_no_referrer(site: Site) -> None:  # noqa: F811
    """The link's token is in the address: its pages tell the browser never to send it on as a
    referrer (not even to this site's own style sheet), and keep no copy in a cache."""
    tag = uuid4().hex[:6]
    pupil_id, _ = _pupil_with_case(site, tag)
    url = f"/api/pupils/{pupil_id}/handover-export"
    path = _path(site.api("POST", url, Role.CONTACT_PERSON, json=CONSENT).json()["link"])
    for answer in (
        site.client.get(path, follow_redirects=False),
        site.client.get(path),
        site.client.get(f"{path}/bestand"),
        site.client.get("/overdracht/niets"),
    ):
        assert answer.headers["referrer-policy"] == "no-referrer", answer.status_code
        assert answer.headers["cache-control"] == "no-store"
    assert site.client.get("/").headers["referrer-policy"] == "same-origin"


def test_a_confirmation_without_the_forms_token_or_for_another_school_is_refused(
    site: Site,  # noqa: F811
) -> None:
    """A forged confirmation (no CSRF token, another visitor's token, or the link's refs turned
    to the other school) destroys nothing: the link and the file stay."""
    tag = uuid4().hex[:6]
    pupil_id, _ = _pupil_with_case(site, tag)
    url = f"/api/pupils/{pupil_id}/handover-export"
    out = site.api("POST", url, Role.CONTACT_PERSON, json=CONSENT).json()
    path = _path(out["link"])
    secret = path.rsplit(".", 1)[1]
    form = {"confirmed_by": "Fictieve Vervalser", "confirmed_school": "Fictieve School"}
    site.client.cookies.clear()
    assert site.client.post(path, data=form).status_code == 403  # no session, no token
    page = site.client.get(path)
    csrf = CSRF.search(page.text)
    assert csrf is not None
    assert site.client.post(path, data=form).status_code == 403  # a session, no token
    site.client.cookies.clear()  # another visitor with the first one's token
    assert site.client.post(path, data={**form, "_csrf_token": csrf.group(1)}).status_code == 403
    other = Token(site.world.school_b.id, UUID(out["export_id"]), secret)
    page_b = site.client.get(f"/overdracht/{other}")
    assert page_b.status_code == 404
    export = _service(site).load(UUID(out["export_id"]))
    assert export is not None
    assert export.confirmed_at is None
    assert _service(site).store.get(export.id) is not None
    assert site.client.get(f"{path}/bestand").status_code == 200
