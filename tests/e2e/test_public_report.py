"""End to end: a pupil reports bullying anonymously through the school's public form, the
contact person picks it up and answers from the case page, and the pupil reads the answer with
the follow-up code; a wrong code and a burst of attempts are refused (issue 14 §3).

Same harness as ``test_case_journey``: the npm ``oidc-provider`` for the contact person's login,
``vangnet serve`` in its own process on a fresh database (rate limits in memory, as in the
embedded demo), Debian's Chromium through Playwright. The pupil uses a browser context of their
own (no login, no cookies shared with the school).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any
from uuid import UUID

from services.reporting.codes import code_key, parse_code
from tests.e2e.axe import check_page
from tests.e2e.conftest import E2E_SECRET_KEY_B64, Idp
from tests.e2e.test_case_journey import fresh_page, log_in, provision

WHAT = "Fictief: in de groepsapp van de klas lachen ze me steeds uit."
REPLY = "Fictief: dank je dat je het vertelt. Ik kom morgen in de pauze naar je toe."
#: Follow-up attempts per network address in this test (right or wrong): few, so a burst shows.
ATTEMPTS_PER_ADDRESS = 6


def test_a_pupil_reports_anonymously_and_reads_the_answer_with_the_code(
    idp: Idp,
    web_server_factory: Any,
    web_database_url: str,
    browser: Any,
    page: Any,
    tmp_path: Path,
) -> None:
    school = provision(web_database_url, idp, tmp_path)
    web = web_server_factory({"VANGNET_CODE_RATE_PER_ADDRESS": f"{ATTEMPTS_PER_ADDRESS}/hour"})
    console: list[str] = []
    blocking: dict[str, list[dict[str, Any]]] = {}

    # The pupil opens the school's form: what happens, and where to go in danger.
    pupil = fresh_page(browser)
    pupil.on("console", lambda message: console.append(message.text))
    requested: list[str] = []
    pupil.on("request", lambda request: requested.append(request.url))
    pupil.goto(f"{web.url}/melden/{school.slug}")
    assert pupil.locator("h1").inner_text() == "Pesten melden"
    danger = pupil.inner_text("#gevaar")
    for where_to in ("112", "0800-0432", "kindertelefoon.nl"):
        assert where_to in danger, danger
    blocking["melden"] = check_page(pupil, "melden")
    # Nothing is loaded from anywhere but the app itself (no third-party scripts or trackers).
    assert all(url.startswith(web.url) for url in requested), requested

    # ... reports anonymously.
    pupil.check("input[name=reporter][value=pupil_target]")
    pupil.fill("textarea[name=what]", WHAT)
    pupil.fill("textarea[name=where]", "Online, in de klassenapp")
    pupil.fill("input[name=since]", "Sinds de herfstvakantie")
    pupil.check("input[name=anonymous]")
    with pupil.expect_navigation():
        pupil.click("main form button[type=submit]")
    assert "Je melding is verstuurd" in pupil.content()
    code = pupil.inner_text("#volgcode").strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code), code  # 16 characters to type
    parsed = parse_code(code, code_key(base64.b64decode(E2E_SECRET_KEY_B64)), school.id)
    assert parsed is not None, code
    case_id: UUID = parsed.case_id
    blocking["melding-verstuurd"] = check_page(pupil, "melding-verstuurd")

    # The contact person finds it in the list, with the signal that nobody picked it up yet.
    page.on("console", lambda message: console.append(message.text))
    log_in(page, web, school, "contact_person")
    page.goto(f"{web.url}/zaken")
    page.wait_for_selector(f"a[href='/zaken/{case_id}']", timeout=20_000)
    case_url = f"{web.url}/zaken/{case_id}"
    page.goto(case_url)
    messages = page.inner_text("#berichten")
    assert "Melding via het meldformulier nog niet opgepakt" in messages, messages
    assert WHAT in page.inner_text("main")

    # ... answers from the case page.
    page.click("#berichten >> text=Antwoorden aan de melder")
    page.fill("main form textarea[name=text]", REPLY)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "opgeslagen=" in page.url, page.url
    page.goto(case_url)
    assert REPLY in page.inner_text("#berichten")

    # The pupil comes back later and reads the answer with the code.
    # (typed as a pupil may: in small letters, with spaces instead of dashes)
    pupil.goto(f"{web.url}/melden/{school.slug}/volgen")
    pupil.fill("input[name=code]", code.lower().replace("-", " "))
    with pupil.expect_navigation():
        pupil.click("main form button[type=submit]")
    assert pupil.inner_text("#melding-status") == "ontvangen"
    assert REPLY in pupil.inner_text("main")
    assert WHAT not in pupil.inner_text("main")  # the case itself is not shown
    assert code not in pupil.url  # codes travel in POST bodies only
    blocking["melding-volgen"] = check_page(pupil, "melding-volgen")

    # A wrong code is refused.
    wrong = code[:-3] + ("aaa" if not code.endswith("AAA") else "bbb")
    pupil.goto(f"{web.url}/melden/{school.slug}/volgen")
    pupil.fill("input[name=code]", wrong)
    with pupil.expect_navigation():
        pupil.click("main form button[type=submit]")
    assert "Deze code klopt niet" in pupil.inner_text("main")

    # A burst of attempts from one address is refused, the right code included.
    refused_at = None
    for attempt in range(ATTEMPTS_PER_ADDRESS + 2):
        pupil.goto(f"{web.url}/melden/{school.slug}/volgen")
        pupil.fill("input[name=code]", code if attempt % 2 else wrong)
        with pupil.expect_navigation():
            pupil.click("main form button[type=submit]")
        if "te vaak" in pupil.inner_text("main"):
            refused_at = attempt
            break
    assert refused_at is not None, "a burst of attempts was never refused"
    pupil.goto(f"{web.url}/melden/{school.slug}/volgen")
    pupil.fill("input[name=code]", code)
    with pupil.expect_navigation():
        pupil.click("main form button[type=submit]")
    assert "te vaak" in pupil.inner_text("main")

    # The web log has one line per refusal (school and reason), never the code.
    log = (tmp_path / "web.log").read_text(encoding="utf-8")
    assert f"school={school.slug} reason=mismatch" in log
    assert f"school={school.slug} reason=rate_address" in log
    assert code not in log
    assert wrong not in log
    assert not re.search(r"content security policy", " ".join(console), re.IGNORECASE), console
    assert not any(blocking.values()), blocking
