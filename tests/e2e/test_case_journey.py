"""End to end: a contact person handles a case from report to closing in the browser.

The identity provider is the npm ``oidc-provider`` (a certified OpenID provider) on 127.0.0.1;
the web app runs as ``vangnet serve`` in its own process on a fresh database; Debian's Chromium
is driven by Playwright. Every login goes through the app's real OIDC code path (PKCE, state,
nonce, iss). The story, step by step, is in the comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from infra.bootstrap.container import Container
from infra.bootstrap.views import ensure_school_views
from infra.config.settings import Settings
from infra.entrypoints.web.auth.gate import PeopleGate
from infra.entrypoints.web.context import today
from services.access.roles import Role
from services.people.directory import Provisioned
from services.people.domain import Profile
from services.shared.actor import SYSTEM
from tenants.login import ClaimRule, validate_login
from tenants.registry import School
from tests.conftest import TEST_MASTER_KEY
from tests.e2e.axe import check_page
from tests.e2e.conftest import API_AUDIENCE, E2E_USERS, Idp, WebServer

SCHOOL_NAME = "E2E Basisschool De Proef"
MENTOR_NAME = "Test Mentor Fictief"
BOARD_NAME = "E2E Stichting Proefscholen"
ROLES = (
    Role.CONTACT_PERSON,
    Role.COORDINATOR,
    Role.BOARD,
    Role.SAFETY_COORDINATOR,
    Role.DOMESTIC_VIOLENCE_OFFICER,
)


def provision(database_url: str, idp: Idp, tmp_path: Path) -> School:
    """A board and a school whose login is the test IdP; its groups map to the roles."""
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        master_key=TEST_MASTER_KEY,
        loopback_issuers=True,  # the test IdP runs on http://127.0.0.1:<port>
    )
    with Container.open(settings) as container:
        board = container.create_board(BOARD_NAME)
        school = container.create_school(board.slug, SCHOOL_NAME)
        ensure_school_views(container, school.id)
        login = validate_login(
            issuer=idp.issuer,
            client_id=idp.client_id,
            secret_ref="env:VANGNET_IDP_SECRET_E2E",
            policy=settings.login_policy,
            api_audience=API_AUDIENCE,
            scopes=("openid", "profile", "email", "groups"),  # the IdP's groups need the scope
            rules=[ClaimRule("group", f"vangnet-{role.value}", role) for role in ROLES],
        )
        container.registry.configure_login(
            school.id, login, policy=settings.login_policy, actor=SYSTEM
        )
        # The school's directory knows its coordinator ahead (as SCIM would): their first
        # login is linked to this person by e-mail. A mentor who never logs in is known too.
        coordinator = E2E_USERS["coordinator"]
        directory = PeopleGate(container).directory(school)
        for key, name, email, role in (
            ("coordinator", coordinator.name, coordinator.email, Role.COORDINATOR),
            ("mentor", MENTOR_NAME, "mentor@example.org", Role.TEACHER),
        ):
            profile = Profile(display_name=name, email=email, user_name=email)
            person = directory.provision(Provisioned(profile=profile, roles=(role,)))
            PROVISIONED[key] = str(person.id)
        return container.registry.school(school.id)


#: Person ids of the staff provisioned by :func:`provision`, by E2E_USERS key.
PROVISIONED: dict[str, str] = {}


def log_in(page: Any, web: WebServer, school: School, role: str) -> None:
    """Log in through the IdP; the login hint picks the test user."""
    user = E2E_USERS[role]
    page.goto(f"{web.url}/login/{school.slug}?login_hint={user.sub}")
    page.wait_for_url(
        lambda url: url.startswith(web.url) and "/login" not in url and "/auth/" not in url
    )
    assert user.name in page.content(), f"{role} is not logged in: {page.inner_text('main')}"


def fresh_page(browser: Any) -> Any:
    context = browser.new_context(locale="nl-NL")
    context.set_default_timeout(15_000)
    return context.new_page()


def log_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login.*"))


#: In :func:`act`: choose the first real option of a select (e.g. the only planned step).
FIRST = object()


@dataclass(frozen=True)
class ByName:
    """In :func:`act`: pick the person whose option (name and role) starts with ``name``."""

    name: str


def act(page: Any, action: str, fields: dict[str, Any]) -> None:
    """Open the action's form on the case page, fill it in and submit it."""
    form = f"#actie-{action} form"
    # The form is the action at hand (open), or one click away in a closed <details>.
    page.locator(f"#actie-{action}").evaluate(
        "e => { for (let d = e; d; d = d.parentElement)"
        " if (d.tagName === 'DETAILS') d.open = true; }"
    )
    for name, value in fields.items():
        field = page.locator(f"{form} [name='{name}']")
        if isinstance(value, bool):
            if value:
                field.check()
        elif isinstance(value, list):
            for item in value:
                page.locator(f"{form} [name='{name}'][value='{item}']").check()
        elif field.evaluate("e => e.tagName") == "SELECT":
            choice = value
            if value is FIRST:
                choice = field.locator("option:not([value=''])").first.get_attribute("value")
            elif isinstance(value, ByName):
                labels = field.locator("option").all_inner_texts()
                found = [label for label in labels if label.startswith(value.name)]
                assert len(found) == 1, (value.name, labels)
                field.select_option(label=found[0])
                continue
            field.select_option(choice)
        else:
            field.fill(value)
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    assert "opgeslagen=" in page.url, f"{action} was not saved: {page.url}"


def test_a_contact_person_handles_a_case_from_report_to_closing(
    idp: Idp,
    web_server_factory: Any,
    web_database_url: str,
    browser: Any,
    page: Any,
    tmp_path: Path,
) -> None:
    school = provision(web_database_url, idp, tmp_path)
    web = web_server_factory()
    day = today()
    # Anything the Content-Security-Policy blocks (inline script or style) is a test failure.
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    # The contact person opens Vangnet, chooses the school and logs in at the provider.
    page.goto(web.url)
    page.wait_for_url(re.compile(r".*/login.*"))
    page.select_option("select[name=school]", school.slug)
    page.click("form button[type=submit]")
    page.click(f"text=Log in as {E2E_USERS['contact_person'].name}")
    page.wait_for_load_state()
    assert "Mijn werk" in page.content(), page.inner_text("main")
    assert "Aanspreekpunt pesten" in page.content()
    blocking: dict[str, list[dict[str, Any]]] = {}
    blocking["mijn-werk-leeg"] = check_page(page, "mijn-werk-leeg")

    # A parent reports bullying: a new report.
    page.click("nav >> text=Nieuwe melding")
    blocking["nieuwe-melding"] = check_page(page, "nieuwe-melding")
    page.select_option("select[name=reporter_kind]", "parent")
    page.fill("textarea[name=summary]", "Ouder meldt dat een fictieve leerling wordt gepest.")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "De melding is vastgelegd." in page.content()
    case_url = page.url.split("?")[0]
    blocking["zaak-nieuw"] = check_page(page, "zaak-nieuw")

    # The contact person is the owner: picked by name (and role), never typed as an id.
    assert "gebruikers-id" not in page.content()
    act(page, "assign-owner", {"owner_id": ByName(E2E_USERS["contact_person"].name)})

    # The target pupil is added; the intake is held; the situation is mapped.
    act(
        page,
        "add-participant",
        {"pupil_ref": "E2E-001", "role": "target", "display_name": "Leerling E2E"},
    )
    # A pupil of the register is picked into the case: added on the register page, then found
    # by the add-participant page's search of the register (a GET form: no script needed).
    page.goto(f"{web.url}/leerlingen")
    page.fill("#leerling-reference", "E2E-002")
    page.fill("#leerling-display_name", "Leerling E2E Register")
    page.fill("#leerling-group", "groep 7")
    with page.expect_navigation():
        page.click("form[action='/leerlingen'][method=post] button[type=submit]")
    page.goto(case_url)
    page.locator("#actie-add-participant").evaluate(
        "e => { for (let d = e; d; d = d.parentElement)"
        " if (d.tagName === 'DETAILS') d.open = true; }"
    )
    with page.expect_navigation():
        page.click("#add-participant-pupil-id-zoeken")
    page.fill("#zoek-leerling", "register")
    with page.expect_navigation():
        page.click("#leerling-zoeken button[type=submit]")
    assert "1 leerling gevonden" in page.inner_text("#leerling-zoeken")
    blocking["leerling-kiezen"] = check_page(page, "leerling-kiezen")
    page.get_by_label("Leerling E2E Register (groep 7, leerlingnummer E2E-002)").check()
    page.select_option("select[name=role]", "actor")
    with page.expect_navigation():
        page.click("form.action-form button[type=submit]")
    assert "opgeslagen=" in page.url, page.url
    assert "Leerling E2E Register" in page.inner_text("#gegevens")
    act(page, "hold-intake", {"held_on": day.isoformat(), "summary": "Leerling vertelt."})
    act(
        page,
        "map-situation",
        {
            "forms": ["verbal", "online"],
            "locations": ["schoolyard"],
            "frequency": "weekly",
            "impact": "moderate",
        },
    )
    act(page, "discuss-solutions", {"desired": "Dat het stopt.", "chosen_approach": "Gesprek."})

    # No step can be planned before consent: the form is not offered.
    assert page.locator("#actie-plan-step form").count() == 0
    act(page, "give-consent", {"given_by": "pupil_and_parents", "covers": ["talk_with_actor"]})

    # With consent, a step is planned and carried out.
    assert page.locator("#actie-plan-step form").count() == 1
    act(
        page,
        "plan-step",
        {
            "kind": "talk_with_actor",
            "description": "Gesprek met de pester.",
            "due_on": (day + timedelta(days=3)).isoformat(),
            "assignee_id": ByName(MENTOR_NAME),
        },
    )
    # The mentor is engaged for the step, in their role at this school, picked by name.
    act(
        page,
        "engage-person",
        {"step_id": FIRST, "user_id": ByName(MENTOR_NAME), "staff_role": "teacher"},
    )
    steps = page.inner_text("#gegevens")
    assert f"{MENTOR_NAME} (Mentor / leerkracht)" in steps, steps
    assert PROVISIONED["mentor"] not in page.inner_text("main")  # names, never ids
    blocking["zaak"] = check_page(page, "zaak")
    # The timeline can be narrowed to one kind of event (server-side, no script needed).
    page.select_option("#tijdlijn-soort", label="Collega ingeschakeld")
    with page.expect_navigation():
        page.click("#tijdlijn form button[type=submit]")
    assert page.locator("#tijdlijn .timeline__entry").count() == 1
    page.goto(case_url)
    act(page, "complete-step", {"step_id": FIRST, "outcome": "Gesprek gevoerd."})

    # Agreements are recorded; aftercare is scheduled and recorded: the bullying stopped.
    act(page, "record-agreement", {"text": "Met rust laten.", "parties": "leerlingen"})
    act(page, "schedule-follow-up", {"due_on": (day + timedelta(days=14)).isoformat()})
    act(
        page,
        "complete-follow-up",
        {
            "follow_up_id": FIRST,
            "agreements_kept": True,
            "bullying_stopped": True,
            "pupil_feels_safe": True,
            "notes": "Het gaat goed.",
        },
    )

    # A note with markup is shown as text.
    act(page, "add-note", {"text": "Let op <script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.content()
    assert page.locator("text=<script>alert(1)</script>").count() >= 1

    # The case is evaluated, the lessons shared with the coordinator, and the case closed.
    act(page, "evaluate", {"went_well": "Snel", "lessons": "E2E-leerpunt: ouders eerder bellen."})
    act(page, "share-lessons", {"coordinator_id": ByName(E2E_USERS["coordinator"].name)})
    # Mijn werk: the aftercare is done, so the open case is what is left; then the case list.
    page.click("nav >> text=Mijn werk")
    assert case_url.rsplit("/", 1)[-1][:8] in page.content()
    blocking["mijn-werk"] = check_page(page, "mijn-werk")
    page.click("nav >> text=Alle zaken")
    blocking["zaken"] = check_page(page, "zaken")
    page.goto(case_url)
    act(page, "close", {"reason": "resolved"})
    assert "gesloten" in page.content()
    assert "Deze zaak is afgesloten" in page.content()
    assert not [m for m in console if "Content Security Policy" in m], console
    # axe-core on the contact person's main pages: no serious or critical violations.
    assert not any(blocking.values()), blocking
    log_out(page)

    # The others each use their own browser (logging out of Vangnet leaves the provider's
    # session, as it should: it is the school's account, not ours).
    # The coordinator sees the lesson.
    coordinator = fresh_page(browser)
    log_in(coordinator, web, school, "coordinator")
    coordinator.goto(f"{web.url}/school/leerpunten")
    assert "E2E-leerpunt: ouders eerder bellen." in coordinator.content()
    # ... and in the school's yearly report (with the monitor import form), accessible.
    coordinator.goto(f"{web.url}/school/jaarverslag")
    assert "E2E-leerpunt: ouders eerder bellen." in coordinator.inner_text("main")
    assert coordinator.locator("#monitor-bestand").count() == 1
    assert not check_page(coordinator, "jaarverslag-school")

    # The board member sees the statistics, small numbers suppressed.
    board = fresh_page(browser)
    log_in(board, web, school, "board")
    board.goto(f"{web.url}/bestuur/statistiek")
    assert "<5" in board.inner_text("main")
    assert SCHOOL_NAME in board.content()
    # The board's yearly report counts the school's lessons, never their text.
    board.goto(f"{web.url}/bestuur/jaarverslag")
    assert "Leerpunten per school" in board.inner_text("main")
    assert "E2E-leerpunt" not in board.content()
    assert not check_page(board, "jaarverslag-bestuur")

    # The domestic-violence officer sees no case content.
    officer = fresh_page(browser)
    log_in(officer, web, school, "domestic_violence_officer")
    officer.goto(case_url)
    assert "Ouder meldt" not in officer.content()
    assert "Leerling E2E" not in officer.content()
