"""The Dutch web pages, end to end through the app (real PostgreSQL, in-process worker).

The first test is the story of one case as the contact person handles it, page by page; the
others check who may see what, and how the pages refuse what they must refuse.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from litestar.testing import TestClient

from infra.adapters.auth.principal import Principal
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.entrypoints.web.actions import ACTIONS
from services.access.roles import Role, has_permission
from services.casework.commands import (
    AddNote,
    AssignOwner,
    EngagePerson,
    GiveConsent,
    HoldIntake,
    PlanStep,
    ReportCase,
    ScheduleFollowUp,
)
from services.casework.handlers import CaseService
from services.complaints.commands import FileComplaint
from services.shared.actor import Actor
from tenants.registry import School
from tests.integration.readside import today
from tests.integration.web import as_person, log_in, make_world, principal, web_client


class Browser:
    """A logged-in person clicking through the pages: GET a page, fill in one of its forms."""

    def __init__(self, client: TestClient[Any]) -> None:
        self.client = client
        self.page = ""

    def get(self, url: str, status: int = 200) -> str:
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code)
        self.page = response.text
        return self.page

    def csrf(self) -> str:
        found = re.search(r'name="_csrf_token" value="([^"]+)"', self.page)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    def version(self) -> str:
        found = re.search(r'name="expected_version" value="(\d+)"', self.page)
        assert found, "the page has no case form"
        return found.group(1)

    def post(self, url: str, data: dict[str, Any], *, csrf: bool = True) -> httpx.Response:
        body = {**data, "_csrf_token": self.csrf()} if csrf else dict(data)
        return self.client.post(url, data=body, follow_redirects=False)

    def submit(self, url: str, data: dict[str, Any]) -> str:
        """Post a form of the current page and follow the redirect (Post/Redirect/Get)."""
        response = self.post(url, data)
        assert response.status_code == 303, (url, response.status_code, response.text[:2000])
        return self.get(response.headers["location"])

    def options(self, select_id: str) -> list[str]:
        """The values of a select on the current page (empty first option left out)."""
        found = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', self.page, re.S)
        assert found, f"no select {select_id}"
        return [v for v in re.findall(r'<option value="([^"]*)"', found.group(1)) if v]


@contextmanager
def browser(container: Container, who: Principal) -> Iterator[Browser]:
    with web_client(container) as client:
        log_in(client, who)
        yield Browser(client)


def form_action(case_id: UUID | str, action: str) -> str:
    return f'action="/zaken/{case_id}/{action}"'


def case_id_of(url_or_page: str) -> str:
    found = re.search(r"/zaken/([0-9a-f-]{36})", url_or_page)
    assert found
    return found.group(1)


def reported_case(container: Container, school: School, summary: str) -> UUID:
    service = CaseService(container.schools.get(school.id), school.id)
    contact = Actor(user_id=f"test-{school.slug}-contact_person", role=Role.CONTACT_PERSON)
    case_id = service.report(contact, ReportCase(reporter_kind="parent", summary=summary))
    catch_up_school(container, school.id)
    return case_id


# --- the story of a case ----------------------------------------------------------------------


def test_the_story_of_a_case_through_the_pages(container: Container) -> None:
    world = make_world(container, "pg-story")
    contact = principal(world.school_a, Role.CONTACT_PERSON)
    day = today()
    with browser(container, contact) as b:
        # Mijn werk is the home page; there is nothing to do yet.
        home = b.get("/")
        assert "Mijn werk" in home
        assert "U heeft nu niets te doen" in home
        assert 'lang="nl"' in home
        assert "Direct naar de inhoud" in home  # skip link
        assert "Aanspreekpunt pesten" in home  # the active role in the header

        # A parent reports bullying: the report form, then the case page.
        b.get("/zaken/nieuw")
        page = b.submit(
            "/zaken",
            {"reporter_kind": "parent", "summary": "Ouder meldt: fictieve leerling wordt gepest."},
        )
        case_id = case_id_of(page)
        assert "De melding is vastgelegd." in page
        assert "Ouder meldt: fictieve leerling wordt gepest." in page
        # ... and it is one of my cases now.
        assert f"/zaken/{case_id}" in b.get("/")
        url = f"/zaken/{case_id}"

        # The target pupil joins the case.
        b.get(url)
        page = b.submit(
            f"{url}/add-participant",
            {
                "expected_version": b.version(),
                "pupil_ref": "LL-0001",
                "role": "target",
                "display_name": "Leerling Test-01",
                "group": "groep 7",
            },
        )
        assert "Leerling Test-01" in page
        assert "gepeste leerling" in page

        # The intake (opvanggesprek) is held.
        page = b.submit(
            f"{url}/hold-intake",
            {
                "expected_version": b.version(),
                "held_on": day.isoformat(),
                "summary": "Leerling vertelt over uitschelden.",
            },
        )
        assert "Opvanggesprek (intake) gehouden" in page
        assert "in behandeling" in page

        # The situation is mapped (forms and locations are checkbox groups).
        page = b.submit(
            f"{url}/map-situation",
            {
                "expected_version": b.version(),
                "forms": ["verbal", "online"],
                "locations": ["schoolyard"],
                "frequency": "weekly",
                "impact": "moderate",
                "description": "Schelden op het plein en in de groepsapp.",
            },
        )
        assert "Pestsituatie in kaart gebracht" in page
        assert "verbaal, online" in page

        # Solutions are discussed with pupil and parents.
        page = b.submit(
            f"{url}/discuss-solutions",
            {
                "expected_version": b.version(),
                "desired": "Dat het stopt.",
                "chosen_approach": "Gesprek met de pester.",
            },
        )
        assert "Oplossingen besproken" in page

        # Without consent no step is offered: an explanation and the consent form instead.
        assert form_action(case_id, "plan-step") not in page
        assert "Er worden nooit stappen gezet zonder dat de gepeste leerling" in page
        assert form_action(case_id, "give-consent") in page
        standalone = b.get(f"{url}/plan-step")
        assert form_action(case_id, "plan-step") not in standalone
        assert form_action(case_id, "give-consent") in standalone

        # Pupil and parents consent to a talk with the actor and to engaging a colleague.
        b.get(url)
        page = b.submit(
            f"{url}/give-consent",
            {
                "expected_version": b.version(),
                "given_by": "pupil_and_parents",
                "covers": ["talk_with_actor", "engage_colleague"],
            },
        )
        assert "Toestemming vastgelegd" in page

        # Now a step can be planned, but only of a kind the consent covers.
        assert form_action(case_id, "plan-step") in page
        assert b.options("plan-step-kind") == ["talk_with_actor", "engage_colleague"]
        page = b.submit(
            f"{url}/plan-step",
            {
                "expected_version": b.version(),
                "kind": "talk_with_actor",
                "description": "Mentor voert een gesprek met de pester.",
                "due_on": (day + timedelta(days=3)).isoformat(),
            },
        )
        assert "Stap gepland" in page

        # The step is done.
        [step_id] = b.options("complete-step-step-id")
        page = b.submit(
            f"{url}/complete-step",
            {"expected_version": b.version(), "step_id": step_id, "outcome": "Gesprek gevoerd."},
        )
        assert "Stap afgerond" in page

        # Every action the contact person may take is on the case page (a form, or why not
        # now), except what is done (the intake), needs a closed case (reopen) or a report
        # through the public form (answering its reporter).
        for name, action in ACTIONS.items():
            offered = has_permission(Role.CONTACT_PERSON, action.permission) and name not in {
                "hold-intake",
                "reopen",
                "reply-to-reporter",
            }
            assert (f'id="actie-{name}"' in page) is offered, name

        # The agreements are put in writing.
        page = b.submit(
            f"{url}/record-agreement",
            {
                "expected_version": b.version(),
                "text": "De pester laat de gepeste leerling met rust.",
                "parties": "leerlingen en mentor",
            },
        )
        assert "Afspraak vastgelegd" in page

        # Aftercare is scheduled, then recorded: the bullying stopped.
        page = b.submit(
            f"{url}/schedule-follow-up",
            {"expected_version": b.version(), "due_on": (day + timedelta(days=14)).isoformat()},
        )
        assert "Nazorg gepland" in page
        [follow_up_id] = b.options("complete-follow-up-follow-up-id")
        page = b.submit(
            f"{url}/complete-follow-up",
            {
                "expected_version": b.version(),
                "follow_up_id": follow_up_id,
                "agreements_kept": "on",
                "bullying_stopped": "on",
                "pupil_feels_safe": "on",
                "notes": "Nazorggesprek: het gaat goed.",
            },
        )
        assert "Nazorg uitgevoerd" in page

        # A note with markup is shown as text, never run as script.
        page = b.submit(
            f"{url}/add-note",
            {"expected_version": b.version(), "text": "Let op <script>alert(1)</script>"},
        )
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

        # The case is evaluated and the lessons are shared with the coordinator.
        page = b.submit(
            f"{url}/evaluate",
            {
                "expected_version": b.version(),
                "went_well": "Snelle intake.",
                "lessons": "Ouders van beide kanten eerder betrekken.\nMentor direct inschakelen.",
            },
        )
        assert "Zaak geëvalueerd" in page
        coordinator = as_person(container, principal(world.school_a, Role.COORDINATOR))
        page = b.submit(
            f"{url}/share-lessons",
            {"expected_version": b.version(), "coordinator_id": coordinator.user_id},
        )
        assert "Leerpunten gedeeld met de anti-pestcoördinator" in page

        # The case closes as resolved; the checklist shows every step done.
        page = b.submit(f"{url}/close", {"expected_version": b.version(), "reason": "resolved"})
        assert "Zaak afgesloten" in page
        assert "gesloten" in page
        assert "Deze zaak is afgesloten" in page
        assert form_action(case_id, "add-note") not in page  # casework needs a reopen first
        assert form_action(case_id, "reopen") in page
        assert "te laat" not in page

    # The coordinator finds the shared lesson on the lessons page.
    catch_up_school(container, world.school_a.id)
    with browser(container, principal(world.school_a, Role.COORDINATOR)) as c:
        lessons = c.get("/school/leerpunten")
        assert "Ouders van beide kanten eerder betrekken." in lessons
        assert "gedeeld op" in lessons


# --- forms: validation, CSRF, concurrency -----------------------------------------------------


def test_a_form_with_errors_comes_back_with_dutch_messages_next_to_the_fields(
    container: Container,
) -> None:
    world = make_world(container, "pg-form")
    case_id = reported_case(container, world.school_a, "Fictieve melding voor formulieren.")
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        b.get(f"/zaken/{case_id}")
        response = b.post(
            f"/zaken/{case_id}/map-situation",
            {"expected_version": b.version(), "description": "Alleen een omschrijving."},
        )
        assert response.status_code == 422
        page = response.text
        assert "Kies ten minste één mogelijkheid." in page  # forms
        assert "Maak een keuze." in page  # frequency, impact
        assert 'aria-invalid="true"' in page
        assert 'aria-describedby="map-situation-frequency-error"' in page
        assert 'href="#map-situation-frequency"' in page  # the error summary links to the field
        assert "Alleen een omschrijving." in page  # what was typed is kept


def test_a_post_without_csrf_token_is_refused(container: Container) -> None:
    world = make_world(container, "pg-csrf")
    case_id = reported_case(container, world.school_a, "Fictieve melding voor CSRF.")
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        b.get(f"/zaken/{case_id}")
        response = b.post(
            f"/zaken/{case_id}/add-note",
            {"expected_version": b.version(), "text": "Zonder token."},
            csrf=False,
        )
        assert response.status_code == 403
        assert "Zonder token." not in b.get(f"/zaken/{case_id}")


def test_a_csrf_token_of_another_session_is_refused(container: Container) -> None:
    # Issue #10, 6: one person's token must not work in another person's session.
    world = make_world(container, "pg-csrf-swap")
    case_id = reported_case(container, world.school_a, "Fictieve melding voor CSRF.")
    url = f"/zaken/{case_id}/add-note"
    first = principal(world.school_a, Role.CONTACT_PERSON, "test-cp-een")
    second = principal(world.school_a, Role.CONTACT_PERSON, "test-cp-twee")
    with browser(container, first) as a, browser(container, second) as b:
        a.get(f"/zaken/{case_id}")
        b.get(f"/zaken/{case_id}")
        token_a, token_b = a.csrf(), b.csrf()
        assert token_a != token_b
        # Whatever else A's browser holds goes along (a double-submit cookie, once).
        for name, value in a.client.cookies.items():
            if name != "vangnet_session":
                b.client.cookies.set(name, value)
        body = {"expected_version": b.version(), "text": "Met andermans token."}

        # A's token in B's session: as the form field and as the HTMX header.
        as_field = b.client.post(url, data={**body, "_csrf_token": token_a})
        as_header = b.client.post(url, data=body, headers={"x-csrftoken": token_a})
        for refused in (as_field, as_header):
            assert refused.status_code == 403
            assert "hoort niet bij uw huidige sessie" in html.unescape(refused.text)
        assert "Met andermans token." not in b.get(f"/zaken/{case_id}")

        # B's own token in the header (how HTMX sends it) works.
        own = b.client.post(
            url,
            data={**body, "text": "Met het eigen token."},
            headers={"x-csrftoken": token_b},
            follow_redirects=False,
        )
        assert own.status_code == 303
        assert "Met het eigen token." in b.get(f"/zaken/{case_id}")


def test_a_stale_version_gives_the_conflict_page_and_keeps_what_was_typed(
    container: Container,
) -> None:
    world = make_world(container, "pg-stale")
    case_id = reported_case(container, world.school_a, "Fictieve melding voor 409.")
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        b.get(f"/zaken/{case_id}")
        shown = b.version()
        # Someone else adds a note in the meantime.
        service = CaseService(container.schools.get(world.school_a.id), world.school_a.id)
        other = Actor(user_id="test-other-contact", role=Role.CONTACT_PERSON)
        service.handle(other, AddNote(case_id=case_id, text="Notitie van een collega."))
        response = b.post(
            f"/zaken/{case_id}/add-note", {"expected_version": shown, "text": "Mijn notitie."}
        )
        assert response.status_code == 409
        assert "Iemand anders heeft de zaak intussen gewijzigd" in response.text
        assert "Mijn notitie." in response.text  # shown so it is not lost
        assert f'href="/zaken/{case_id}"' in response.text


def test_a_rule_of_the_domain_is_answered_in_dutch_on_the_form(container: Container) -> None:
    world = make_world(container, "pg-rule")
    case_id = reported_case(container, world.school_a, "Fictieve melding voor een regel.")
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        b.get(f"/zaken/{case_id}")
        # Closing as resolved needs aftercare and an evaluation first.
        response = b.post(
            f"/zaken/{case_id}/close", {"expected_version": b.version(), "reason": "resolved"}
        )
        assert response.status_code == 422
        # ... and says exactly that, not just "not yet" (issue #10).
        assert (
            "Afsluiten als opgelost kan pas als de nazorg heeft vastgelegd dat het pesten is "
            "gestopt en de zaak is geëvalueerd." in response.text
        )
        assert "De zaak kan nog niet worden afgesloten." not in response.text


# --- who sees what ------------------------------------------------------------------------------


def test_a_case_of_another_school_is_not_found(container: Container) -> None:
    world = make_world(container, "pg-tenant")
    case_id = reported_case(container, world.school_a, "Fictieve melding van school A.")
    with browser(container, principal(world.school_b, Role.CONTACT_PERSON)) as b:
        page = b.get(f"/zaken/{case_id}", status=404)
        assert "Fictieve melding van school A." not in page
        b.get(f"/zaken/{case_id}/add-note", status=404)
        b.get("/")
        response = b.post(f"/zaken/{case_id}/add-note", {"text": "Van school B."})
        assert response.status_code == 404


def test_an_engaged_mentor_acts_on_that_case_only(container: Container) -> None:
    world = make_world(container, "pg-mentor")
    school = world.school_a
    mentor = as_person(container, principal(school, Role.TEACHER))
    service = CaseService(container.schools.get(school.id), school.id)
    contact = Actor(user_id=f"test-{school.slug}-contact_person", role=Role.CONTACT_PERSON)
    engaged = service.report(contact, ReportCase(reporter_kind="staff", summary="Zaak met mentor."))
    other = service.report(
        contact, ReportCase(reporter_kind="staff", summary="Zaak zonder mentor.")
    )
    service.handle(contact, HoldIntake(case_id=engaged, held_on=today(), summary="Intake."))
    service.handle(
        contact, GiveConsent(case_id=engaged, given_by="pupil", covers=["talk_with_actor"])
    )
    step = PlanStep(case_id=engaged, kind="talk_with_actor", description="Gesprek met pester.")
    service.handle(contact, step)
    service.handle(
        contact,
        EngagePerson(
            case_id=engaged, step_id=step.step_id, user_id=mentor.user_id, staff_role="teacher"
        ),
    )
    catch_up_school(container, school.id)
    with browser(container, mentor) as b:
        # Mijn werk: the step they are engaged in, with the case they may read.
        work = b.get("/")
        assert "Stap: Gesprek met de pester" in work or "Stap:" in work
        assert "Gesprek met pester." in work
        assert f"/zaken/{engaged}" in work
        assert str(other) not in work
        cases = b.get("/zaken")
        assert "Zaak met mentor." in cases
        assert "Zaak zonder mentor." not in cases
        b.get(f"/zaken/{other}", status=404)
        page = b.get(f"/zaken/{engaged}")
        # The engaged mentor completes the step and may add notes; nothing else.
        assert form_action(engaged, "complete-step") in page
        assert form_action(engaged, "add-note") in page
        assert form_action(engaged, "plan-step") not in page
        assert form_action(engaged, "close") not in page
        page = b.submit(
            f"/zaken/{engaged}/complete-step",
            {"expected_version": b.version(), "step_id": str(step.step_id), "outcome": "Gedaan."},
        )
        assert "Stap afgerond" in page
        # A report by the mentor is thanked for: the case itself is the contact person's.
        b.get("/zaken/nieuw")
        page = b.submit("/zaken", {"reporter_kind": "peer", "summary": "Nieuwe melding mentor."})
        assert "Uw melding is vastgelegd." in page


def test_safety_coordinator_and_domestic_violence_officer_see_no_case_content(
    container: Container,
) -> None:
    world = make_world(container, "pg-noread")
    summary = "Fictieve melding die zij nooit mogen lezen."
    case_id = reported_case(container, world.school_a, summary)

    with browser(container, principal(world.school_a, Role.SAFETY_COORDINATOR)) as b:
        assert b.client.get("/zaken").status_code == 403
        assert b.client.get(f"/zaken/{case_id}").status_code == 403
        for url in ("/", "/school/statistiek", "/school/signalen"):
            response = b.client.get(url)
            assert response.status_code == 200, url
            assert summary not in response.text
        assert "Statistiek van School A" in b.client.get("/school/statistiek").text

    with browser(container, principal(world.school_a, Role.DOMESTIC_VIOLENCE_OFFICER)) as b:
        home = b.get("/")
        assert "Geen toegang tot pestzaken" in home
        assert "huiselijk geweld" in home
        assert summary not in home
        for url in ("/zaken", f"/zaken/{case_id}", "/school/signalen", "/school/statistiek"):
            response = b.client.get(url)
            assert response.status_code == 403, url
            assert summary not in response.text


def test_the_board_sees_statistics_with_small_counts_suppressed(container: Container) -> None:
    world = make_world(container, "pg-board")
    for n in range(2):
        reported_case(container, world.school_a, f"Fictieve melding {n}.")
    catch_up_school(container, world.school_a.id)
    with browser(container, principal(world.school_a, Role.BOARD)) as b:
        page = b.get("/bestuur/statistiek")
        assert "Statistiek van het bestuur" in page
        assert "School A" in page
        assert "School B" in page
        assert "&lt;5" in page  # 2 new cases: shown as "<5", never as 2
        # The note says the threshold the read side uses (rendered from its constant).
        assert "Een aantal van 1 tot en met 4" in page
        assert "<svg" in page
        assert 'role="img"' in page
        assert "<table" in page
        assert "Fictieve melding" not in page
        # Board members read statistics; the coordinator's pages are not theirs.
        assert b.client.get("/school/protocol").status_code == 403


def test_the_coordinator_filters_the_cases_and_replaces_the_protocol(
    container: Container,
) -> None:
    world = make_world(container, "pg-apc")
    reported_case(container, world.school_a, "Fictieve melding zonder intake.")
    with browser(container, principal(world.school_a, Role.COORDINATOR)) as b:
        page = b.get("/zaken?status=reported")
        assert "Fictieve melding zonder intake." in page
        assert "Geen zaken gevonden" in b.get("/zaken?status=closed")
        assert "Geen zaken gevonden" in b.get("/zaken?form=online")
        b.get("/school/signalen")

        # The checklist is replaced by exactly the rows of the form (PUT semantics).
        b.get("/school/protocol")
        response = b.post(
            "/school/protocol",
            {
                "steps-count": "2",
                "steps-0-position": "1",
                "steps-0-label": "Opvanggesprek binnen een dag",
                "steps-0-event_type": "IntakeHeld",
                "steps-0-deadline": "1",
                "steps-1-position": "2",
                "steps-1-label": "Nazorg gepland",
                "steps-1-key": "nazorg",
                "steps-1-event_type": "FollowUpScheduled",
            },
        )
        assert response.status_code == 303
        page = b.get(response.headers["location"])
        assert "Het protocol is opgeslagen" in page
        assert 'value="opvanggesprek_binnen_een_dag"' in page
        assert "Melding vastgelegd" not in re.sub(r"<option[^>]*>[^<]*</option>", "", page)
        school = container.registry.school(world.school_a.id)
        assert [s.key for s in school.protocol.steps] == ["opvanggesprek_binnen_een_dag", "nazorg"]

        # A wrong row is answered in Dutch, next to the row, and nothing is stored.
        response = b.post(
            "/school/protocol",
            {
                "steps-count": "1",
                "steps-0-label": "Zonder soort",
                "steps-0-deadline": "veel",
            },
        )
        assert response.status_code == 422
        assert "Kies waarmee deze stap klaar is." in response.text
        assert "Vul een heel aantal schooldagen in" in response.text
        school = container.registry.school(world.school_a.id)
        assert len(school.protocol.steps) == 2


def test_the_operator_onboards_a_board_and_a_school_and_never_sees_cases(
    container: Container,
) -> None:
    world = make_world(container, "pg-oper")
    summary = "Fictieve melding voor de beheerder."
    case_id = reported_case(container, world.school_a, summary)
    with browser(container, principal(None, Role.OPERATOR)) as b:
        response = b.client.get("/", follow_redirects=False)
        assert response.headers["location"] == "/beheer"
        b.get("/beheer")
        page = b.submit("/beheer/besturen", {"name": "Pagina Bestuur", "slug": "pg-oper-nieuw"})
        assert "Het bestuur is toegevoegd." in page
        assert "pg-oper-nieuw" in b.options("school-board-slug")
        page = b.submit(
            "/beheer/scholen",
            {"board_slug": "pg-oper-nieuw", "name": "Pagina School", "slug": "pg-oper-school"},
        )
        assert "De school is toegevoegd." in page
        school_id = re.search(r'href="/beheer/scholen/([0-9a-f-]{36})">Pagina School<', page)
        assert school_id
        page = b.get(f"/beheer/scholen/{school_id.group(1)}")
        assert "Anti-pestprotocol" in page
        assert "nog niet ingericht" in page  # no login set up yet
        # The link with the school's staff directory (SCIM): a token, shown once, that works.
        school_url = f"/beheer/scholen/{school_id.group(1)}"
        assert "Personeelslijst koppelen (SCIM)" in page
        response = b.post(f"{school_url}/scim-token", {})
        assert response.status_code == 200, response.text[:500]
        assert response.headers["cache-control"] == "no-store"
        token = re.search(r'<code class="secret">([^<]+)</code>', response.text)
        assert token
        scim = "/scim/v2/pg-oper-school/Users"
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        assert b.client.get(scim, headers=headers).status_code == 200
        page = b.get(school_url)
        assert token.group(1) not in page  # never shown again
        page = b.submit(f"{school_url}/scim-token/uit", {})
        assert "De koppeling staat uit" in page
        assert b.client.get(scim, headers=headers).status_code == 401
        # A duplicate short name is refused next to the field.
        b.get("/beheer")
        response = b.post("/beheer/besturen", {"name": "Nog een", "slug": "pg-oper-nieuw"})
        assert response.status_code == 422
        assert "Deze korte naam is al in gebruik." in response.text
        # No case content for the operator.
        assert b.client.get(f"/zaken/{case_id}").status_code == 403
        assert summary not in html.unescape(b.client.get("/beheer").text)


def test_my_work_lists_what_each_person_has_to_do_overdue_first(container: Container) -> None:
    world = make_world(container, "pg-work")
    school = world.school_a
    owner = as_person(container, principal(school, Role.CONTACT_PERSON, user_id="sub-work-owner"))
    mentor = as_person(container, principal(school, Role.TEACHER, user_id="sub-work-mentor"))
    advisor = as_person(
        container, principal(school, Role.CONFIDENTIAL_ADVISOR, user_id="sub-work-advisor")
    )
    service = CaseService(container.schools.get(school.id), school.id)
    actor = owner.actor
    case_id = service.report(
        actor, ReportCase(reporter_kind="parent", summary="Fictieve zaak voor mijn werk.")
    )
    colleague = Actor(user_id="sub-work-colleague", role=Role.CONTACT_PERSON)
    service.report(colleague, ReportCase(reporter_kind="parent", summary="Fictieve andere zaak."))
    service.handle(actor, AssignOwner(case_id=case_id, owner_id=owner.user_id))
    service.handle(actor, HoldIntake(case_id=case_id, held_on=today(), summary="Intake."))
    service.handle(
        actor, GiveConsent(case_id=case_id, given_by="pupil", covers=["talk_with_actor"])
    )
    later = today() + timedelta(days=10)
    step = PlanStep(
        case_id=case_id,
        kind="talk_with_actor",
        description="Fictief gesprek met de pester.",
        due_on=later,
        assignee_id=mentor.user_id,
    )
    service.handle(actor, step)
    service.handle(actor, ScheduleFollowUp(case_id=case_id, due_on=today() + timedelta(days=3)))
    # The school contact files the complaint and picks the confidential advisor by name.
    school_contact = principal(school, Role.SCHOOL_CONTACT, user_id="sub-work-sc")
    filed = FileComplaint(case_id=case_id, complainant="ouders", summary="Fictieve klacht.")
    service.handle(school_contact.actor, filed)
    catch_up_school(container, school.id)
    with browser(container, school_contact) as b:
        page = html.unescape(b.get(f"/zaken/{case_id}"))
        assert "gebruikers-id" not in page
        picker = re.search(
            r'<select id="assign-complaint-support-user-id"[^>]*>(.*?)</select>', page, re.S
        )
        assert picker, "no person picker for the complaint's support"
        offered = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', picker[1]))
        assert offered[advisor.user_id] == "Test confidential_advisor (Vertrouwenspersoon)"
        assert owner.user_id not in offered  # an aanspreekpunt cannot support a complaint
        page = b.submit(
            f"/zaken/{case_id}/assign-complaint-support",
            {
                "expected_version": b.version(),
                "complaint_id": str(filed.complaint_id),
                "user_id": advisor.user_id,
                "support_role": "confidential_advisor",
            },
        )
        assert "ondersteund door Test confidential_advisor (vertrouwenspersoon)" in page

    with browser(container, owner) as b:
        work = b.get("/")
        assert "Mijn werk" in work
        assert "Nazorggesprek" in work
        assert "Zaak van mij" in work
        assert "Fictieve zaak voor mijn werk." in work
        assert "Fictieve andere zaak." not in work  # a colleague's case
        assert "Stap:" not in work  # the step is the mentor's
        # By date: the aftercare (in 3 days) before the case's own line.
        assert work.index("Nazorggesprek") < work.index("Zaak van mij")
        assert 'href="/zaken/mijn"' in work  # "Mijn zaken" in the navigation
    with browser(container, mentor) as b:
        work = b.get("/")
        assert "Fictief gesprek met de pester." in work
        assert "Nazorggesprek" not in work
    with browser(container, advisor) as b:
        work = b.get("/")
        assert "Klacht bij" in work
        assert "vertrouwenspersoon" in work
        assert f"/zaken/{case_id}" in work
        assert "Nazorggesprek" not in work


def test_the_coordinator_registers_a_serious_incident_and_the_board_sees_it(
    container: Container,
) -> None:
    """Issue 15: categories, the serious incident and its report to the Inspectie through the
    pages; the statistics count them (suppressed) and say "te weinig zaken" for a median over
    fewer than 5 cases."""
    world = make_world(container, "pg-incident")
    case_id = reported_case(container, world.school_a, "Fictieve melding van bedreiging.")
    service = CaseService(container.schools.get(world.school_a.id), world.school_a.id)
    contact = Actor(user_id=f"test-{world.school_a.slug}-contact_person", role=Role.CONTACT_PERSON)
    service.handle(contact, HoldIntake(case_id=case_id, held_on=today(), summary="Fictief."))
    catch_up_school(container, world.school_a.id)
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.COORDINATOR)) as b:
        b.get(f"{url}/categorise-incident")
        page = b.submit(
            f"{url}/categorise-incident",
            {
                "expected_version": b.version(),
                "categories": ["threat", "weapon"],
                "list_version": "2026.1",
            },
        )
        assert "Incidentcategorieën vastgelegd" in page
        assert "bedreiging" in page
        b.get(f"{url}/mark-serious-incident")
        page = b.submit(f"{url}/mark-serious-incident", {"expected_version": b.version()})
        assert "Gemarkeerd als ernstig incident" in page
        catch_up_school(container, world.school_a.id)
        signals_page = b.get("/school/signalen")
        assert 'href="/zaken?signal=inspectie_report_due"' in signals_page
        assert "Ernstig incident nog niet gemeld bij de Inspectie (uiterlijk" in signals_page
        b.get(f"{url}/record-inspectie-report")
        page = b.submit(
            f"{url}/record-inspectie-report",
            {
                "expected_version": b.version(),
                "reported_on": today().isoformat(),
                "channel": "inspectie_portal",
                "reference": "Fictief-IvhO-42",
            },
        )
        assert "Melding aan de Inspectie vastgelegd" in page
        assert "Fictief-IvhO-42" in page
        catch_up_school(container, world.school_a.id)
        page = b.get(url)  # the case page's own block, beside the timeline
        assert "Incidentregistratie" in page
        assert "bedreiging, wapenbezit" in page
        assert "via meldportaal Inspectie (kenmerk Fictief-IvhO-42)" in page
        catch_up_school(container, world.school_a.id)
        assert "Ernstig incident nog niet gemeld bij de Inspectie: <strong>0</strong>" in b.get(
            "/school/signalen"
        )
        assert "Ernstig incident nog niet gemeld bij de Inspectie (uiterlijk" not in b.page
    with browser(container, principal(world.school_a, Role.BOARD)) as b:
        page = b.get("/bestuur/statistiek")
        assert "Incidenten per maand, alle scholen samen" in page
        assert "Incidenten: bedreiging" in page
        assert "Ernstige incidenten gemeld bij de Inspectie" in page
        assert "te weinig zaken" in page  # the median days to intake over 1 case
        assert "Fictief-IvhO-42" not in page
