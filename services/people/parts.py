"""Who may take which part in a case, as data (seed 001, DESIGN.md §1; see README.md).

A *part* is what a command names a person for. :data:`PART_ROLES` says which roles at the
school can take it; :func:`roles_for_part` adds the one part whose roles depend on the case (the
complaint handler of a level). Nothing else decides it.
"""

from __future__ import annotations

from enum import StrEnum

from services.access.roles import Permission, Role
from services.casework.deciders import COMPLAINT_DECIDERS
from services.casework.vocabulary import ComplaintLevel, ComplaintSupportRole


class Part(StrEnum):
    """What a command names a person for (stable words: they appear in refusals)."""

    CASE_OWNER = "case_owner"
    STEP_ASSIGNEE = "step_assignee"
    ENGAGED_COLLEAGUE = "engaged_colleague"
    LESSONS_COORDINATOR = "lessons_coordinator"
    COMPLAINT_HANDLER = "complaint_handler"
    CONFIDENTIAL_ADVISOR = "confidential_advisor"


#: The colleagues a contact person brings into a case (seed 001: the APC "schakelt leerkracht/
#: mentor, directie, IB'er/leerlingbegeleiding/zorgteam in"; the contact person "schakelt juiste
#: personen in"), and the case-wide roles of casework themselves. Never the safety coordinator
#: (statistics only), the complaint roles, the auditor, the board, the domestic-violence officer
#: (seed 001: no task in bullying) or the operator.
ENGAGEABLE: frozenset[Role] = frozenset(
    {
        Role.CONTACT_PERSON,
        Role.COORDINATOR,
        Role.CARE_COORDINATOR,
        Role.TEACHER,
        Role.MANAGEMENT,
    }
)

#: Part -> the roles that can take it. The complaint handler's roles depend on the complaint's
#: level (:func:`roles_for_part`); listed here are all levels' together.
PART_ROLES: dict[Part, frozenset[Role]] = {
    Part.CASE_OWNER: frozenset({Role.CONTACT_PERSON}),
    Part.STEP_ASSIGNEE: ENGAGEABLE,
    Part.ENGAGED_COLLEAGUE: ENGAGEABLE,
    Part.LESSONS_COORDINATOR: frozenset({Role.COORDINATOR}),
    Part.COMPLAINT_HANDLER: frozenset().union(*COMPLAINT_DECIDERS.values()),
    Part.CONFIDENTIAL_ADVISOR: frozenset({Role.CONFIDENTIAL_ADVISOR}),
}

#: Part -> the permission of the commands that name someone for it (who may pick for it).
PART_PERMISSIONS: dict[Part, Permission] = {
    Part.CASE_OWNER: Permission.CASE_MANAGE,
    Part.STEP_ASSIGNEE: Permission.CASE_PLAN_STEPS,
    Part.ENGAGED_COLLEAGUE: Permission.CASE_PLAN_STEPS,
    Part.LESSONS_COORDINATOR: Permission.CASE_EVALUATE,
    Part.COMPLAINT_HANDLER: Permission.COMPLAINT_SUPPORT,
    Part.CONFIDENTIAL_ADVISOR: Permission.COMPLAINT_SUPPORT,
}


def part_permission(value: str) -> Permission | None:
    """The permission to pick someone for the part named ``value`` (``None``: no such part)."""
    try:
        return PART_PERMISSIONS[Part(value)]
    except ValueError:
        return None


#: A complaint's support role -> the part the supporter takes.
SUPPORT_PARTS: dict[ComplaintSupportRole, Part] = {
    ComplaintSupportRole.HANDLER: Part.COMPLAINT_HANDLER,
    ComplaintSupportRole.CONFIDENTIAL_ADVISOR: Part.CONFIDENTIAL_ADVISOR,
}


def roles_for_part(part: Part, *, complaint_level: str | None = None) -> frozenset[Role]:
    """The roles that can take ``part``; for the complaint handler of a complaint at
    ``complaint_level``, that level's deciders (directie at level 1, bestuur above)."""
    if part is Part.COMPLAINT_HANDLER and complaint_level is not None:
        try:
            return COMPLAINT_DECIDERS[ComplaintLevel(complaint_level)]
        except ValueError:
            return frozenset()
    return PART_ROLES[part]


def may_take(roles: tuple[Role, ...] | frozenset[Role], part: Part, **context: str | None) -> bool:
    """Whether someone with ``roles`` can take ``part`` (``context``: see
    :func:`roles_for_part`)."""
    return bool(set(roles) & roles_for_part(part, **context))


def role_in_part(
    roles: tuple[Role, ...], part: Part, wanted: str = "", **context: str | None
) -> Role | None:
    """The role a person takes ``part`` in: ``wanted`` if it is one of their ``roles`` that can
    take it; without ``wanted`` their first such role (in ``roles`` order); else ``None``."""
    allowed = roles_for_part(part, **context)
    if wanted:
        return next((r for r in roles if r.value == wanted and r in allowed), None)
    return next((r for r in roles if r in allowed), None)
