"""One handler for every case command: load, authorize, execute, save.

The school is resolved once at the edge and passed in; what is loaded is checked to belong to it
(Sentry's ``OrganizationEndpoint``; Zulip's ``get_stream_by_id_in_realm``). Authorization asks
the permission table in :mod:`tenants.roles`; nothing here decides roles by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from services.casework.application import CaseworkApplication
from services.casework.commands import CaseCommand, ReportCase
from services.casework.domain import Case
from services.shared.actor import Actor, acting_as
from services.shared.clock import SCHOOL_CLOCK, Clock, on_day
from services.shared.errors import PermissionDenied, StaleVersion
from tenants.roles import ENGAGED_PERMISSIONS, Permission, Role, has_permission

log = logging.getLogger(__name__)


def authorize(actor: Actor, permission: Permission, case: Case | None = None) -> None:
    """Refuse, with a clear error, an action the actor's role does not allow (on this case)."""
    engaged = case is not None and case.is_engaged(actor.user_id)
    if has_permission(actor.role, permission, engaged=engaged):
        return
    if actor.role is Role.DOMESTIC_VIOLENCE_OFFICER:
        msg = "the domestic-violence officer has no access to bullying cases"
    elif case is not None and permission in ENGAGED_PERMISSIONS.get(actor.role, frozenset()):
        msg = f"role '{actor.role}' may '{permission}' only on cases they are engaged in"
    else:
        msg = f"role '{actor.role}' may not '{permission}'"
    raise PermissionDenied(msg)


class CaseService:
    """The write side of one school's casework, for one acting user at a time.

    ``on_saved`` is called with the school id after every successful save (infra passes
    ``infra.worker.actors.notify_saved``: "catch this school's projections up"). The command has
    committed by then, so a failing hook is logged and never turns it into an error.
    ``clock`` tells the school's day that commands check their dates against (the system clock
    in Dutch time unless a test or the demo fixes the day).
    """

    def __init__(
        self,
        app: CaseworkApplication,
        school_id: UUID,
        on_saved: Callable[[UUID], None] | None = None,
        clock: Clock = SCHOOL_CLOCK,
    ) -> None:
        self.app = app
        self.school_id = school_id
        self.on_saved = on_saved
        self.clock = clock

    def _saved(self) -> None:
        if self.on_saved is None:
            return
        try:
            self.on_saved(self.school_id)
        except Exception as e:
            log.warning("on_saved hook failed for school %s: %s", self.school_id, type(e).__name__)

    def report(self, actor: Actor, command: ReportCase) -> UUID:
        authorize(actor, command.permission)
        with acting_as(actor):
            case = Case.report(
                school_id=self.school_id,
                reporter_kind=command.reporter_kind,
                summary=command.summary,
                owner_id=command.owner_id
                or (actor.user_id if actor.role is Role.CONTACT_PERSON else None),
            )
        self.app.save_case(case)
        self._saved()
        return case.id

    def handle(self, actor: Actor, command: CaseCommand) -> int:
        """Run one command on one case; returns the case's new version."""
        case = self.app.get_case(command.case_id, self.school_id)
        authorize(actor, command.permission, case)
        command.authorize_on(actor, case)
        if command.expected_version is not None and command.expected_version != case.version:
            msg = (
                f"case {case.id} is at version {case.version}, the command was made against "
                f"version {command.expected_version}: reload and retry"
            )
            raise StaleVersion(msg)
        with acting_as(actor), on_day(self.clock.today()):
            command.execute(case)
        self.app.save_case(case)
        self._saved()
        return case.version

    def read(self, actor: Actor, case_id: UUID, version: int | None = None) -> Case:
        """The case's current (or historical) state, for those who may read its content."""
        case = self.app.get_case(case_id, self.school_id)
        authorize(actor, Permission.CASE_READ, case)
        if version is not None:
            return self.app.get_case(case_id, self.school_id, version=version)
        return case
