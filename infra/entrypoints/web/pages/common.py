"""What every page shares: who is looking (the viewer), the header's navigation, rendering.

A page handler starts with :func:`viewer_of` (the principal and their school, resolved once),
checks a permission, makes one query or service call and returns :func:`render`. The viewer is
also left in the request's state, so an error page rendered later still shows the header.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from litestar import MediaType, Request
from litestar.response import Template

from infra.adapters.auth.principal import Principal
from infra.entrypoints.web.actions import FIELD_VOCABULARIES
from infra.entrypoints.web.context import Services, principal_of
from infra.entrypoints.web.forms import Option
from services.access.need_to_know import reads_case_wide, reads_cases
from services.access.roles import ROLE_LABELS_NL, Permission, Role
from services.casework.labels import MONTHS_NL, dutch_date, vocabulary_label
from services.casework.vocabulary import (
    CaseStatus,
    CloseReason,
    ComplaintLevel,
    ComplaintOutcome,
    ReportChannel,
    ReporterKind,
    StepKind,
)
from services.shared.clock import SCHOOL_TZ
from services.shared.errors import PermissionDenied
from tenants.registry import School

VIEWER_STATE_KEY = "vangnet_viewer"


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str
    label: str


@dataclass(frozen=True)
class Viewer:
    """The logged-in person as the page header shows them."""

    principal: Principal
    school: School | None

    @property
    def display_name(self) -> str:
        return self.principal.display_name or self.principal.user_id

    @property
    def school_name(self) -> str:
        return self.school.name if self.school is not None else "Platformbeheer"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS_NL[self.principal.role]

    @property
    def role_options(self) -> list[Option]:
        return [Option(str(r), ROLE_LABELS_NL[r]) for r in self.principal.roles]

    @property
    def several_roles(self) -> bool:
        return len(self.principal.roles) > 1

    def may(self, permission: Permission) -> bool:
        return self.principal.may(permission)

    @property
    def reads_pupils(self) -> bool:
        """May open the pupil register and a pupil's chronology (roles that read case-wide)."""
        return self.principal.may(Permission.PUPILS_READ)

    @property
    def reads_engaged_cases(self) -> bool:
        """Reads only the cases they have a part in (need-to-know: a mentor or IB'er engaged
        in a step, the complaint roles), not every case of the school."""
        role = self.principal.role
        return reads_cases(role) and not reads_case_wide(role)

    @property
    def nav(self) -> list[NavItem]:
        """The main navigation of the active role (only what the role may open)."""
        p = self.principal
        items: list[NavItem] = []
        if p.school_id is not None and p.role is not Role.DOMESTIC_VIOLENCE_OFFICER:
            items.append(NavItem("werk", "/", "Mijn werk"))
        if p.role is Role.CONTACT_PERSON:
            items.append(NavItem("mijn-zaken", "/zaken/mijn", "Mijn zaken"))
        if p.school_id is not None and reads_case_wide(p.role):
            items.append(NavItem("zaken", "/zaken", "Alle zaken"))
        elif p.school_id is not None and self.reads_engaged_cases:
            items.append(NavItem("zaken", "/zaken", "Mijn betrokken zaken"))
        if p.school_id is not None and p.may(Permission.CASE_REPORT):
            items.append(NavItem("nieuw", "/zaken/nieuw", "Nieuwe melding"))
        if p.school_id is not None and p.may(Permission.PUPILS_READ):
            items.append(NavItem("leerlingen", "/leerlingen", "Leerlingen"))
        if p.school_id is not None and p.may(Permission.SIGNALS_READ):
            items.append(NavItem("signalen", "/school/signalen", "Signalen"))
        if p.school_id is not None and p.may(Permission.LESSONS_READ):
            items.append(NavItem("leerpunten", "/school/leerpunten", "Leerpunten"))
        if p.school_id is not None and p.may(Permission.PROTOCOL_MANAGE):
            items.append(NavItem("protocol", "/school/protocol", "Protocol"))
        if (p.school_id is not None and p.may(Permission.COMPLAINT_EXPLAIN)) or (
            p.school_id is not None and p.may(Permission.PROTOCOL_MANAGE)
        ):
            items.append(
                NavItem("klachtenregeling", "/school/klachtenregeling", "Klachtenregeling")
            )
        if p.school_id is not None and p.may(Permission.STATS_SCHOOL):
            items.append(NavItem("statistiek", "/school/statistiek", "Statistiek school"))
        if p.may(Permission.STATS_BOARD):
            items.append(NavItem("bestuur", "/bestuur/statistiek", "Statistiek bestuur"))
        if p.may(Permission.TENANTS_MANAGE):
            items.append(NavItem("beheer", "/beheer", "Besturen en scholen"))
        return items


async def viewer_of(request: Request[Any, Any, Any]) -> Viewer:
    """The logged-in person and their school (401 -> the login page when nobody is)."""
    principal = await principal_of(request)
    school = None
    if principal.school_id is not None:
        school = await Services.of(request.app.state).directory.school(principal.school_id)
    viewer = Viewer(principal=principal, school=school)
    request.scope.setdefault("state", {})[VIEWER_STATE_KEY] = viewer
    return viewer


def school_required(viewer: Viewer) -> School:
    """The viewer's school; the operator has none (403)."""
    if viewer.school is None:
        raise PermissionDenied("this page needs a school role; the platform operator has none")
    return viewer.school


# --- formatting helpers for the templates -----------------------------------------------------

MONTHS_SHORT_NL = tuple(m[:3] for m in MONTHS_NL)

#: Vocabularies by the name templates use for them (field names, and a few more).
LABEL_KINDS: dict[str, type[StrEnum]] = {
    **FIELD_VOCABULARIES,
    "status": CaseStatus,
    "close_reason": CloseReason,
    "complaint_outcome": ComplaintOutcome,
    "complaint_level": ComplaintLevel,
    "step_kind": StepKind,
    "reporter_kind": ReporterKind,
    "report_channel": ReportChannel,
}


class Ui:
    """Small formatting helpers, passed to every page as ``ui``."""

    @staticmethod
    def date(value: dt.date | str | None) -> str:
        """``21 november 2026``; a moment is taken on the Dutch calendar."""
        if isinstance(value, dt.datetime):
            return dutch_date(value.astimezone(SCHOOL_TZ).date())
        return dutch_date(value)

    @staticmethod
    def datetime(value: dt.datetime | str | None) -> str:
        if value is None or value == "":
            return ""
        moment = value
        if isinstance(value, str):
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
        assert isinstance(moment, dt.datetime)
        local = moment.astimezone(SCHOOL_TZ)
        return f"{dutch_date(local.date())}, {local:%H:%M}"

    @staticmethod
    def iso(value: dt.date | dt.datetime | None) -> str:
        """For ``<time datetime=...>``."""
        return value.isoformat() if value is not None else ""

    @staticmethod
    def month(value: dt.date) -> str:
        return f"{MONTHS_SHORT_NL[value.month - 1]} {value.year}"

    @staticmethod
    def month_long(value: dt.date) -> str:
        return f"{MONTHS_NL[value.month - 1]} {value.year}"

    @staticmethod
    def role(value: str | None) -> str:
        try:
            return ROLE_LABELS_NL[Role(value or "")]
        except ValueError:
            return value or ""

    @staticmethod
    def label(kind: str, value: str | None) -> str:
        """The Dutch label of a stored vocabulary value (``ui.label("forms", "verbal")``)."""
        return vocabulary_label(LABEL_KINDS[kind], value)

    @staticmethod
    def labels(kind: str, values: Any) -> str:
        """Labels of several values, in the vocabulary's order (stored sorted by value)."""
        vocabulary = LABEL_KINDS[kind]
        order = {v.value: i for i, v in enumerate(vocabulary)}
        ordered = sorted((str(v) for v in values or ()), key=lambda v: order.get(v, len(order)))
        return ", ".join(vocabulary_label(vocabulary, v) for v in ordered)

    @staticmethod
    def yes_no(value: Any) -> str:
        if value is None:
            return "onbekend"
        return "ja" if value else "nee"

    @staticmethod
    def short_id(value: Any) -> str:
        return str(value)[:8]


UI = Ui()


def render(
    viewer: Viewer | None,
    template: str,
    *,
    status: int = 200,
    active: str | None = None,
    **context: Any,
) -> Template:
    """A page: ``template`` with the viewer, the helpers and ``context``."""
    return Template(
        template_name=template,
        context={"viewer": viewer, "ui": UI, "active": active, "status": status, **context},
        status_code=status,
        media_type=MediaType.HTML,
    )
