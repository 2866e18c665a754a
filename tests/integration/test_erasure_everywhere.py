"""Erasure that leaves nothing (issue #12 §4): a made-up pupil typed into every free-text field
and every participant field through the API; the contact person sees the passages that mention
the pupil, erases the pupil and redacts the passages; then a pg_dump of the whole database, every
API answer for the case (detail and timeline, list, history, state, diff, exports in JSON and
PDF, lessons) and the captured logs hold the name, the reference and the group nowhere, while the
history still replays (showing ``[gewist]``), the audit chain verifies and the anonymous
statistics are unchanged. The name is clearly fictitious."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from infra.adapters.audit.integrity import verify_school
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from infra.bootstrap.views import verify_school as verify_school_views
from services.access.roles import Role
from services.attachments.scanning import UnscannedDemo
from services.casework.domain import Case
from services.casework.sealing import CONTENT_FIELDS, ERASED
from services.reporting.service import PublicReport
from services.shared.actor import Actor
from tenants.registry import School
from tests.documents import pdf
from tests.integration.test_erasure import _school, _stats, _tables_holding
from tests.integration.test_exports import pdf_text
from tests.integration.web import (
    FakeIssuer,
    bearer,
    configure_fake_login,
    log_in,
    principal,
    staff,
    web_client,
)

pytestmark = pytest.mark.integration

NAME = "Zorro Testpupil"
REF = "PUP-ZZ-9999"
GROUP = "Groep Zorroklas-9999"
#: What must be found nowhere afterwards (the first name alone too: passages mention it so).
NEEDLES = (NAME, REF, GROUP, "Zorro", "Zorroklas")


def mention(field: str) -> str:
    """A fictitious text for ``field`` that names the pupil, the reference and the group."""
    return f"Fictief ({field}): {NAME} ({REF}, {GROUP}) en Zorro zelf."


@dataclass
class Api:
    client: Any
    school: School
    issuer: FakeIssuer
    case_id: UUID | None = None

    def headers(self, role: Role) -> dict[str, str]:
        return bearer(self.issuer, self.school, role)

    def do(self, action: str, body: dict[str, Any], role: Role = Role.CONTACT_PERSON) -> Any:
        r = self.client.post(
            f"/api/cases/{self.case_id}/{action}", json=body, headers=self.headers(role)
        )
        assert r.status_code == 200, (action, r.text)
        return r.json()

    def search(self, **body: Any) -> Any:
        r = self.client.post(f"/api/cases/{self.case_id}/erasure-passages", json=body,
                             headers=self.headers(Role.CONTACT_PERSON))  # fmt: skip
        assert r.status_code == 200, r.text
        return r.json()

    def get(self, path: str, role: Role = Role.CONTACT_PERSON, **params: Any) -> Any:
        r = self.client.get(path, headers=self.headers(role), params=params)
        assert r.status_code == 200, (path, r.text[:500])
        return r


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    school = _school(container)
    issuer = FakeIssuer(f"https://idp.test/{school.slug}", "vangnet-api")
    configure_fake_login(container, school, issuer)
    with web_client(container, http_transport=issuer.transport) as client:
        yield Api(client, school, issuer)


def _fill_every_field(api: Api, container: Container) -> set[tuple[str, str]]:
    """Every command with free text, each text naming the pupil; the (event, field) pairs
    written."""
    written: set[tuple[str, str]] = set()

    def text(event: type[Any], field: str) -> str:
        written.add((event.__name__, field))
        return mention(f"{event.__name__}.{field}")

    # The case comes in through the public form (issue 14 §3): a parent names the pupil, and
    # the parent and the school write to each other with the follow-up code.
    reports = container.public_reports(api.school.id)
    filed = reports.file(
        PublicReport(
            reporter="parent", anonymous=False, what=text(Case.CaseReported, "summary"),
            where=mention("where"), who=mention("who"), name=f"Ouder van {NAME}",
        )
    )  # fmt: skip
    api.case_id = filed.case_id
    reports.post(filed.code, text(Case.ReporterMessagePosted, "text"))
    api.do("reply-to-reporter", {"text": mention("ReplyToReporter.text")})
    api.do("add-participant", {"pupil_ref": REF, "display_name": NAME, "group": GROUP,
                               "role": "target"})  # fmt: skip
    today = datetime.now(UTC).date()
    api.do("hold-intake", {"held_on": today.isoformat(),
                           "summary": text(Case.IntakeHeld, "summary")})  # fmt: skip
    api.do("map-situation", {"forms": ["verbal"], "locations": ["classroom"],
                             "frequency": "weekly", "impact": "moderate",
                             "description": text(Case.SituationMapped, "description")})  # fmt: skip
    api.do("discuss-solutions", {
        "desired": text(Case.SolutionsDiscussed, "desired"),
        "possible": text(Case.SolutionsDiscussed, "possible"),
        "chosen_approach": text(Case.SolutionsDiscussed, "chosen_approach"),
    })  # fmt: skip
    first_consent = str(uuid4())
    api.do("give-consent", {"consent_id": first_consent, "given_by": "parents",
                            "covers": ["talk_with_actor"]})  # fmt: skip
    api.do("withdraw-consent", {"consent_id": first_consent,
                                "reason": text(Case.ConsentWithdrawn, "reason")})  # fmt: skip
    api.do("give-consent", {"given_by": "pupil_and_parents",
                            "covers": ["talk_with_actor", "engage_colleague"]})  # fmt: skip
    step, other = str(uuid4()), str(uuid4())
    api.do("plan-step", {"step_id": step, "kind": "engage_colleague",
                         "description": text(Case.StepPlanned, "description")})  # fmt: skip
    teacher = staff(container, api.school, Role.TEACHER, "Medewerker Fictief Mentor")
    api.do("engage-person", {"step_id": step, "user_id": teacher, "staff_role": "teacher",
                             "purpose": text(Case.PersonEngaged, "purpose")})  # fmt: skip
    api.do("complete-step", {"step_id": step, "outcome": text(Case.StepCompleted, "outcome")})
    api.do("plan-step", {"step_id": other, "kind": "talk_with_actor", "description": "Fictief"})
    api.do("cancel-step", {"step_id": other, "reason": text(Case.StepCancelled, "reason")})
    api.do("flag-criminal-offence",
           {"description": text(Case.CriminalOffenceFlagged, "description")})  # fmt: skip
    api.do("advise-police-report", {"advised_to": "parents",
                                    "note": text(Case.PoliceReportAdvised, "note")})  # fmt: skip
    api.do("record-agreement", {"text": text(Case.AgreementRecorded, "text"),
                                "parties": text(Case.AgreementRecorded, "parties")})  # fmt: skip
    follow_up = str(uuid4())
    api.do("schedule-follow-up", {"follow_up_id": follow_up,
                                  "due_on": (today + timedelta(days=7)).isoformat()})  # fmt: skip
    api.do("complete-follow-up", {"follow_up_id": follow_up, "agreements_kept": True,
                                  "bullying_stopped": True, "pupil_feels_safe": True,
                                  "notes": text(Case.FollowUpCompleted, "notes")})  # fmt: skip
    api.do("add-note", {"text": text(Case.NoteAdded, "text")})
    api.do("record-contact", {"with_whom": "parents", "channel": "phone",
                              "held_on": today.isoformat(),
                              "discussed": text(Case.ContactRecorded, "discussed"),
                              "agreed": text(Case.ContactRecorded, "agreed")})  # fmt: skip
    # Incident registration: the Inspectie's reference is a short code (40 characters at most),
    # but typed: someone may still put a name in it.
    api.do("mark-serious-incident", {})
    written.add(("InspectieReportRecorded", "reference"))
    api.do("record-inspectie-report", {"reported_on": today.isoformat(), "channel": "email",
                                       "reference": f"{NAME} {REF}"})  # fmt: skip
    # An evidence file whose name, caption and content name the pupil (uploads are a page
    # form; the service is the same).
    contact = Actor(user_id="test-erasure-contact", role=Role.CONTACT_PERSON)
    container.attachment_service(api.school, scanner=UnscannedDemo()).add(
        contact,
        api.case_id,
        file_name=f"{text(Case.AttachmentAdded, 'file_name')}.pdf",
        content=pdf(f"{NAME} {REF}"),
        caption=text(Case.AttachmentAdded, "caption"),
    )
    api.do("explain-complaint-procedure",
           {"explained_to": text(Case.ComplaintProcedureExplained, "explained_to")})  # fmt: skip
    decided, withdrawn = str(uuid4()), str(uuid4())
    api.do("file-complaint", {
        "complaint_id": decided, "level": "board",
        "complainant": text(Case.ComplaintFiled, "complainant"),
        "summary": text(Case.ComplaintFiled, "summary"),
        "skip_reason": text(Case.ComplaintFiled, "skip_reason"),
    }, Role.SCHOOL_CONTACT)  # fmt: skip
    api.do("decide-complaint", {"complaint_id": decided, "outcome": "settled",
                                "summary": text(Case.ComplaintDecided, "summary")},
           Role.BOARD)  # fmt: skip
    api.do("file-complaint", {"complaint_id": withdrawn, "complainant": "Fictief",
                              "summary": "Fictief"}, Role.SCHOOL_CONTACT)  # fmt: skip
    api.do("escalate-complaint", {
        "complaint_id": withdrawn, "to_level": "committee",
        "reason": text(Case.ComplaintEscalated, "reason"),
        "skip_reason": text(Case.ComplaintEscalated, "skip_reason"),
    }, Role.SCHOOL_CONTACT)  # fmt: skip
    api.do("withdraw-complaint", {"complaint_id": withdrawn,
                                  "reason": text(Case.ComplaintWithdrawn, "reason")},
           Role.SCHOOL_CONTACT)  # fmt: skip
    lessons = [text(Case.CaseEvaluated, "lessons"), "Fictieve les"]
    api.do("evaluate", {"went_well": text(Case.CaseEvaluated, "went_well"),
                        "to_improve": text(Case.CaseEvaluated, "to_improve"),
                        "lessons": lessons})  # fmt: skip
    api.do("close", {"reason": "referred", "explanation": text(Case.CaseClosed, "explanation")})
    api.do("reopen", {"reason": text(Case.CaseReopened, "reason")})
    return written


def _answers(api: Api) -> dict[str, str]:
    """Every API answer about the case (and the school's lists), as text."""
    c = f"/api/cases/{api.case_id}"
    now = datetime.now(UTC).isoformat()
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {
        "case": api.get(c).text,
        "list": api.get("/api/cases").text,
        "history": api.get(f"{c}/history", Role.AUDITOR).text,
        "state": api.get(f"{c}/state", Role.AUDITOR, as_of=now).text,
        "diff": api.get(f"{c}/diff", Role.AUDITOR, **{"from": earlier, "to": now}).text,
        "export.json": api.get(f"{c}/export.json").text,
        "export.pdf": pdf_text(api.get(f"{c}/export.pdf").content),
        "lessons": api.get("/api/lessons", Role.COORDINATOR).text,
    }


def _dump(database_url: str) -> str:
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed for this test"
    done = subprocess.run(
        [pg_dump, "--no-owner", "--data-only", database_url],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout.decode("utf-8", errors="replace")


def _found(text: str) -> list[str]:
    return [n for n in NEEDLES if n.casefold() in text.casefold()]


def test_a_pupil_typed_into_every_field_is_gone_everywhere_after_erasure(
    api: Api, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    written = _fill_every_field(api, container)
    # Every free-text field of the catalogue was typed into (a new field must join the test).
    sealed = {(t.__name__, f) for t, fields in CONTENT_FIELDS.items() for f in fields}
    assert sealed - written == {
        ("ErasureRequested", "reason"),
        ("PassagesRedacted", "reason"),
    }  # fmt: skip  (typed below)
    school = api.school
    catch_up_school(container, school.id)
    dsn = container.settings.database_url
    assert dsn is not None

    # Before: the pages show the name, the tables (a full dump) hold it sealed only.
    answers = _answers(api)
    assert NAME in answers["case"]
    assert NAME in answers["export.pdf"]
    assert NAME in answers["lessons"]
    dump = _dump(dsn)
    assert str(api.case_id) in dump  # the dump does reach the school's tables
    assert _found(dump) == []
    stats_before = _stats(container, school.id)

    # The contact person sees every passage that mentions the pupil ...
    c = f"/api/cases/{api.case_id}"
    found = api.search()
    assert set(found["looking_for"]) >= {NAME, REF, "Zorro", "Testpupil"}
    fields = {(p["event_type"], p["field"]) for p in found["passages"]}
    assert fields == written
    # ... erases the pupil (the reason names them too) ...
    api.do("request-erasure", {"reason": f"Verzoek van de ouders van {NAME}"})
    # ... looks again for the name and reference (the participant reads [gewist] now) ...
    again = api.search(names=[NAME], references=[REF])
    ids = [p["passage_id"] for p in again["passages"]]
    assert ("ErasureRequested", "reason") in {
        (p["event_type"], p["field"]) for p in again["passages"]
    }
    # ... and redacts them all; the reason of the redaction does not name the pupil.
    api.do("redact-passages", {"passages": ids, "reason": "Fictief: AVG art. 17"})
    catch_up_school(container, school.id)
    assert api.search(names=[NAME], references=[REF])["passages"] == []

    # Nothing holds the pupil: the whole database, every answer, the logs.
    assert _found(_dump(dsn)) == []
    assert _tables_holding(container, [school.schema_name, "platform"], "Zorro") == []
    answers = _answers(api)
    assert {k: _found(v) for k, v in answers.items()} == {k: [] for k in answers}
    assert _found(caplog.text) == []

    # History still replays, showing [gewist]; the chain verifies; statistics are unchanged.
    history = api.get(f"{c}/history", Role.AUDITOR).json()
    assert ERASED in str(history)
    assert len(history["events"]) >= len({event for event, _ in written})  # every one replays
    assert ERASED in answers["case"]
    assert ERASED in answers["export.pdf"]
    report = verify_school(container.pool, school)
    assert report.ok, report.lines()
    assert verify_school_views(container, school.id) == []
    assert _stats(container, school.id) == stats_before
    with psycopg.connect(dsn) as conn:
        left = conn.execute(
            f'SELECT count(*) FROM "{school.schema_name}".content_keys WHERE case_id = %s',
            (api.case_id,),
        ).fetchone()
    assert left is not None
    assert left[0] > 0  # texts that never named the pupil are kept


def test_the_contact_person_confirms_each_passage_on_the_erasure_page(
    api: Api, container: Container
) -> None:
    api.client.post(
        "/api/cases",
        json={"reporter_kind": "parent", "summary": "Fictief: niemand genoemd"},
        headers=api.headers(Role.CONTACT_PERSON),
    )
    r = api.client.post(
        "/api/cases",
        json={"reporter_kind": "parent", "summary": f"Fictief: {NAME} werd gepest."},
        headers=api.headers(Role.CONTACT_PERSON),
    )
    api.case_id = UUID(r.json()["case_id"])
    api.do("add-participant", {"pupil_ref": REF, "display_name": NAME, "role": "target"})
    api.do("add-note", {"text": "Fictief: een notitie zonder naam."})
    api.do("add-note", {"text": f"Fictief: zorro ({REF}) voelt zich beter."})
    catch_up_school(container, api.school.id)

    log_in(api.client, principal(api.school, Role.CONTACT_PERSON))
    case_page = api.client.get(f"/zaken/{api.case_id}")
    assert f"/zaken/{api.case_id}/redact-passages" in case_page.text
    page = api.client.get(f"/zaken/{api.case_id}/redact-passages")
    assert page.status_code == 200, page.text[:500]
    # Both passages that mention the pupil are offered, the note without a name is not.
    assert f"{NAME} werd gepest" in page.text
    assert "voelt zich beter" in page.text
    assert "zonder naam" not in page.text
    ids = re.findall(r'name="passages" value="([0-9a-f]{32})"', page.text)
    assert len(ids) == 2
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    posted = api.client.post(
        f"/zaken/{api.case_id}/redact-passages",
        data={"passages": ids, "replacement": "[tekst over een leerling gewist]",
              "reason": "Fictief verzoek", "_csrf_token": token.group(1)},
        follow_redirects=False,
    )  # fmt: skip
    assert posted.status_code == 303, posted.text[:500]
    catch_up_school(container, api.school.id)
    # The case reads the typed replacement where the passages were; the other note is kept.
    shown = api.get(f"/api/cases/{api.case_id}").text
    assert "[tekst over een leerling gewist]" in shown
    assert "zonder naam" in shown
    assert "werd gepest" not in shown
    assert "voelt zich beter" not in shown
