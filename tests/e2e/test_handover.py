"""End to end: a pupil's bullying file handed over to the next school (issue 15 §5).

School A's contact person opens the pupil's page, tries to hand the file over without the
consents (refused in Dutch, nothing sent), records the pupil's and the parents' consent and
hands the file to school B. School B's contact person (another person, another login) finds it
under "Ontvangen dossiers", opens it read-only (the melding, the pupil by full name, the other
pupil by first name only; no intake note) and confirms receipt; school A's list then shows it
confirmed, by whom.

Same harness as ``test_case_journey`` (real test OIDC provider, ``vangnet serve``, Chromium).
Every name and text is fictitious.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from infra.bootstrap.container import Container
from infra.bootstrap.views import ensure_school_views
from infra.config.settings import Settings
from infra.entrypoints.web.context import today
from services.shared.actor import SYSTEM
from tenants.login import ClaimRule, validate_login
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY
from tests.e2e.axe import check_page
from tests.e2e.conftest import API_AUDIENCE, E2E_USERS, Idp, WebServer
from tests.e2e.test_case_journey import ROLES, act, log_in

BOARD = "E2E Stichting Overstap"
SCHOOL_A = "E2E Basisschool De Vertrekhal"
SCHOOL_B = "E2E Basisschool Het Nieuwe Nest"
PUPIL = "Fictieve Pupilla Overstap"
OTHER = "Bram Fictiefzandloper"
MELDING = "Ouder meldt: Pupilla wordt in de klassenapp uitgescholden (fictief)."
INTAKE = "Fictieve intake-notitie die alleen deze school mag lezen."
STEP = "Fictief gesprek met de pester en zijn ouders."


def provision_two(database_url: str, idp: Idp, tmp_path: Path) -> tuple[School, School]:
    """Two schools of one board, each logging in through the test IdP (groups -> roles)."""
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        master_key=TEST_MASTER_KEY,
        loopback_issuers=True,
    )
    schools = []
    with Container.open(settings) as container:
        board = container.create_board(BOARD)
        for name in (SCHOOL_A, SCHOOL_B):
            school = container.create_school(board.slug, name)
            ensure_school_views(container, school.id)
            login = validate_login(
                issuer=idp.issuer,
                client_id=idp.client_id,
                secret_ref="env:VANGNET_IDP_SECRET_E2E",
                policy=settings.login_policy,
                api_audience=API_AUDIENCE,
                scopes=("openid", "profile", "email", "groups"),
                rules=[ClaimRule("group", f"vangnet-{role.value}", role) for role in ROLES],
            )
            container.registry.configure_login(
                school.id, login, policy=settings.login_policy, actor=SYSTEM
            )
            schools.append(container.registry.school(school.id))
    return schools[0], schools[1]


def new_page(browser: Any) -> Any:
    """A browser of its own (own cookies): another person at another school."""
    context = browser.new_context(locale="nl-NL", timezone_id="Europe/Amsterdam")
    context.set_default_timeout(15_000)
    return context.new_page()


def pupil_case(page: Any, web: WebServer) -> str:
    """A parent's report with the pupil as target and another pupil as actor, an intake
    (never sent) and a step (sent); the pupil's page URL."""
    day = today().isoformat()
    page.goto(f"{web.url}/zaken/nieuw")
    page.select_option("select[name=reporter_kind]", "parent")
    page.fill("textarea[name=summary]", MELDING)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "De melding is vastgelegd." in page.content(), page.inner_text("main")
    target = {"pupil_ref": "E2E-HO-1", "role": "target", "display_name": PUPIL}
    act(page, "add-participant", target)
    act(page, "add-participant", {"pupil_ref": "E2E-HO-2", "role": "actor", "display_name": OTHER})
    act(page, "hold-intake", {"held_on": day, "summary": INTAKE})
    act(page, "give-consent", {"given_by": "pupil_and_parents", "covers": ["talk_with_actor"]})
    act(page, "plan-step", {"kind": "talk_with_actor", "description": STEP, "due_on": day})
    page.goto(f"{web.url}/leerlingen")
    with page.expect_navigation():
        page.click(f"main a:text-is('{PUPIL}')")
    return str(page.url.split("?")[0])


def handover_form(page: Any, pupil_url: str) -> None:
    page.goto(pupil_url)
    with page.expect_navigation():
        page.click("text=Dossier overdragen aan een nieuwe school")
    assert "Dossier overdragen aan de nieuwe school" in page.inner_text("main")


def submit(page: Any, values: dict[str, str]) -> Any:
    for name, value in values.items():
        page.fill(f"main form [name={name}]", value)
    with page.expect_navigation() as navigation:
        page.click("main form button[type=submit]")
    return navigation.value


def test_a_file_is_handed_over_received_and_confirmed(
    idp: Idp, web_server_factory: Any, web_database_url: str, page: Any, browser: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    school_a, school_b = provision_two(web_database_url, idp, tmp_path)
    web = web_server_factory()
    day = today().isoformat()
    log_in(page, web, school_a, "contact_person")
    pupil_url = pupil_case(page, web)

    # Without the consents nothing is sent: the form says which field, in Dutch.
    handover_form(page, pupil_url)
    refused = submit(page, {"to_school": school_b.slug})
    assert refused.status == 422, refused.status
    errors = page.locator("main .error-message").all_inner_texts()
    assert errors == ["Vul dit veld in."], errors
    invalid = page.locator("main form [aria-invalid=true]")
    assert invalid.count() == 1
    assert "consent" in str(invalid.get_attribute("name"))
    blocking = {"overdragen-fout": check_page(page, "overdragen-fout")}
    page.goto(f"{web.url}/overdrachten")
    assert "Uw school heeft nog geen dossiers overgedragen." in page.inner_text("main")

    # An unknown school is refused too.
    handover_form(page, pupil_url)
    consents = {
        "pupil_consent_on": day,
        "parents_consent_by": "Fictieve moeder van Pupilla",
        "parents_consent_on": day,
    }
    refused = submit(page, {"to_school": "geen-school-zo", **consents})
    assert refused.status == 422, refused.status
    assert "Er is geen school met deze korte naam op het platform." in page.inner_text("main")

    # With the consents recorded, the file goes to school B.
    # First the preview: exactly what will be sent; sending happens from there.
    handover_form(page, pupil_url)
    submit(page, {"to_school": school_b.slug, **consents})
    assert "Dit wordt verstuurd" in page.inner_text("main"), page.inner_text("main")
    assert MELDING in page.inner_text("main")
    blocking["overdragen-voorbeeld"] = check_page(page, "overdragen-voorbeeld")
    with page.expect_navigation():
        page.click("main form button:text('Versturen naar de nieuwe school')")
    assert "/overdrachten?verzonden=" in page.url, page.inner_text("main")
    assert "Het dossier is overgedragen." in page.inner_text("main")
    sent = page.locator("#overgedragen tbody tr")
    assert sent.count() == 1
    assert PUPIL in sent.inner_text()
    assert school_b.slug in sent.inner_text()
    assert "nog niet" in sent.inner_text()
    blocking["overdrachten-a"] = check_page(page, "overdrachten-a")

    # School B's contact person finds it in the inbox and opens it, read-only.
    other = new_page(browser)
    log_in(other, web, school_b, "contact_person_b")
    other.goto(f"{web.url}/overdrachten")
    received = other.locator("main table:not(#overgedragen) tbody tr")
    assert received.count() == 1
    assert SCHOOL_A in received.inner_text()
    with other.expect_navigation():
        received.locator(f"a:text-is('{PUPIL}')").click()
    file = other.inner_text("main")
    assert f"Ontvangen dossier: {PUPIL}" in file
    assert MELDING in file
    assert STEP in file
    assert "Bram" in file  # the other pupil by first name and role only
    assert "Fictiefzandloper" not in file
    assert INTAKE not in file
    assert "E2E-HO-2" not in file
    assert "Fictieve moeder" not in file  # the consents stay with the sending school
    assert other.locator("main form input[type=text], main form textarea").count() == 0
    blocking["ontvangen-dossier"] = check_page(other, "ontvangen-dossier")
    with other.expect_navigation():
        other.click("text=Ontvangst bevestigen")
    confirmed = other.inner_text("main")
    assert "Ontvangst bevestigd" in confirmed
    assert f"door {E2E_USERS['contact_person_b'].name}, {SCHOOL_B}" in confirmed, confirmed
    assert other.locator("text=Ontvangst bevestigen").count() == 0

    # School A sees it confirmed, by whom.
    page.goto(f"{web.url}/overdrachten")
    sent = page.locator("#overgedragen tbody tr")
    assert "nog niet" not in sent.inner_text()
    assert E2E_USERS["contact_person_b"].name in sent.inner_text()
    # School A received nothing itself; school B sent nothing.
    assert "Uw school heeft nog geen dossiers ontvangen." in page.inner_text("main")
    other.goto(f"{web.url}/overdrachten")
    assert "Uw school heeft nog geen dossiers overgedragen." in other.inner_text("main")
    other.context.close()
    assert not any(blocking.values()), blocking


def test_a_file_is_exported_for_a_school_outside_the_platform_and_received_by_the_link(
    idp: Idp, web_server_factory: Any, web_database_url: str, page: Any, browser: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    school_a, _ = provision_two(web_database_url, idp, tmp_path)
    web = web_server_factory()
    day = today().isoformat()
    log_in(page, web, school_a, "contact_person")
    pupil_url = pupil_case(page, web)

    # Without the consents nothing is made.
    page.goto(pupil_url)
    with page.expect_navigation():
        page.click("text=Dossier overdragen aan een school buiten Vangnet")
    refused = submit(page, {"to_school_name": "Fictieve School Elders"})
    assert refused.status == 422, refused.status
    assert page.locator("main .error-message").all_inner_texts() == ["Vul dit veld in."]

    # With them: the link and the password, shown once.
    made = submit(
        page,
        {
            "to_school_name": "Fictieve School Elders",
            "pupil_consent_on": day,
            "parents_consent_by": "Fictieve moeder van Pupilla",
            "parents_consent_on": day,
        },
    )
    assert made.status == 200, page.inner_text("main")
    assert made.headers["cache-control"] == "no-store"
    link = page.inner_text("#ontvangstlink")
    password = page.inner_text("#wachtwoord")
    assert link.startswith(f"{web.url}/overdracht/")
    assert len(password) == 24
    blocking = {"export-klaar": check_page(page, "export-klaar")}

    # Someone at the other school, without an account, opens the link and downloads the PDF.
    anonymous = new_page(browser)
    anonymous.goto(link)
    assert "Overdrachtsdossier van een leerling" in anonymous.inner_text("main")
    assert PUPIL not in anonymous.content()  # the page itself names nobody
    with anonymous.expect_download() as download_info:
        anonymous.click("#download")
    pdf = Path(download_info.value.path()).read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.is_encrypted
    assert reader.decrypt(password) != 0
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert MELDING in text
    assert INTAKE not in text
    blocking["ontvangstlink"] = check_page(anonymous, "ontvangstlink")

    # Confirmed by name and school; the link then is gone.
    anonymous.fill("#ontvangst-confirmed_by", "Fictieve Ontvanger")
    anonymous.fill("#ontvangst-confirmed_school", "Fictieve School Elders")
    with anonymous.expect_navigation():
        anonymous.click("main form button[type=submit]")
    assert "Ontvangst bevestigd" in anonymous.inner_text("main")
    gone = anonymous.goto(link)
    assert gone.status == 404
    assert "Deze link werkt niet" in anonymous.inner_text("main")
    anonymous.context.close()

    # The sender sees it downloaded and confirmed, the file destroyed.
    page.goto(f"{web.url}/overdrachten")
    row = page.locator("#exporten tbody tr").inner_text()
    assert "1 keer" in row
    assert "ontvangst bevestigd" in row
    assert "Fictieve Ontvanger" in row
    assert "bestand gewist" in row
    assert not any(blocking.values()), blocking
