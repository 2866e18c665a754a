"""Notifications and aftercare reminders on real PostgreSQL and a real SMTP server.

An aiosmtpd server on 127.0.0.1 receives what :mod:`infra.bootstrap.notifications` sends through
the real
``SmtpMailer``; every test counts the e-mails that arrived. Cases are built through
``CaseService`` with fictitious data.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiosmtpd.controller import Controller
from psycopg.sql import SQL, Identifier

from infra.adapters.mail import LogMailer, Mailer, SmtpMailer, mailer_from_settings
from infra.bootstrap.container import Container
from infra.bootstrap.notifications import (
    CLAIM_LEASE,
    DeliveryFailed,
    deliver_notifications,
    send_due_reminders,
)
from infra.bootstrap.views import catch_up_school, rebuild_school, verify_school
from infra.entrypoints.web.auth.gate import PeopleGate
from services.access.roles import Role
from services.casework import commands as c
from services.casework.handlers import CaseService
from services.complaints import commands as k
from services.people.directory import Provisioned
from services.people.domain import Profile
from services.shared.actor import Actor
from tenants.registry import School

pytestmark = pytest.mark.integration

CP = ["aanspreekpunt@school.example", "aanspreekpunt2@school.example"]
COORDINATOR = ["apc@school.example"]
MANAGEMENT = ["directie@school.example"]
BOARD = ["bestuur@bestuur.example"]
PUPIL_NAME = "Pietje Testleerling"
SUMMARY = f"Fictieve melding: {PUPIL_NAME} wordt op het plein uitgescholden."


@dataclass(frozen=True)
class Received:
    rcpt: tuple[str, ...]
    subject: str
    body: str
    raw: bytes


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.port = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = bytes(envelope.content)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_content()
        with self._lock:
            self.messages.append(
                Received(tuple(sorted(envelope.rcpt_tos)), str(msg["Subject"]), body, raw)
            )
        return "250 Message accepted for delivery"

    def to(self, addresses: list[str]) -> list[Received]:
        return [m for m in self.messages if m.rcpt == tuple(sorted(addresses))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    handler.port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def mailer(container: Container, inbox: Inbox) -> Mailer:
    # The real mailer, built from settings as the worker builds it.
    settings = replace(
        container.settings,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_tls="none",
        mail_from="Vangnet <vangnet@vangnet.example>",
    )
    built = mailer_from_settings(settings)
    assert isinstance(built, SmtpMailer)
    return built


def new_school(container: Container, *, contacts: bool = True) -> School:
    slug = f"meldschool-{uuid4().hex[:8]}"
    board = container.create_board(f"Testbestuur {slug}", slug=f"bestuur-{slug}")
    school = container.create_school(board.slug, f"Testschool {slug}", slug=slug)
    if contacts:
        container.registry.configure_contacts(
            school.id,
            contact_person_emails=CP,
            coordinator_emails=COORDINATOR,
            management_emails=MANAGEMENT,
            board_emails=BOARD,
        )
    return school


def staff(school: School, role: Role) -> Actor:
    return Actor(f"test-{school.slug}-{role.value}", role)


def report(container: Container, school: School) -> tuple[CaseService, UUID]:
    service = CaseService(container.schools.get(school.id), school.id)
    cp = staff(school, Role.CONTACT_PERSON)
    case_id = service.report(cp, c.ReportCase(reporter_kind="parent", summary=SUMMARY))
    service.handle(
        cp,
        c.AddParticipant(
            case_id=case_id, pupil_ref="LL-0001", role="target", display_name=PUPIL_NAME
        ),
    )
    return service, case_id


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().date()


def test_new_report_mails_the_contact_persons_once(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    _, case_id = report(container, school)
    catch_up_school(container, school.id)

    assert deliver_notifications(container, school.id, mailer, now=now()) == 1
    assert deliver_notifications(container, school.id, mailer, now=now()) == 0

    assert len(inbox.messages) == 1
    [mail] = inbox.to(CP)
    assert f"http://127.0.0.1:8000/cases/{case_id}" in mail.body
    assert school.slug in mail.body
    assert "Nieuwe melding" in mail.subject
    for secret in (PUPIL_NAME, SUMMARY, "Pietje", "uitgescholden", "LL-0001"):
        assert secret not in mail.body
        assert secret.encode() not in mail.raw


def test_complaints_go_to_the_level_they_reach(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    service, case_id = report(container, school)
    complaint = k.FileComplaint(case_id=case_id, complainant="ouders", summary="Te traag.")
    service.handle(staff(school, Role.SCHOOL_CONTACT), complaint)
    service.handle(
        staff(school, Role.MANAGEMENT),
        k.DecideComplaint(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            outcome="rejected",
            summary="Afgewezen.",
        ),
    )
    service.handle(
        staff(school, Role.CONFIDENTIAL_ADVISOR),
        k.EscalateComplaint(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            to_level="board",
            reason="Niet tevreden.",
        ),
    )
    catch_up_school(container, school.id)
    assert deliver_notifications(container, school.id, mailer, now=now()) == 3

    [to_board] = inbox.to(BOARD)
    assert "Klacht doorgezet naar bestuur" in to_board.subject
    assert "het bestuur" in to_board.body
    assert f"/cases/{case_id}" in to_board.body
    [filed] = inbox.to(MANAGEMENT)
    assert "Nieuwe klacht bij directie" in filed.subject
    assert "Te traag" not in to_board.body + filed.body
    assert "Niet tevreden" not in to_board.body

    # Up to the klachtencommissie: the school's management gets it, to forward.
    service.handle(
        staff(school, Role.BOARD),
        k.EscalateComplaint(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            to_level="committee",
            reason="Naar de commissie.",
        ),
    )
    catch_up_school(container, school.id)
    assert deliver_notifications(container, school.id, mailer, now=now()) == 1
    committee = inbox.to(MANAGEMENT)[-1]
    assert "klachtencommissie" in committee.body
    assert "doorsturen" in committee.body
    assert len(inbox.messages) == 4


def test_reminders_before_the_due_date_and_overdue_aftercare_once(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    service, case_id = report(container, school)
    cp = staff(school, Role.CONTACT_PERSON)
    day = today()
    soon = c.ScheduleFollowUp(case_id=case_id, due_on=day + timedelta(days=2))
    later = c.ScheduleFollowUp(case_id=case_id, due_on=day + timedelta(days=10))
    late = c.ScheduleFollowUp(case_id=case_id, due_on=day - timedelta(days=3))
    done = c.ScheduleFollowUp(case_id=case_id, due_on=day + timedelta(days=1))
    for command in (soon, later, late, done):
        service.handle(cp, command)
    service.handle(
        cp,
        c.RecordAgreement(
            case_id=case_id,
            text=f"{PUPIL_NAME} zit niet meer naast de pester.",
            parties="leerlingen en mentor",
            review_on=day + timedelta(days=1),
        ),
    )
    service.handle(
        cp,
        c.CompleteFollowUp(
            case_id=case_id,
            follow_up_id=done.follow_up_id,
            agreements_kept=True,
            bullying_stopped=True,
            pupil_feels_safe=True,
        ),
    )
    catch_up_school(container, school.id)

    # Due in 2 days (the default VANGNET_REMINDER_DAYS), a review tomorrow, one overdue.
    assert send_due_reminders(container, school.id, mailer, today=day) == 3
    assert send_due_reminders(container, school.id, mailer, today=day) == 0
    reminders = inbox.to(CP)
    assert len(reminders) == 2
    assert {m.subject.split("] ")[1].split(" op ")[0] for m in reminders} == {
        "Herinnering: nazorg",
        "Herinnering: afspraken evalueren",
    }
    [overdue] = inbox.to(COORDINATOR)
    assert "Nazorg te laat" in overdue.subject
    assert f"/cases/{case_id}" in overdue.body
    assert all(PUPIL_NAME not in m.body for m in inbox.messages)

    # Eight days later only the 10-day follow-up is within its window; the 2-day one is now
    # overdue (one coordinator e-mail); the overdue one of before is not mailed again.
    assert send_due_reminders(container, school.id, mailer, today=day + timedelta(days=8)) == 2
    assert send_due_reminders(container, school.id, mailer, today=day + timedelta(days=8)) == 0
    assert len(inbox.to(CP)) == 3
    assert len(inbox.to(COORDINATOR)) == 2


def test_closing_cancels_reminders_and_reopening_restores_them(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    service, case_id = report(container, school)
    cp = staff(school, Role.CONTACT_PERSON)
    day = today()
    service.handle(cp, c.ScheduleFollowUp(case_id=case_id, due_on=day + timedelta(days=1)))
    service.handle(cp, c.ScheduleFollowUp(case_id=case_id, due_on=day - timedelta(days=1)))
    service.handle(
        cp, c.CloseCase(case_id=case_id, reason="referred", explanation="Naar het zorgteam.")
    )
    catch_up_school(container, school.id)
    assert send_due_reminders(container, school.id, mailer, today=day) == 0

    service.handle(cp, c.ReopenCase(case_id=case_id, reason="Opnieuw gemeld."))
    catch_up_school(container, school.id)
    assert send_due_reminders(container, school.id, mailer, today=day) == 2
    assert len(inbox.to(CP)) == 1
    assert len(inbox.to(COORDINATOR)) == 1


def test_two_workers_at_once_send_each_email_once(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    cases = [report(container, school) for _ in range(6)]
    cp = staff(school, Role.CONTACT_PERSON)
    for service, case_id in cases:
        service.handle(cp, c.ScheduleFollowUp(case_id=case_id, due_on=today()))
        service.handle(cp, c.ScheduleFollowUp(case_id=case_id, due_on=today() - timedelta(1)))
    catch_up_school(container, school.id)

    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            start.wait()
            n = deliver_notifications(container, school.id, mailer, now=now())
            n += send_due_reminders(container, school.id, mailer, today=today())
        except BaseException as e:
            with lock:
                errors.append(e)
        else:
            with lock:
                counts.append(n)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors, errors
    # 6 reports + 6 reminders + 6 overdue e-mails, each exactly once over both workers.
    assert sum(counts) == 18
    assert len(inbox.messages) == 18
    assert len({m.body for m in inbox.messages}) == 18


def test_rebuilding_the_views_sends_nothing_again(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    service, case_id = report(container, school)
    cp = staff(school, Role.CONTACT_PERSON)
    service.handle(cp, c.ScheduleFollowUp(case_id=case_id, due_on=today() + timedelta(days=1)))
    catch_up_school(container, school.id)
    assert deliver_notifications(container, school.id, mailer, now=now()) == 1
    assert send_due_reminders(container, school.id, mailer, today=today()) == 1

    rebuild_school(container, school.id)
    assert verify_school(container, school.id) == []
    assert deliver_notifications(container, school.id, mailer, now=now()) == 0
    assert send_due_reminders(container, school.id, mailer, today=today()) == 0
    assert len(inbox.messages) == 2

    # The ledger survived the rebuild; new events after it are still delivered.
    report(container, school)
    catch_up_school(container, school.id)
    assert deliver_notifications(container, school.id, mailer, now=now()) == 1


def _ledger(container: Container, school: School, sql: str, *params: Any) -> list[Any]:
    with container.pool.connection() as conn:
        cur = conn.execute(
            SQL(sql).format(Identifier(school.schema_name, "notification_sent")), params
        )
        return cur.fetchall() if cur.description else []


def test_a_crashed_claim_is_taken_over_after_the_lease(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    _, case_id = report(container, school)
    catch_up_school(container, school.id)
    key = f"outbox:{case_id}:1"
    # A worker claimed it and died before sending: within the lease nobody sends it.
    _ledger(
        container, school, "INSERT INTO {} (notification_key, claimed_at) VALUES (%s, now())", key
    )
    assert deliver_notifications(container, school.id, mailer, now=now()) == 0
    # After the lease another worker takes over.
    _ledger(
        container, school, "UPDATE {} SET claimed_at = now() - %s WHERE notification_key = %s",
        CLAIM_LEASE + timedelta(seconds=1), key,
    )  # fmt: skip
    assert deliver_notifications(container, school.id, mailer, now=now()) == 1
    [row] = _ledger(container, school, "SELECT * FROM {} WHERE notification_key = %s", key)
    assert row["sent_at"] is not None
    assert row["attempts"] == 2
    assert len(inbox.messages) == 1


class FailingMailer:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, to: list[str], subject: str, body: str) -> None:
        self.calls += 1
        raise ConnectionRefusedError("smtp down")


def test_a_failed_send_is_released_and_retried(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    report(container, school)
    report(container, school)
    catch_up_school(container, school.id)
    failing = FailingMailer()
    with pytest.raises(DeliveryFailed):
        deliver_notifications(container, school.id, failing, now=now())
    assert failing.calls == 2  # one failure does not hold up the other
    assert _ledger(container, school, "SELECT * FROM {}") == []
    assert deliver_notifications(container, school.id, mailer, now=now()) == 2
    assert len(inbox.messages) == 2


def test_without_addresses_nothing_is_sent_until_they_are_configured(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container, contacts=False)
    report(container, school)
    catch_up_school(container, school.id)
    assert deliver_notifications(container, school.id, mailer, now=now()) == 0
    container.registry.configure_contacts(school.id, contact_person_emails=CP)
    assert deliver_notifications(container, school.id, mailer, now=now()) == 1
    assert len(inbox.to(CP)) == 1


def test_old_history_is_not_mailed(container: Container, inbox: Inbox, mailer: Mailer) -> None:
    school = new_school(container)
    report(container, school)
    catch_up_school(container, school.id)
    # As if the view was first created on a school with a week of history.
    assert deliver_notifications(container, school.id, mailer, now=now() + timedelta(8)) == 0
    assert inbox.messages == []


def test_log_mailer_without_smtp_host(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = mailer_from_settings(container.settings)
    assert isinstance(mailer, LogMailer)
    school = new_school(container)
    _, case_id = report(container, school)
    catch_up_school(container, school.id)
    with caplog.at_level(logging.INFO):
        assert deliver_notifications(container, school.id, mailer, now=now()) == 1
    assert "Nieuwe melding" in caplog.text
    assert str(case_id) in caplog.text  # the key: ids only
    assert CP[0] not in caplog.text
    assert PUPIL_NAME not in caplog.text


def _person(container: Container, school: School, role: Role, name: str, mail: str = "") -> str:
    """A provisioned member of staff (fictitious) with an e-mail address in the directory."""
    directory = PeopleGate(container).directory(school)
    person = directory.provision(
        Provisioned(profile=Profile(display_name=name, email=mail), roles=(role,))
    )
    return str(person.id)


def test_reminders_go_to_the_person_whose_date_it_is(
    container: Container, inbox: Inbox, mailer: Mailer
) -> None:
    school = new_school(container)
    service, case_id = report(container, school)
    cp = staff(school, Role.CONTACT_PERSON)
    day = today()
    owner = _person(
        container, school, Role.CONTACT_PERSON, "Eigenaar Test-A", "eigenaar@school.example"
    )
    mentor = _person(container, school, Role.TEACHER, "Mentor Test-B", "mentor@school.example")
    no_mail = _person(container, school, Role.CONTACT_PERSON, "Zonder Adres Test-C")
    service.handle(cp, c.AssignOwner(case_id=case_id, owner_id=owner))
    service.handle(cp, c.HoldIntake(case_id=case_id, held_on=day, summary="Fictief gesprek."))
    service.handle(cp, c.GiveConsent(case_id=case_id, given_by="pupil", covers=["talk_with_actor"]))
    step = c.PlanStep(
        case_id=case_id,
        kind="talk_with_actor",
        description=f"Gesprek over {PUPIL_NAME}.",
        due_on=day + timedelta(days=1),
        assignee_id=mentor,
    )
    service.handle(cp, step)
    service.handle(cp, c.ScheduleFollowUp(case_id=case_id, due_on=day + timedelta(days=2)))
    # A second case, owned by someone without an address: the school's contact persons.
    _, other = report(container, school)
    service.handle(cp, c.AssignOwner(case_id=other, owner_id=no_mail))
    service.handle(cp, c.ScheduleFollowUp(case_id=other, due_on=day + timedelta(days=1)))
    catch_up_school(container, school.id)

    assert send_due_reminders(container, school.id, mailer, today=day) == 3
    [to_mentor] = inbox.to(["mentor@school.example"])
    assert "Herinnering: stap" in to_mentor.subject
    assert "een stap uitvoert" in to_mentor.body
    assert f"/cases/{case_id}" in to_mentor.body
    [to_owner] = inbox.to(["eigenaar@school.example"])
    assert "Herinnering: nazorg" in to_owner.subject
    [fallback] = inbox.to(CP)
    assert f"/cases/{other}" in fallback.body
    for mail in inbox.messages:
        assert len(mail.rcpt) == len(set(mail.rcpt))
        for secret in (PUPIL_NAME, "Pietje", "LL-0001", "Gesprek over"):
            assert secret not in mail.body
            assert secret.encode() not in mail.raw

    # A completed step is not reminded of again, and nothing is sent twice.
    service.handle(
        cp, c.CompleteStep(case_id=case_id, step_id=step.step_id, outcome="Gesprek gevoerd.")
    )
    catch_up_school(container, school.id)
    assert send_due_reminders(container, school.id, mailer, today=day) == 0
