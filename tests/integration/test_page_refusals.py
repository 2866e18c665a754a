"""The case pages after the walk-through of issue #10 (section 7): aftercare that found the
bullying going on, dates in the future, closing with an open complaint, who records a complaint
decision, and refusals that say in Dutch exactly what is missing. Through the real web app on
real PostgreSQL, as the person at the form sees it. All names and texts are fictitious.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from uuid import UUID

from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from services.access.roles import Role
from services.casework.commands import (
    CompleteFollowUp,
    HoldIntake,
    ReportCase,
    ScheduleFollowUp,
)
from services.casework.handlers import CaseService
from services.casework.labels import dutch_date
from services.complaints.commands import (
    EscalateComplaint,
    ExplainComplaintProcedure,
    FileComplaint,
)
from services.shared.actor import Actor
from tenants.registry import School
from tests.integration.readside import today
from tests.integration.test_pages import browser, form_action
from tests.integration.web import (
    FakeIssuer,
    bearer,
    configure_fake_login,
    make_world,
    principal,
    web_client,
)


def _service(container: Container, school: School) -> CaseService:
    return CaseService(container.schools.get(school.id), school.id)


def _contact(school: School) -> Actor:
    return Actor(user_id=f"test-{school.slug}-contact_person", role=Role.CONTACT_PERSON)


def _case_with_intake(container: Container, school: School) -> UUID:
    service = _service(container, school)
    case_id = service.report(
        _contact(school), ReportCase(reporter_kind="parent", summary="Fictieve melding.")
    )
    service.handle(
        _contact(school), HoldIntake(case_id=case_id, held_on=today(), summary="Fictief.")
    )
    catch_up_school(container, school.id)
    return case_id


def _file_at_committee(container: Container, school: School, case_id: UUID) -> UUID:
    complaint = FileComplaint(
        case_id=case_id,
        complainant="Ouders Test-A",
        summary="Fictieve klacht.",
        level="committee",
        skip_reason="Fictief: rechtstreeks naar de commissie.",
    )
    school_contact = Actor(user_id=f"test-{school.slug}-school_contact", role=Role.SCHOOL_CONTACT)
    _service(container, school).handle(school_contact, complaint)
    catch_up_school(container, school.id)
    return complaint.complaint_id


def text_of(page: str) -> str:
    """The page as words: tags dropped, entities decoded, whitespace collapsed (none before
    punctuation that followed a closing tag)."""
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([:;,.)])", r"\1", words)


def checklist_item(page: str, label: str) -> str:
    """The <li> of the protocol checklist that carries ``label``."""
    for item in re.findall(r'<li class="checklist__item[^"]*">.*?</li>', page, re.S):
        if label in item:
            return str(item)
    raise AssertionError(f"no checklist item {label!r}")


AFTERCARE_STEP = "Nazorg: afspraken nagekomen en pesten gestopt?"


# --- aftercare that found the bullying going on ----------------------------------------------


def test_aftercare_that_found_the_bullying_going_on_is_not_done_and_raises_a_signal(
    container: Container,
) -> None:
    world = make_world(container, "pr-nazorg")
    case_id = _case_with_intake(container, world.school_a)
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        b.get(url)
        page = b.submit(
            f"{url}/schedule-follow-up",
            {"expected_version": b.version(), "due_on": today().isoformat()},
        )
        [follow_up_id] = b.options("complete-follow-up-follow-up-id")
        # The aftercare talk: agreements not kept, bullying not stopped, pupil not safe (no
        # box ticked).
        page = b.submit(
            f"{url}/complete-follow-up",
            {"expected_version": b.version(), "follow_up_id": follow_up_id, "notes": "Fictief."},
        )
        assert "Nazorg uitgevoerd" in page  # the timeline has it ...
        # ... but the protocol step is not ticked: the bullying did not stop.
        step = checklist_item(page, AFTERCARE_STEP)
        assert "checklist__item--done" not in step
        assert "nog te doen" in step
        words = text_of(page)
        # A signal, and what to do now: new steps (consent first, none yet) and new aftercare.
        assert f"Pesten gaat door: vastgesteld bij de nazorg van {_dutch(today())}" in words
        assert "Het pesten gaat door. Bij de nazorg bleek dat het pesten nog doorgaat." in words
        guidance = page[page.index('class="guidance') :]
        guidance = guidance[: guidance.index("</div>")]
        assert f'href="{url}/give-consent"' in guidance
        assert f'href="{url}/schedule-follow-up"' in guidance
        # The checklist's next step leads to planning new aftercare (none is open to record).
        assert f'href="{url}/schedule-follow-up"' in step
        # Closing as resolved says exactly what is missing, and why.
        response = b.post(f"{url}/close", {"expected_version": b.version(), "reason": "resolved"})
        assert response.status_code == 422
        words = text_of(response.text)
        assert (
            "Afsluiten als opgelost kan pas als de nazorg heeft vastgelegd dat het pesten is "
            "gestopt en de zaak is geëvalueerd." in words
        )
        assert "Bij de laatste nazorg ging het pesten nog door" in words
        # New aftercare is scheduled after the finding: the signal ends.
        b.get(url)
        page = b.submit(
            f"{url}/schedule-follow-up",
            {"expected_version": b.version(), "due_on": (today() + timedelta(days=14)).isoformat()},
        )
        assert "Pesten gaat door" not in text_of(page)
        assert "checklist__item--done" not in checklist_item(page, AFTERCARE_STEP)
    # The coordinator sees it among the signals of the school, while it lasts.
    other = _case_with_intake(container, world.school_a)
    service = _service(container, world.school_a)
    follow_up = ScheduleFollowUp(case_id=other, due_on=today())
    service.handle(_contact(world.school_a), follow_up)
    service.handle(
        _contact(world.school_a),
        CompleteFollowUp(
            case_id=other,
            follow_up_id=follow_up.follow_up_id,
            agreements_kept=False,
            bullying_stopped=False,
            pupil_feels_safe=False,
        ),
    )
    catch_up_school(container, world.school_a.id)
    with browser(container, principal(world.school_a, Role.COORDINATOR)) as c:
        signals = text_of(c.get("/school/signalen"))
        assert "Pesten gaat door: 1" in signals
        assert f"Pesten gaat door (nazorg van {_dutch(today())})" in signals
        listed = c.get("/zaken?signal=bullying_continues")
        assert f"/zaken/{other}" in listed
        assert f"/zaken/{case_id}" not in listed


def _dutch(day: date) -> str:
    return dutch_date(day)


# --- dates of what happened ---------------------------------------------------------------------


def test_a_date_in_the_future_is_refused_beside_its_field(container: Container) -> None:
    world = make_world(container, "pr-datum")
    service = _service(container, world.school_a)
    case_id = service.report(
        _contact(world.school_a), ReportCase(reporter_kind="parent", summary="Fictieve melding.")
    )
    catch_up_school(container, world.school_a.id)
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        b.get(url)
        # Issue #10: an intake "held" in 2031.
        response = b.post(
            f"{url}/hold-intake",
            {"expected_version": b.version(), "held_on": "2031-01-01", "summary": "Fictief."},
        )
        assert response.status_code == 422
        page = response.text
        assert 'id="hold-intake-held-on-error"' in page
        assert "Deze datum ligt in de toekomst. Vul de dag in waarop het gebeurde" in page
        assert 'aria-invalid="true"' in page
        assert "Fictief." in page  # what was typed is kept
        # Bullying "since" tomorrow: the same.
        response = b.post(
            f"{url}/map-situation",
            {
                "expected_version": b.version(),
                "forms": ["verbal"],
                "frequency": "weekly",
                "impact": "low",
                "since": (today() + timedelta(days=1)).isoformat(),
            },
        )
        assert response.status_code == 422
        assert 'id="map-situation-since-error"' in response.text
        assert "Deze datum ligt in de toekomst." in response.text
        # A typo of a century is named as such.
        response = b.post(
            f"{url}/hold-intake",
            {"expected_version": b.version(), "held_on": "1926-11-30", "summary": "Fictief."},
        )
        assert "Deze datum ligt vóór het jaar 2000. Controleer het jaartal." in response.text
        # Nothing was stored.
        timeline = b.get(url)[b.page.index('id="tijdlijn"') :]
        assert "Opvanggesprek (intake) gehouden" not in timeline
        assert "Pestsituatie in kaart gebracht" not in timeline
        # A due date ahead is what it is for.
        page = b.submit(
            f"{url}/schedule-follow-up",
            {"expected_version": b.version(), "due_on": (today() + timedelta(days=30)).isoformat()},
        )
        assert "Nazorg gepland" in page


# --- closing while a complaint is open ------------------------------------------------------------


def test_closing_with_an_open_complaint_warns_and_needs_an_acknowledgement(
    container: Container,
) -> None:
    world = make_world(container, "pr-klacht")
    quiet = _case_with_intake(container, world.school_a)
    case_id = _case_with_intake(container, world.school_a)
    _file_at_committee(container, world.school_a, case_id)
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        # Without open complaints the close form has no such checkbox and no warning.
        page = b.get(f"/zaken/{quiet}")
        assert 'name="open_complaints_acknowledged"' not in page
        assert "Afsluiten van de zaak beëindigt de klacht niet" not in page
        # With one open at the committee: a warning in the close form, and the checkbox.
        page = b.get(url)
        close_form = page[page.index(form_action(case_id, "close")) :]
        close_form = close_form[: close_form.index("</form>")]
        words = text_of(close_form)
        assert (
            f"Let op: er loopt nog een klacht (bij de klachtencommissie, ingediend op "
            f"{_dutch(today())}). Afsluiten van de zaak beëindigt de klacht niet" in words
        )
        assert 'name="open_complaints_acknowledged"' in close_form
        assert "Ik weet dat de klacht blijft lopen en sluit de zaak toch af" in words
        # Closing without ticking it is refused, saying which complaint and what to do.
        response = b.post(
            f"{url}/close",
            {"expected_version": b.version(), "reason": "referred", "explanation": "Zorgteam."},
        )
        assert response.status_code == 422
        words = text_of(response.text)
        assert (
            "Er loopt nog een klacht bij de klachtencommissie. Die klacht blijft lopen als u de "
            "zaak afsluit: bevestig dat u dat weet." in words
        )
        assert 'id="close-open-complaints-acknowledged-error"' in response.text
        assert "Zorgteam." in response.text  # what was typed is kept
        # Ticked: the case closes, the complaint goes on.
        page = b.submit(
            f"{url}/close",
            {
                "expected_version": b.version(),
                "reason": "referred",
                "explanation": "Zorgteam.",
                "open_complaints_acknowledged": "on",
            },
        )
        assert "Deze zaak is afgesloten" in page
        assert "bij klachtencommissie, lopend" in text_of(page)


# --- who records the decision on a complaint --------------------------------------------------


def test_the_board_records_the_decision_at_the_committee_and_the_forms_say_so(
    container: Container,
) -> None:
    world = make_world(container, "pr-besluit")
    case_id = _case_with_intake(container, world.school_a)
    complaint_id = _file_at_committee(container, world.school_a, case_id)
    url = f"/zaken/{case_id}"
    # The school contact person connects complainant and handler: no decision form at all.
    with browser(container, principal(world.school_a, Role.SCHOOL_CONTACT)) as b:
        page = b.get(url)
        assert form_action(case_id, "escalate-complaint") in page
        assert 'id="actie-decide-complaint"' not in page
    # Management decided at level 1 only: nothing to decide at the committee.
    with browser(container, principal(world.school_a, Role.MANAGEMENT)) as b:
        page = b.get(url)
        assert form_action(case_id, "decide-complaint") not in page
        assert "Er is geen klacht waarvoor dit nu kan." in page
        # A hand-made post is refused: the complaint is not one management can choose.
        response = b.post(
            f"{url}/decide-complaint",
            {
                "complaint_id": str(complaint_id),
                "outcome": "upheld",
                "summary": "Fictief.",
            },
        )
        assert response.status_code == 422
        assert "Er is geen klacht waarvoor dit nu kan." in response.text
    # The board records its decision, taken on the committee's advice.
    with browser(container, principal(world.school_a, Role.BOARD)) as b:
        page = b.get(url)
        assert b.options("decide-complaint-complaint-id") == [str(complaint_id)]
        assert (
            "De klachtencommissie geeft het bestuur advies; het bestuur besluit daarna en legt "
            "dat besluit hier vast." in text_of(page)
        )
        page = b.submit(
            f"{url}/decide-complaint",
            {
                "expected_version": b.version(),
                "complaint_id": str(complaint_id),
                "outcome": "upheld",
                "summary": "Fictief besluit op advies van de commissie.",
            },
        )
        assert "Besluit over de klacht" in page
        assert "bij klachtencommissie, besloten (gegrond)" in text_of(page)


def test_a_decision_at_another_level_is_refused_in_dutch(container: Container) -> None:
    world = make_world(container, "pr-niveau")
    case_id = _case_with_intake(container, world.school_a)
    service = _service(container, world.school_a)
    complaint = FileComplaint(case_id=case_id, complainant="Ouders Test-A", summary="Fictief.")
    school_contact = Actor(
        user_id=f"test-{world.school_a.slug}-school_contact", role=Role.SCHOOL_CONTACT
    )
    service.handle(school_contact, complaint)
    catch_up_school(container, world.school_a.id)
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.MANAGEMENT)) as b:
        b.get(url)
        assert b.options("decide-complaint-complaint-id") == [str(complaint.complaint_id)]
        # Meanwhile the complaint went on to the committee; the page has not caught up yet.
        service.handle(
            school_contact,
            EscalateComplaint(
                case_id=case_id,
                complaint_id=complaint.complaint_id,
                to_level="committee",
                reason="Fictief.",
                skip_reason="Fictief: rechtstreeks.",
            ),
        )
        response = b.post(
            f"{url}/decide-complaint",
            {
                "complaint_id": str(complaint.complaint_id),
                "outcome": "upheld",
                "summary": "Fictief.",
            },
        )
        assert response.status_code == 403
        assert (
            "Over een klacht bij de klachtencommissie besluit het bestuur, op advies van de "
            "commissie. Dat besluit legt het bestuur vast." in text_of(response.text)
        )
    decided = [e for e in service.app.events.get(case_id) if type(e).__name__ == "ComplaintDecided"]
    assert decided == []


# --- refusals name what is missing ------------------------------------------------------------


def test_complaint_level_refusals_say_which_level_is_skipped(container: Container) -> None:
    world = make_world(container, "pr-ladder")
    case_id = _case_with_intake(container, world.school_a)
    # The contact person points the family to the complaints procedure: from then on the
    # schoolcontactpersoon sees the case's complaint file (need-to-know).
    _service(container, world.school_a).handle(
        _contact(world.school_a),
        ExplainComplaintProcedure(case_id=case_id, explained_to="ouders"),
    )
    catch_up_school(container, world.school_a.id)
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.SCHOOL_CONTACT)) as b:
        b.get(url)
        # Straight to the committee without a reason.
        response = b.post(
            f"{url}/file-complaint",
            {
                "expected_version": b.version(),
                "complainant": "Ouders Test-A",
                "summary": "Fictieve klacht.",
                "level": "committee",
            },
        )
        assert response.status_code == 422
        words = text_of(response.text)
        assert (
            "Een klacht direct bij de klachtencommissie indienen slaat de directie en het bestuur "
            "over. Dat kan (de wet staat het toe), maar vul dan de reden in om een niveau over te "
            "slaan." in words
        )
        assert 'id="file-complaint-skip-reason-error"' in response.text
        assert "Vul de reden in om een niveau over te slaan." in words
        # Filed at directie; escalating past the board without a reason names the board.
        b.submit(
            f"{url}/file-complaint",
            {
                "expected_version": b.version(),
                "complainant": "Ouders Test-A",
                "summary": "Fictieve klacht.",
                "level": "management",
            },
        )
        [complaint_id] = b.options("escalate-complaint-complaint-id")
        response = b.post(
            f"{url}/escalate-complaint",
            {
                "expected_version": b.version(),
                "complaint_id": complaint_id,
                "to_level": "committee",
                "reason": "Fictief oneens.",
            },
        )
        assert response.status_code == 422
        assert (
            "Een klacht van de directie naar de klachtencommissie doorzetten slaat het bestuur "
            "over." in text_of(response.text)
        )
        # "Escalating" to the level it is at.
        response = b.post(
            f"{url}/escalate-complaint",
            {
                "expected_version": b.version(),
                "complaint_id": complaint_id,
                "to_level": "management",
                "reason": "Fictief.",
            },
        )
        assert response.status_code == 422
        assert (
            "Een klacht gaat alleen naar een hoger niveau. Deze klacht ligt al bij de directie; "
            "de directie is geen hoger niveau." in text_of(response.text)
        )
        assert "Deze klacht ligt op een ander niveau." not in response.text


def test_other_refusals_on_the_forms_name_what_is_missing(container: Container) -> None:
    world = make_world(container, "pr-regels")
    case_id = _case_with_intake(container, world.school_a)
    url = f"/zaken/{case_id}"
    with browser(container, principal(world.school_a, Role.CONTACT_PERSON)) as b:
        b.get(url)
        # Referred without saying why.
        response = b.post(f"{url}/close", {"expected_version": b.version(), "reason": "referred"})
        assert response.status_code == 422
        assert (
            'Bij afsluiten als "doorverwezen" hoort een toelichting: vul in waarom de zaak '
            "wordt afgesloten." in text_of(response.text)
        )
        assert "De zaak kan nog niet worden afgesloten." not in response.text
        # The same pupil twice.
        pupil = {"expected_version": b.version(), "pupil_ref": "LL-7001", "role": "target"}
        b.submit(f"{url}/add-participant", pupil)
        response = b.post(
            f"{url}/add-participant", {**pupil, "expected_version": b.version(), "role": "actor"}
        )
        assert response.status_code == 422
        assert 'id="add-participant-pupil-ref-error"' in response.text
        assert "Deze leerling is al betrokken bij deze zaak." in response.text
        # A second intake from a page that was open too long.
        response = b.post(
            f"{url}/hold-intake",
            {"expected_version": b.version(), "held_on": today().isoformat(), "summary": "F."},
        )
        assert response.status_code == 422
        assert "Het opvanggesprek is al vastgelegd." in response.text


def test_the_api_names_the_same_missing_things(container: Container) -> None:
    # The API keeps English messages, and carries the same facts as structured fields.
    world = make_world(container, "pr-api")
    case_id = _case_with_intake(container, world.school_a)
    complaint_id = _file_at_committee(container, world.school_a, case_id)
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    headers = bearer(issuer, world.school_a, Role.CONTACT_PERSON)
    with web_client(container, http_transport=issuer.transport) as client:
        response = client.post(
            f"/api/cases/{case_id}/close", json={"reason": "resolved"}, headers=headers
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "close_not_allowed"
        for named in (
            "aftercare that recorded the bullying stopped",
            "an evaluation of the case",
            f"{complaint_id} at 'committee'",
            "open_complaints_acknowledged",
        ):
            assert named in problem["detail"]
        assert problem["missing"] == [
            "aftercare_bullying_stopped",
            "evaluation",
            "open_complaints_acknowledged",
        ]
        assert problem["details"]["open_complaints"] == [
            {"complaint_id": str(complaint_id), "level": "committee"}
        ]
        # A date in the future names the field and why.
        response = client.post(
            f"/api/cases/{case_id}/map-situation",
            json={"forms": ["verbal"], "frequency": "weekly", "impact": "low",
                  "since": "2031-01-01"},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {
                "field": "since",
                "reason": "in_future",
                "message": response.json()["detail"],
            }
        ]
        assert "since 2031-01-01 lies after today" in response.json()["detail"]
