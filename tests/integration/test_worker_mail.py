"""The worker's mail path: jobs catch a school up and mail what its events call for; the
periodic mail sweep never sends anything twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from infra.bootstrap.container import Container
from infra.entrypoints.worker.actors import mail_sweep
from infra.entrypoints.worker.inprocess import start_inprocess_worker
from services.access.roles import Role
from services.casework.commands import HoldIntake, ReportCase, ScheduleFollowUp
from tests.integration.test_notifications import CP, Inbox, inbox, new_school, staff

pytestmark = pytest.mark.integration

__all__ = ["inbox"]  # the fixture, imported for this module's tests


def test_report_is_mailed_by_the_jobs_and_reminders_by_the_mail_sweep(
    container: Container, inbox: Inbox
) -> None:
    container.settings = replace(
        container.settings, smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_tls="none",
        mail_from="vangnet@vangnet.example",
    )  # fmt: skip
    school = new_school(container)
    worker = start_inprocess_worker(container)
    try:
        # A contact person receives a report; the after-commit hint starts the jobs.
        service = container.case_service(school.id)
        cp = staff(school, Role.CONTACT_PERSON)
        case_id = service.report(cp, ReportCase(reporter_kind="parent", summary="Fictief."))
        worker.wait_until_idle()
        # catch_up_school ran, then deliver_school_mail: one e-mail to the contact persons.
        assert len(inbox.to(CP)) == 1
        assert str(case_id) in inbox.to(CP)[0].body

        # Aftercare due tomorrow: the jobs after these commands remind the owner, once.
        today = datetime.now(UTC).date()
        service.handle(cp, HoldIntake(case_id=case_id, held_on=today, summary="Intake."))
        service.handle(cp, ScheduleFollowUp(case_id=case_id, due_on=today + timedelta(days=1)))
        worker.wait_until_idle()
        assert len(inbox.messages) == 2
        # The periodic mail sweep (date-driven reminders, lost hints) sends this case nothing
        # again (the session database holds other tests' schools, which it may well mail).
        assert [mail_sweep(container).failed for _ in range(2)] == [0, 0]
        assert len([m for m in inbox.messages if str(case_id) in m.body]) == 2
    finally:
        worker.stop()
