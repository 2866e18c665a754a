"""Need-to-know: which cases, and which parts of a case, a person may read — as data.

:mod:`services.access.roles` says what *kind* of thing a role may do (``case.read``: read case
content at all). This module says *which cases and which parts*: that follows from the person's
relation to the case (seed 001 "Wie doet wat bij pesten op school?", the Dutch complaints
procedure, DESIGN.md §1). One table, :data:`NEED_TO_KNOW`: role x relation -> visible parts.

Everything that shows case content asks here (the API, the pages, the case file, the audit
replay, the case list and search): :func:`sight` answers the visible parts of one case,
:class:`Sight` redacts a case's document, its timeline entries and its events down to them, and
:func:`reach` tells the case list which cases the person has any relation to. A case in which
the person sees nothing is "not found" for them (no hint that it exists).

Words:
- *part*: a piece of a case (:class:`Part`): the overview, the participants, the steps, ...;
  some parts have a narrow form (``first_names`` of ``participants``, ``own_steps`` of
  ``steps``, ``own_notes`` of ``notes``);
- *relation*: how a person stands to a case (:class:`Relation`): case-wide by role, engaged
  in it, assigned to its complaint, its complaint at their level;
- *caller*: anything with a ``role`` and the ``ids`` the person may be recorded under (an
  :class:`~services.shared.actor.Actor`; a protocol here, as ``shared`` imports this package).

Adding a part (e.g. attachments) is one line: a member of :class:`Part`. Case-wide roles and the
auditor see every part (:data:`CASEWORK`), nobody else until a bundle below names it; the
events and view keys that belong to it are mapped in :data:`EVENT_PARTS` / :data:`DOCUMENT_PARTS`
(unmapped ones are shown to case-wide roles only: fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from services.access.roles import Role


class Part(StrEnum):
    """A part of a case, as need-to-know grants it. Values are stable (the API lists them)."""

    OVERVIEW = "overview"  # status, dates, reporter kind, owner, the report's summary, closing
    PARTICIPANTS = "participants"  # the pupils: name, reference, group, role in this case
    FIRST_NAMES = "first_names"  # narrow: the pupils' first names, groups and roles only
    INTAKE = "intake"  # the intake conversation
    SITUATION = "situation"  # the bullying situation mapped, the solutions discussed
    CONSENTS = "consents"  # what the pupil (and parents) agreed to
    OFFENCE = "offence"  # a criminal offence flagged, police advice
    STEPS = "steps"  # every step, who was engaged, outcomes
    OWN_STEPS = "own_steps"  # narrow: the steps the person is engaged in
    NOTES = "notes"  # every note
    OWN_NOTES = "own_notes"  # narrow: the person's own notes
    AGREEMENTS = "agreements"  # agreements recorded with those involved
    FOLLOW_UPS = "follow_ups"  # aftercare (nazorg)
    CONTACTS = "contacts"  # the contact log with the pupil and the parents, when last informed
    ATTACHMENTS = "attachments"  # evidence files (screenshots, photos, documents)
    MESSAGES = "messages"  # the messages with the reporter of a public report
    COMPLAINTS = "complaints"  # the complaint file: procedure explained, complaints, decisions
    EVALUATION = "evaluation"  # evaluation and lessons
    HISTORY = "history"  # the audit replay: history, state as of, differences, the access log
    CASE_FILE = "case_file"  # may download the case file (dossier) of the parts they see


#: A part's narrow form: granted the full part, the narrow one adds nothing.
NARROW: dict[Part, Part] = {
    Part.PARTICIPANTS: Part.FIRST_NAMES,
    Part.STEPS: Part.OWN_STEPS,
    Part.NOTES: Part.OWN_NOTES,
}


class Relation(StrEnum):
    """How a person stands to one case."""

    CASE_WIDE = "case_wide"  # their role reads every case of the school
    ENGAGED = "engaged"  # brought into a step of this case (PersonEngaged)
    COMPLAINT_SUPPORT = "complaint_support"  # assigned to a complaint of it (handler, VP)
    COMPLAINT_ROUTE = "complaint_route"  # the complaints route is open on it (explained, filed)
    COMPLAINT_LEVEL = "complaint_level"  # a complaint of it is at, or went past, their level


#: Every part of case work: what the contact person and the coordinator read.
CASEWORK: frozenset[Part] = frozenset(Part) - {Part.HISTORY, *NARROW.values()}

#: An engaged colleague (mentor, teacher, IB'er, directie brought into a step): the summary,
#: the pupils' first names and groups, the steps they are engaged in, their own notes, the
#: agreements (which they see kept, or broken, in class every day) and the consents (seed 001:
#: no step without the pupil knowing and being ready; their step needs it). Never the intake,
#: the situation's details, the offence, aftercare, complaints or colleagues' notes.
ENGAGED_PARTS: frozenset[Part] = frozenset(
    {
        Part.OVERVIEW,
        Part.FIRST_NAMES,
        Part.OWN_STEPS,
        Part.OWN_NOTES,
        Part.AGREEMENTS,
        Part.CONSENTS,
    }
)

#: The complaint file, for the complainant's point of contact (schoolcontactpersoon) and the
#: vertrouwenspersoon: the complaint, and what the school promised and did about the bullying
#: (steps, agreements, aftercare) that the complaint is about, and when the pupil and the parents
#: were informed (the most common complaint is parents finding out after the fact); the pupils by
#: first name. Not the evidence files: they show the pupils themselves.
COMPLAINT_FILE: frozenset[Part] = frozenset(
    {
        Part.OVERVIEW,
        Part.FIRST_NAMES,
        Part.STEPS,
        Part.AGREEMENTS,
        Part.FOLLOW_UPS,
        Part.CONTACTS,
        Part.COMPLAINTS,
        Part.CASE_FILE,
    }
)

#: The complaint file for the one who decides it (directie at level 1, bestuur above): also
#: what was reported and agreed with the pupil (intake, situation, consents), to judge whether
#: the school acted adequately. Not the notes, the offence or the evaluation.
DECIDER_FILE: frozenset[Part] = COMPLAINT_FILE | {Part.INTAKE, Part.SITUATION, Part.CONSENTS}

#: Role x relation -> the parts of the case the person sees. A relation a role has no line for
#: gives it nothing. (Seed 001; DESIGN.md §1 "Need-to-know (decided)"; README "Need-to-know".)
NEED_TO_KNOW: dict[Role, dict[Relation, frozenset[Part]]] = {
    Role.CONTACT_PERSON: {Relation.CASE_WIDE: CASEWORK},
    Role.COORDINATOR: {Relation.CASE_WIDE: CASEWORK},
    Role.CARE_COORDINATOR: {Relation.ENGAGED: ENGAGED_PARTS},
    Role.TEACHER: {Relation.ENGAGED: ENGAGED_PARTS},
    Role.SCHOOL_CONTACT: {
        Relation.COMPLAINT_ROUTE: COMPLAINT_FILE,
        Relation.COMPLAINT_SUPPORT: COMPLAINT_FILE,
    },
    Role.CONFIDENTIAL_ADVISOR: {Relation.COMPLAINT_SUPPORT: COMPLAINT_FILE},
    Role.MANAGEMENT: {
        Relation.ENGAGED: ENGAGED_PARTS,
        Relation.COMPLAINT_LEVEL: DECIDER_FILE,
        Relation.COMPLAINT_SUPPORT: DECIDER_FILE,
    },
    Role.BOARD: {
        Relation.COMPLAINT_LEVEL: DECIDER_FILE,
        Relation.COMPLAINT_SUPPORT: DECIDER_FILE,
    },
    Role.AUDITOR: {Relation.CASE_WIDE: frozenset(Part) - set(NARROW.values())},
    # Statistics and signals without pupil names only (roles.py: stats.school, signals.read).
    Role.SAFETY_COORDINATOR: {},
    # Seed 001: no task in bullying at school.
    Role.DOMESTIC_VIOLENCE_OFFICER: {},
    Role.OPERATOR: {},
}

#: Complaint levels, lowest first (``services.casework.vocabulary.ComplaintLevel``; a unit test
#: holds the two together: access may not import casework).
COMPLAINT_LEVELS: tuple[str, ...] = ("management", "board", "committee")

#: The lowest complaint level at which a role decides (``casework.deciders``): from there up it
#: has :attr:`Relation.COMPLAINT_LEVEL` to the case.
ROLE_COMPLAINT_LEVEL: dict[Role, str] = {Role.MANAGEMENT: "management", Role.BOARD: "board"}

#: Event type -> the part it belongs to (the timeline, the history, the case file).
EVENT_PARTS: dict[str, Part] = {
    "CaseReported": Part.OVERVIEW,
    "OwnerAssigned": Part.OVERVIEW,
    "ParticipantAdded": Part.PARTICIPANTS,
    "IntakeHeld": Part.INTAKE,
    "SituationMapped": Part.SITUATION,
    "SolutionsDiscussed": Part.SITUATION,
    "ConsentGiven": Part.CONSENTS,
    "ConsentWithdrawn": Part.CONSENTS,
    "StepPlanned": Part.STEPS,
    "PersonEngaged": Part.STEPS,
    "StepCompleted": Part.STEPS,
    "StepCancelled": Part.STEPS,
    "CriminalOffenceFlagged": Part.OFFENCE,
    "PoliceReportAdvised": Part.OFFENCE,
    "AgreementRecorded": Part.AGREEMENTS,
    "FollowUpScheduled": Part.FOLLOW_UPS,
    "FollowUpCompleted": Part.FOLLOW_UPS,
    "NoteAdded": Part.NOTES,
    "ContactRecorded": Part.CONTACTS,
    "AttachmentAdded": Part.ATTACHMENTS,
    "ReporterAccessIssued": Part.OVERVIEW,  # that a follow-up code exists (its hash is hidden)
    "ReporterMessagePosted": Part.MESSAGES,
    "ComplaintProcedureExplained": Part.COMPLAINTS,
    "ComplaintFiled": Part.COMPLAINTS,
    "ComplaintSupportAssigned": Part.COMPLAINTS,
    "ComplaintEscalated": Part.COMPLAINTS,
    "ComplaintDecided": Part.COMPLAINTS,
    "ComplaintWithdrawn": Part.COMPLAINTS,
    "CaseEvaluated": Part.EVALUATION,
    "LessonsShared": Part.EVALUATION,
    "CaseClosed": Part.OVERVIEW,
    "CaseReopened": Part.OVERVIEW,
    "ErasureRequested": Part.OVERVIEW,
    "PassagesRedacted": Part.OVERVIEW,
    # Incident registration (issue 15) sits with the offence and the police: the same section.
    "IncidentCategorised": Part.OFFENCE,
    "SeriousIncidentMarked": Part.OFFENCE,
    "InspectieReportRecorded": Part.OFFENCE,
}

#: Key of a case's document (the case view's ``detail``, the audit state) -> its part.
DOCUMENT_PARTS: dict[str, Part] = {
    "school_id": Part.OVERVIEW,
    "case_id": Part.OVERVIEW,
    "status": Part.OVERVIEW,
    "owner_id": Part.OVERVIEW,
    "reporter_kind": Part.OVERVIEW,
    "reported_at": Part.OVERVIEW,
    "reported_by": Part.OVERVIEW,
    "summary": Part.OVERVIEW,
    "closed_at": Part.OVERVIEW,
    "close_reason": Part.OVERVIEW,
    "reopened": Part.OVERVIEW,
    "version": Part.OVERVIEW,
    "last_activity_at": Part.OVERVIEW,
    "done": Part.OVERVIEW,  # event type names: filtered by EVENT_PARTS
    "participants": Part.PARTICIPANTS,
    "intake": Part.INTAKE,
    "intake_held_on": Part.INTAKE,
    "situation": Part.SITUATION,
    "solutions": Part.SITUATION,
    "consents": Part.CONSENTS,
    "steps": Part.STEPS,
    "engaged_user_ids": Part.STEPS,
    "offence_flagged": Part.OFFENCE,
    "police_advised": Part.OFFENCE,
    "incident": Part.OFFENCE,
    "agreements": Part.AGREEMENTS,
    "follow_ups": Part.FOLLOW_UPS,
    "notes": Part.NOTES,
    "contacts": Part.CONTACTS,
    "last_informed": Part.CONTACTS,
    "attachments": Part.ATTACHMENTS,
    "public_report": Part.OVERVIEW,
    "reporter_messages": Part.MESSAGES,
    "complaint_explained": Part.COMPLAINTS,
    "complaints": Part.COMPLAINTS,
    "complaint_level": Part.COMPLAINTS,
    "evaluated": Part.EVALUATION,
    "lessons": Part.EVALUATION,
    "lessons_shared": Part.EVALUATION,
}

#: Signal kind (``projections.escalation.queries.SignalKind``) -> the part it tells about.
SIGNAL_PARTS: dict[str, Part] = {
    "aftercare_overdue": Part.FOLLOW_UPS,
    "bullying_continues": Part.FOLLOW_UPS,
    "intake_overdue": Part.INTAKE,
    "steps_waiting_for_consent": Part.CONSENTS,
    "offence_without_police_advice": Part.OFFENCE,
    "inactive": Part.OVERVIEW,
    "not_informed": Part.CONTACTS,
    "inspectie_report_due": Part.OFFENCE,
    "public_report_waiting": Part.OVERVIEW,
    "reporter_message_waiting": Part.MESSAGES,
}


class Caller(Protocol):
    """Who is reading: an :class:`~services.shared.actor.Actor` (or a web principal)."""

    @property
    def role(self) -> Role: ...

    @property
    def ids(self) -> tuple[str, ...]: ...


def reads_case_wide(role: Role) -> bool:
    """Whether ``role`` reads every case of its school, with the pupils' names (the contact
    person, the coordinator, the auditor). The pupil register and its pages ask this."""
    return Relation.CASE_WIDE in NEED_TO_KNOW.get(role, {})


def reads_cases(role: Role) -> bool:
    """Whether ``role`` can have any relation to a case that shows it something."""
    return any(NEED_TO_KNOW.get(role, {}).values())


@dataclass(frozen=True)
class CaseFacts:
    """What of one case decides relations: who is engaged in which step, who supports its
    complaints, whether the complaints route is open and the highest complaint level."""

    step_people: Mapping[str, frozenset[str]] = field(default_factory=dict)
    support_ids: frozenset[str] = frozenset()
    complaint_route: bool = False
    complaint_level: str | None = None

    @property
    def engaged_ids(self) -> frozenset[str]:
        return frozenset().union(*self.step_people.values())


def facts_from_document(doc: Mapping[str, Any]) -> CaseFacts:
    """:class:`CaseFacts` of a case's document (the case view's ``detail``: ``steps`` with their
    ``engaged`` colleagues, ``complaints`` with their ``support`` and ``level``,
    ``complaint_explained``)."""
    steps: Mapping[str, Any] = doc.get("steps") or {}
    complaints: Mapping[str, Any] = doc.get("complaints") or {}
    # The person a step is assigned to does it: engaged in it as much as those engaged later.
    people = {
        str(sid): frozenset(str(e["user_id"]) for e in (s.get("engaged") or []))
        | ({str(s["assignee_id"])} if s.get("assignee_id") else frozenset())
        for sid, s in steps.items()
    }
    # Engaged before a step was recorded with them (older documents): keep them engaged.
    loose = frozenset(str(i) for i in doc.get("engaged_user_ids") or []) - frozenset().union(
        *people.values()
    )
    if loose:
        people[""] = loose
    levels = [str(c.get("level")) for c in complaints.values()]
    return CaseFacts(
        step_people=people,
        support_ids=frozenset(str(u) for c in complaints.values() for u in c.get("support") or {}),
        complaint_route=bool(doc.get("complaint_explained")) or bool(complaints),
        complaint_level=highest_level(levels),
    )


def highest_level(levels: Iterable[str]) -> str | None:
    """The highest of complaint ``levels`` (unknown values ignored; None: none)."""
    known = [lvl for lvl in levels if lvl in COMPLAINT_LEVELS]
    return max(known, key=COMPLAINT_LEVELS.index) if known else None


def levels_from(role: Role) -> tuple[str, ...]:
    """The complaint levels at which, or past which, ``role`` has the complaint's file."""
    lowest = ROLE_COMPLAINT_LEVEL.get(role)
    if lowest is None:
        return ()
    return COMPLAINT_LEVELS[COMPLAINT_LEVELS.index(lowest) :]


def relations(caller: Caller, facts: CaseFacts) -> frozenset[Relation]:
    """Every relation ``caller`` has to the case (whether or not the role's table uses it)."""
    ids = set(caller.ids)
    found = set()
    if reads_case_wide(caller.role):
        found.add(Relation.CASE_WIDE)
    if ids & facts.engaged_ids:
        found.add(Relation.ENGAGED)
    if ids & facts.support_ids:
        found.add(Relation.COMPLAINT_SUPPORT)
    if facts.complaint_route:
        found.add(Relation.COMPLAINT_ROUTE)
    if facts.complaint_level is not None and facts.complaint_level in levels_from(caller.role):
        found.add(Relation.COMPLAINT_LEVEL)
    return frozenset(found)


def parts_for(role: Role, found: Iterable[Relation]) -> frozenset[Part]:
    """The parts ``role`` sees through the relations ``found`` (the table, nothing else)."""
    table = NEED_TO_KNOW.get(role, {})
    parts: set[Part] = set()
    for relation in found:
        parts |= table.get(relation, frozenset())
    return frozenset(parts)


def sight(caller: Caller, facts: CaseFacts) -> Sight:
    """What ``caller`` sees of the case with ``facts``."""
    parts = parts_for(caller.role, relations(caller, facts))
    ids = frozenset(caller.ids)
    own = frozenset(sid for sid, people in facts.step_people.items() if sid and people & ids)
    return Sight(parts=parts, ids=ids, own_steps=own)


def first_name(name: Any) -> Any:
    """The first word of a displayed name ("Sam de Vries" -> "Sam"); other values unchanged."""
    if not isinstance(name, str):
        return name
    words = name.split()
    return words[0] if words else name


@dataclass(frozen=True)
class Sight:
    """The visible parts of one case for one person, and the redaction down to them."""

    parts: frozenset[Part]
    ids: frozenset[str] = frozenset()
    own_steps: frozenset[str] = frozenset()

    @property
    def nothing(self) -> bool:
        """Nothing of the case is visible: it is "not found" for this person."""
        return not (self.parts - {Part.CASE_FILE})

    @property
    def everything(self) -> bool:
        return self.parts >= CASEWORK

    def sees(self, part: Part) -> bool:
        return part in self.parts

    def sees_any(self, part: Part) -> bool:
        """The part, or its narrow form."""
        narrow = NARROW.get(part)
        return part in self.parts or (narrow is not None and narrow in self.parts)

    def sees_event(self, event_type: str) -> bool:
        """Whether events of ``event_type`` can be visible at all (some only in part)."""
        part = EVENT_PARTS.get(event_type)
        if part is None:
            return self.everything
        return self.sees_any(part)

    def entry(
        self, event_type: str, actor_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """One event's data as this person may see it (``None``: the event is hidden)."""
        part = EVENT_PARTS.get(event_type)
        if part is None:
            return dict(data) if self.everything else None
        if part in self.parts:
            return dict(data)
        narrow = NARROW.get(part)
        if narrow is None or narrow not in self.parts:
            return None
        if narrow is Part.OWN_STEPS:
            return dict(data) if str(data.get("step_id", "")) in self.own_steps else None
        if narrow is Part.OWN_NOTES:
            return dict(data) if actor_id in self.ids else None
        if narrow is Part.FIRST_NAMES:
            return _first_names_only(data)
        return None

    def signal_kinds(self, kinds: Iterable[str]) -> list[str]:
        """The signal kinds (of one case) this person may see."""
        return [k for k in kinds if SIGNAL_PARTS.get(k) is not None and self.sees(SIGNAL_PARTS[k])]

    def document(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A case's document (view ``detail`` or audit state) with only the visible parts:
        hidden keys left out, narrow parts narrowed, unknown keys only for case-wide readers."""
        if self.everything:
            return {**doc, "visible_parts": sorted(self.parts)}
        shown: dict[str, Any] = {}
        for key, value in doc.items():
            part = DOCUMENT_PARTS.get(key)
            if part is None:
                continue
            if part in self.parts:
                shown[key] = value
                continue
            narrow = NARROW.get(part)
            if narrow is None or narrow not in self.parts:
                continue
            if key == "participants":
                shown[key] = {pid: _first_names_only(p) for pid, p in (value or {}).items()}
            elif key == "steps":
                shown[key] = {sid: s for sid, s in (value or {}).items() if sid in self.own_steps}
            elif key == "engaged_user_ids":
                shown[key] = [i for i in value or [] if i in self.ids]
        if "done" in shown:
            shown["done"] = [t for t in shown["done"] or [] if self.sees_event(t)]
        shown["visible_parts"] = sorted(self.parts)
        return shown


#: What a pupil's entry keeps with only :attr:`Part.FIRST_NAMES`.
_FIRST_NAME_KEYS = ("participant_id", "display_name", "group", "role")


def _first_names_only(participant: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: participant[k] for k in _FIRST_NAME_KEYS if k in participant}
    if "display_name" in kept:
        kept["display_name"] = first_name(kept["display_name"])
    return kept


@dataclass(frozen=True)
class Reach:
    """Which cases of the school a person has a relation to (the case list's filter): every
    case, or those where any of the conditions holds."""

    every_case: bool = False
    engaged_ids: tuple[str, ...] = ()
    support_ids: tuple[str, ...] = ()
    complaint_route: bool = False
    complaint_levels: tuple[str, ...] = ()

    @property
    def no_case(self) -> bool:
        return not (
            self.every_case
            or self.engaged_ids
            or self.support_ids
            or self.complaint_route
            or self.complaint_levels
        )


def reach(caller: Caller) -> Reach:
    """The cases ``caller`` may find in lists and searches: those with a relation the role's
    table gives parts for."""
    table = {r for r, parts in NEED_TO_KNOW.get(caller.role, {}).items() if parts}
    ids = tuple(caller.ids)
    return Reach(
        every_case=Relation.CASE_WIDE in table,
        engaged_ids=ids if Relation.ENGAGED in table else (),
        support_ids=ids if Relation.COMPLAINT_SUPPORT in table else (),
        complaint_route=Relation.COMPLAINT_ROUTE in table,
        complaint_levels=levels_from(caller.role) if Relation.COMPLAINT_LEVEL in table else (),
    )
