"""Roles and permissions, as data.

One table (``ROLE_PERMISSIONS``) says what each role of DESIGN.md §1 may do. Nothing else in the
code base decides that: command handlers and routes name the permission they need and ask
:func:`has_permission`. The roles follow the seed document "Wie doet wat bij pesten op school?".

Which cases, and which parts of a case, a role reads is need-to-know
(:mod:`services.access.need_to_know`): ``case.read`` only says that a role may read case content
where its relation to the case allows it.

Words used here:
- *case-wide* permissions hold for every case of the role's school;
- *engaged* permissions hold only on cases in which the user was engaged (``PersonEngaged``);
  this is how a mentor, teacher or IB'er acts on exactly the cases they were brought into.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A role a person holds at one school (or, for board and operator, above it)."""

    CONTACT_PERSON = "contact_person"  # aanspreekpunt pesten
    COORDINATOR = "coordinator"  # anti-pest coördinator (APC)
    CARE_COORDINATOR = "care_coordinator"  # IB'er / zorgcoördinator / leerlingbegeleider
    TEACHER = "teacher"  # mentor / leerkracht
    SCHOOL_CONTACT = "school_contact"  # schoolcontactpersoon (klachten)
    CONFIDENTIAL_ADVISOR = "confidential_advisor"  # vertrouwenspersoon
    SAFETY_COORDINATOR = "safety_coordinator"  # veiligheidscoördinator
    MANAGEMENT = "management"  # directie
    BOARD = "board"  # bestuur
    AUDITOR = "auditor"
    DOMESTIC_VIOLENCE_OFFICER = (
        "domestic_violence_officer"  # aandachtsfunctionaris huiselijk geweld
    )
    OPERATOR = "operator"  # platform operator


ROLE_LABELS_NL: dict[Role, str] = {
    Role.CONTACT_PERSON: "Aanspreekpunt pesten",
    Role.COORDINATOR: "Anti-pestcoördinator",
    Role.CARE_COORDINATOR: "IB'er / zorgcoördinator",
    Role.TEACHER: "Mentor / leerkracht",
    Role.SCHOOL_CONTACT: "Schoolcontactpersoon",
    Role.CONFIDENTIAL_ADVISOR: "Vertrouwenspersoon",
    Role.SAFETY_COORDINATOR: "Veiligheidscoördinator",
    Role.MANAGEMENT: "Directie",
    Role.BOARD: "Bestuur",
    Role.AUDITOR: "Auditor",
    Role.DOMESTIC_VIOLENCE_OFFICER: "Aandachtsfunctionaris huiselijk geweld",
    Role.OPERATOR: "Platformbeheerder",
}


class Permission(StrEnum):
    """Something a person may do. Names are stable: routes and handlers refer to them."""

    # casework
    CASE_REPORT = "case.report"  # file a new report (melding)
    # read case content: which cases and which parts follows from the person's relation to the
    # case (services.access.need_to_know), not from this permission alone
    CASE_READ = "case.read"
    CASE_MANAGE = "case.manage"  # intake, mapping, solutions, consent, participants, close/reopen
    CASE_PLAN_STEPS = "case.plan_steps"  # plan/cancel steps, engage colleagues
    CASE_COMPLETE_STEP = "case.complete_step"  # complete a planned step
    CASE_ADD_NOTE = "case.add_note"
    CASE_AGREEMENTS = "case.agreements"  # record agreements
    CASE_AFTERCARE = "case.aftercare"  # schedule and record aftercare (nazorg)
    CASE_POLICE = "case.police"  # flag criminal offence, advise police report
    CASE_EVALUATE = "case.evaluate"  # evaluate, share lessons
    # incident categories, serious incidents and their report to the Inspectie
    CASE_INCIDENTS = "case.incidents"
    # complaints
    COMPLAINT_EXPLAIN = "complaint.explain"  # point to the complaints procedure
    COMPLAINT_FILE = "complaint.file"
    COMPLAINT_SUPPORT = "complaint.support"  # assign a vertrouwenspersoon / handler
    COMPLAINT_ESCALATE = "complaint.escalate"
    COMPLAINT_DECIDE = "complaint.decide"
    COMPLAINT_WITHDRAW = "complaint.withdraw"
    # read side
    SIGNALS_READ = "signals.read"
    LESSONS_READ = "lessons.read"
    PROTOCOL_MANAGE = "protocol.manage"
    STATS_SCHOOL = "stats.school"  # anonymous statistics of the own school
    STATS_BOARD = "stats.board"  # anonymous statistics across the board's schools
    AUDIT_READ = "audit.read"  # replay history; every read is itself recorded
    # pupil register
    PUPILS_READ = "pupils.read"  # the register, a pupil's chronology and the pupil signals
    PUPILS_MANAGE = "pupils.manage"  # register a pupil, erase a pupil
    # platform
    TENANTS_MANAGE = "tenants.manage"


P = Permission

_CONTACT_PERSON = frozenset(
    {
        P.CASE_REPORT,
        P.CASE_READ,
        P.CASE_MANAGE,
        P.CASE_PLAN_STEPS,
        P.CASE_COMPLETE_STEP,
        P.CASE_ADD_NOTE,
        P.CASE_AGREEMENTS,
        P.CASE_AFTERCARE,
        P.CASE_POLICE,
        P.CASE_EVALUATE,
        P.COMPLAINT_EXPLAIN,
        P.SIGNALS_READ,
        P.PUPILS_READ,
        P.PUPILS_MANAGE,
        P.CASE_INCIDENTS,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CONTACT_PERSON: _CONTACT_PERSON,
    Role.COORDINATOR: frozenset(
        {
            P.CASE_REPORT,
            P.CASE_READ,
            P.CASE_ADD_NOTE,
            P.SIGNALS_READ,
            P.LESSONS_READ,
            P.PROTOCOL_MANAGE,
            P.STATS_SCHOOL,
            P.PUPILS_READ,
            P.CASE_INCIDENTS,
        }
    ),
    # Staff who report and act only on the cases they are engaged in (see ENGAGED_PERMISSIONS).
    Role.CARE_COORDINATOR: frozenset({P.CASE_REPORT}),
    Role.TEACHER: frozenset({P.CASE_REPORT}),
    Role.SCHOOL_CONTACT: frozenset(
        {
            P.CASE_READ,
            P.COMPLAINT_EXPLAIN,
            P.COMPLAINT_FILE,
            P.COMPLAINT_SUPPORT,
            P.COMPLAINT_ESCALATE,
            P.COMPLAINT_WITHDRAW,
        }
    ),
    Role.CONFIDENTIAL_ADVISOR: frozenset(
        {P.CASE_READ, P.COMPLAINT_FILE, P.COMPLAINT_ESCALATE, P.COMPLAINT_WITHDRAW}
    ),
    # Seed 001: gathers input from the APC, schoolcontactpersoon and vertrouwenspersoon: the
    # school's statistics and its signals, which carry no pupil names and no case text.
    Role.SAFETY_COORDINATOR: frozenset({P.STATS_SCHOOL, P.SIGNALS_READ}),
    Role.MANAGEMENT: frozenset(
        {P.CASE_READ, P.COMPLAINT_ESCALATE, P.COMPLAINT_DECIDE, P.STATS_SCHOOL}
    ),
    Role.BOARD: frozenset({P.CASE_READ, P.COMPLAINT_ESCALATE, P.COMPLAINT_DECIDE, P.STATS_BOARD}),
    Role.AUDITOR: frozenset({P.CASE_READ, P.AUDIT_READ, P.PUPILS_READ}),
    Role.DOMESTIC_VIOLENCE_OFFICER: frozenset(),  # seed 001: no task in bullying at school
    Role.OPERATOR: frozenset({P.TENANTS_MANAGE}),
}

#: Permissions a role gains on a case in which the user was engaged (PersonEngaged).
ENGAGED_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CARE_COORDINATOR: frozenset({P.CASE_READ, P.CASE_ADD_NOTE, P.CASE_COMPLETE_STEP}),
    Role.TEACHER: frozenset({P.CASE_READ, P.CASE_ADD_NOTE, P.CASE_COMPLETE_STEP}),
}

#: Permissions that only read. Everything else changes a case.
READ_ONLY_PERMISSIONS = frozenset(
    {
        P.CASE_READ,
        P.SIGNALS_READ,
        P.LESSONS_READ,
        P.STATS_SCHOOL,
        P.STATS_BOARD,
        P.AUDIT_READ,
        P.PUPILS_READ,
    }
)

#: The roles that read every case of their school in full (DESIGN.md §1, need-to-know):
#: the contact person(s), the anti-bullying coordinator and the auditor. Only they see the
#: pupil register, a pupil's chronology across cases and the pupil signals.
CASE_WIDE_READERS = frozenset({Role.CONTACT_PERSON, Role.COORDINATOR, Role.AUDITOR})


def reads_case_wide(role: Role) -> bool:
    """Whether ``role`` reads every case of its school in full (see :data:`CASE_WIDE_READERS`;
    the need-to-know rules refine who reads what)."""
    return role in CASE_WIDE_READERS


def has_permission(role: Role, permission: Permission, *, engaged: bool = False) -> bool:
    """Whether ``role`` may do ``permission``; ``engaged`` when the user is engaged in the case."""
    if permission in ROLE_PERMISSIONS[role]:
        return True
    return engaged and permission in ENGAGED_PERMISSIONS.get(role, frozenset())
