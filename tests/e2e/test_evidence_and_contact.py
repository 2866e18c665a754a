"""End to end: evidence attachments and the contact with parents (issue 14 §1 and §2).

- The contact person uploads a screenshot (a PNG made here, with EXIF and a text chunk) to a
  case through the page, sees it listed, opens it (``Content-Disposition``, ``no-store``) and
  the image served has no metadata; the EICAR test file is refused in the browser too. The web
  app scans with a real clamd (``tests/integration/clamav.py``: started offline with an EICAR
  signature; the test fails in CI without it and is skipped with the reason elsewhere).
- The contact person plans a step (the "not informed" signal is raised), records a phone call
  with the parents (``record-contact``): "Ouders laatst geïnformeerd" gets a date and the
  signal is gone; then prints the complaints procedure letter (Chromium's print to PDF).

Same harness as ``test_case_journey``. All names and texts are fictitious.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, PngImagePlugin

from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.web.context import today
from services.shared.actor import SYSTEM
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY
from tests.e2e.axe import check_page
from tests.e2e.conftest import Idp, WebServer
from tests.e2e.test_case_journey import FIRST, act, log_in, provision
from tests.integration.clamav import EICAR, clamd_address  # noqa: F401 (fixture)

CAPTION = "Fictieve schermafbeelding van de klassenapp"
PROCEDURE = {
    "text": "Fictieve klachtenregeling: eerst naar de directie, daarna het bestuur.",
    "confidential_advisor": "Fictieve vertrouwenspersoon, 010-0000000",
    "committee": "Fictieve Klachtencommissie, Postbus 0, 0000 AA Nergens",
}


def screenshot_with_metadata() -> bytes:
    """A small PNG with an EXIF block (a fictitious camera, a GPS tag) and a text chunk."""
    image = Image.new("RGB", (40, 24), "white")
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = "Fictieve camera"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N"})
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Fictieve locatie")
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif, pnginfo=info)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the metadata is really there
        assert len(check.getexif()) > 0
        assert check.info.get("Comment") == "Fictieve locatie"
    return data


def new_case(page: Any, web: WebServer) -> str:
    """A parent's report through the page; the case page's URL."""
    page.goto(f"{web.url}/zaken/nieuw")
    page.select_option("select[name=reporter_kind]", "parent")
    page.fill("textarea[name=summary]", "Ouder meldt dat een fictieve leerling wordt gepest.")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "De melding is vastgelegd." in page.content(), page.inner_text("main")
    return str(page.url.split("?")[0])


def upload(page: Any, name: str, content: bytes, caption: str = "") -> Any:
    """Choose the file in the case page's upload form and send it; the answer."""
    page.locator("#actie-add-attachment").evaluate("e => { e.open = true; }")
    page.set_input_files(
        "#bijlage-bestand",
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}],
    )
    page.fill("#bijlage-bijschrift", caption)
    with page.expect_navigation() as navigation:
        page.click("#actie-add-attachment button[type=submit]")
    return navigation.value


def test_a_screenshot_is_uploaded_scanned_stripped_and_opened(
    idp: Idp,
    web_server_factory: Any,
    web_database_url: str,
    page: Any,
    tmp_path: Path,
    clamd_address: str,  # noqa: F811
) -> None:
    school = provision(web_database_url, idp, tmp_path)
    web = web_server_factory({"VANGNET_CLAMD_ADDRESS": clamd_address})
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    log_in(page, web, school, "contact_person")
    case_url = new_case(page, web)
    assert "Nog geen bijlagen." in page.inner_text("#bijlagen")

    # The screenshot is uploaded and listed with its caption.
    response = upload(page, "groepsapp.png", screenshot_with_metadata(), CAPTION)
    assert response.status == 200, response.status
    assert "De bijlage is toegevoegd." in page.content(), page.inner_text("main")
    listed = page.locator("#bijlagen li.attachment")
    assert listed.count() == 1
    assert CAPTION in listed.inner_text()
    link = listed.locator("a")
    assert link.inner_text() == "groepsapp.png"
    href = link.get_attribute("href")
    assert re.fullmatch(rf"/zaken/{case_url.rsplit('/', 1)[-1]}/bijlagen/[0-9a-f-]{{36}}", href)
    blocking = {"zaak-bijlage": check_page(page, "zaak-bijlage")}

    # Opened from the list: an image, inline, never cached, without its metadata. (Chromium's
    # own image viewer styles itself inline, which the intact CSP blocks: its console messages
    # are left out of the check below.)
    assert not [m for m in console if "Content Security Policy" in m], console
    with page.expect_response(lambda r: r.url.endswith(href)) as opened_info:
        link.click()
    opened = opened_info.value
    assert opened.status == 200
    headers = opened.headers
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"].startswith('inline; filename="groepsapp.png"')
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in headers["content-security-policy"]
    body = opened.body()
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "PNG"
        assert image.size == (40, 24)
        assert len(image.getexif()) == 0
        assert "Comment" not in image.info
    assert b"Fictieve camera" not in body
    assert b"Fictieve locatie" not in body

    # The EICAR test file is refused by the scanner, with the reason in Dutch; nothing added.
    page.goto(case_url)
    console.clear()
    response = upload(page, "rapport.pdf", EICAR)
    assert response.status == 422, response.status
    assert "De virusscanner heeft dit bestand geweigerd." in page.inner_text("main")
    page.goto(case_url)
    assert page.locator("#bijlagen li.attachment").count() == 1
    assert not [m for m in console if "Content Security Policy" in m], console
    assert not any(blocking.values()), blocking


def configure_procedure(database_url: str, tmp_path: Path, school: School) -> None:
    """The school's complaints procedure (as its coordinator sets it on /school/klachtenregeling,
    tested in tests/integration/test_contact_log.py)."""
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        master_key=TEST_MASTER_KEY,
        loopback_issuers=True,
    )
    with Container.open(settings) as container:
        container.registry.configure_complaints_procedure(school.id, **PROCEDURE, actor=SYSTEM)


def informed(page: Any) -> dict[str, str]:
    """The case page's "laatst geïnformeerd" facts, by whom."""
    facts = page.locator("#contact dl.facts > div")
    found = {}
    for i in range(facts.count()):
        term = facts.nth(i).locator("dt").inner_text()
        found[term] = facts.nth(i).locator("dd").inner_text()
    return found


def test_a_contact_with_the_parents_clears_the_not_informed_signal_and_the_letter_prints(
    idp: Idp,
    web_server_factory: Any,
    web_database_url: str,
    page: Any,
    tmp_path: Path,
) -> None:
    school = provision(web_database_url, idp, tmp_path)
    configure_procedure(web_database_url, tmp_path, school)
    web = web_server_factory()
    day = today()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    log_in(page, web, school, "contact_person")
    case_url = new_case(page, web)
    assert informed(page) == {
        "Leerling laatst geïnformeerd": "nog niet vastgelegd",
        "Ouders laatst geïnformeerd": "nog niet vastgelegd",
    }
    assert "Nog geen contact vastgelegd." in page.inner_text("#contact")

    # A step is planned: nobody told pupil and parents since, and the page says so.
    act(page, "hold-intake", {"held_on": day.isoformat(), "summary": "Leerling vertelt."})
    act(page, "give-consent", {"given_by": "pupil_and_parents", "covers": ["talk_with_actor"]})
    act(
        page,
        "plan-step",
        {
            "kind": "talk_with_actor",
            "description": "Gesprek met de pester.",
            "due_on": (day + timedelta(days=3)).isoformat(),
        },
    )
    page.goto(case_url)
    assert "Nog niet geïnformeerd." in page.inner_text("#contact")

    # The contact person calls the parents (the pupil is there) and records it.
    page.click("#contact >> a[href$='/record-contact']")
    page.select_option("main form [name=with_whom]", "parents")
    page.select_option("main form [name=channel]", "phone")
    page.fill("main form [name=held_on]", day.isoformat())
    page.fill("main form [name=discussed]", "Fictief: de geplande stap besproken.")
    page.fill("main form [name=agreed]", "Fictief: vrijdag terugbellen.")
    page.check("main form [name=pupil_present]")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "opgeslagen=" in page.url, page.inner_text("main")
    page.goto(case_url)
    contact = page.inner_text("#contact")
    assert "Nog niet geïnformeerd." not in contact, contact
    now_informed = informed(page)
    assert now_informed["Ouders laatst geïnformeerd"] != "nog niet vastgelegd", now_informed
    assert str(day.day) in now_informed["Ouders laatst geïnformeerd"], now_informed
    assert "Fictief: vrijdag terugbellen." in contact
    assert "telefoon met de ouders (leerling erbij)" in contact
    blocking = {"zaak-contact": check_page(page, "zaak-contact")}
    act(page, "complete-step", {"step_id": FIRST, "outcome": "Gesprek gevoerd."})
    page.goto(case_url)
    assert "Nog niet geïnformeerd." in page.inner_text("#contact")  # a new step: raised again

    # The complaints procedure is shown on the case; its letter is printed.
    page.locator("#klachtenregeling").evaluate("e => { e.open = true; }")
    assert PROCEDURE["confidential_advisor"] in page.inner_text("#klachtenregeling")
    letter_href = page.locator("#klachtenregeling a", has_text="afdrukken").get_attribute("href")
    page.goto(web.url + letter_href)
    letter = page.inner_text("main")
    assert "Betreft: de klachtenregeling" in letter
    for value in PROCEDURE.values():
        assert value in letter
    blocking["klachtenbrief"] = check_page(page, "klachtenbrief")
    page.emulate_media(media="print")
    assert not page.locator(".no-print").first.is_visible()  # the links are not printed
    printed = page.pdf(format="A4")
    assert printed.startswith(b"%PDF-")
    assert len(printed) > 1000
    assert not [m for m in console if "Content Security Policy" in m], console
    assert not any(blocking.values()), blocking
