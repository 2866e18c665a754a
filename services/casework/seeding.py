"""Seeding history: cases whose events happened in the past (the demo, tests). Never used by a
production command.

A :class:`HistorySeeder` runs the same commands as :class:`~services.casework.handlers.CaseService`
— the same permission check, the same staff-directory check of every person a command names, the
same rules of the case against the school's day — but on a :class:`~services.shared.clock.SeedClock`
that the caller moves forward between commands: each command's events are stamped with the
clock's moment, and its dates are checked against the clock's day. The events of one case are
kept in memory and saved together by :meth:`HistorySeeder.save` (one save per case instead of one
per command, so two school years of demo history take seconds). Production handlers are built
with the system clock (:data:`~services.shared.clock.SCHOOL_CLOCK`) and stamp the real time.
"""

from __future__ import annotations

from uuid import UUID

from services.casework.commands import CaseCommand, ReportCase
from services.casework.domain import Case
from services.casework.handlers import CaseService, authorize
from services.people.lookup import check_person
from services.people.parts import Part
from services.shared.actor import Actor, acting_as
from services.shared.clock import SeedClock, on_day, stamped
from services.shared.errors import CaseNotFound

#: Cases saved per transaction (one round trip and one chain lock for all their events).
SAVE_BATCH = 50


def _erasing(case: Case) -> bool:
    return any(isinstance(e, Case.ErasureRequested) for e in case.pending_events)


class HistorySeeder:
    """Backdated commands for one school: ``service`` gives the school's application, staff
    directory and save hook; ``clock`` says when each command happens."""

    def __init__(self, service: CaseService, clock: SeedClock) -> None:
        self.service = service
        self.clock = clock
        self._pending: dict[UUID, Case] = {}

    def report(self, actor: Actor, command: ReportCase) -> UUID:
        authorize(actor, command.permission)
        owner_id = command.owner_id
        if owner_id:
            owner_id = check_person(self.service.people, owner_id, "owner_id", Part.CASE_OWNER).id
        with acting_as(actor), stamped(self.clock.moment):
            case = Case.report(
                school_id=self.service.school_id,
                reporter_kind=command.reporter_kind,
                summary=command.summary,
                owner_id=owner_id,
            )
        self._pending[case.id] = case
        return case.id

    def handle(self, actor: Actor, command: CaseCommand) -> int:
        case = self._pending.get(command.case_id)
        if case is None:
            raise CaseNotFound(f"case {command.case_id} not found among the seeded cases")
        authorize(actor, command.permission, case)
        command.authorize_on(actor, case)
        command = command.with_people(self.service.people, case)
        with acting_as(actor), on_day(self.clock.today()), stamped(self.clock.moment):
            command.execute(case)
        return case.version

    def save(self) -> int:
        """Save every seeded case, :data:`SAVE_BATCH` cases per transaction (a case with an
        erasure request on its own, through ``save_case``, which also destroys its keys);
        returns how many."""
        app = self.service.app
        cases = list(self._pending.values())
        plain = [c for c in cases if not _erasing(c)]
        for start in range(0, len(plain), SAVE_BATCH):
            app.save(*plain[start : start + SAVE_BATCH])
        for case in cases:
            if _erasing(case):
                app.save_case(case)
        saved = len(cases)
        self._pending.clear()
        if saved and self.service.on_saved is not None:
            self.service.on_saved(self.service.school_id)
        return saved
