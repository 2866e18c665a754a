"""The people pickers of the case forms: who a form may name, by name and role.

Every form field that names a person (:data:`PERSON_FIELD_PARTS`) is a select of the active
people of the school who may take that part (:func:`services.people.names.candidates`), read
once per page from the staff directory. The write side still checks the chosen person
(:mod:`services.people.lookup`): a picker only offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import anyio.to_thread

from infra.adapters.auth.principal import Principal
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.forms import Option
from infra.entrypoints.web.guards import may_ever
from services.access.roles import ROLE_LABELS_NL
from services.people.names import Candidate, PeopleReader, candidates
from services.people.parts import ENGAGEABLE, PART_PERMISSIONS, Part
from tenants.registry import School

#: (action, field) -> the parts a person picked there may take (a complaint's support: the
#: confidential advisor or the handler of the complaint's level).
PERSON_FIELD_PARTS: dict[tuple[str, str], tuple[Part, ...]] = {
    ("assign-owner", "owner_id"): (Part.CASE_OWNER,),
    ("plan-step", "assignee_id"): (Part.STEP_ASSIGNEE,),
    ("engage-person", "user_id"): (Part.ENGAGED_COLLEAGUE,),
    ("share-lessons", "coordinator_id"): (Part.LESSONS_COORDINATOR,),
    ("assign-complaint-support", "user_id"): (Part.CONFIDENTIAL_ADVISOR, Part.COMPLAINT_HANDLER),
}

#: The engaged colleague's role: a select of the roles that can be engaged.
STAFF_ROLE_OPTIONS: tuple[Option, ...] = tuple(
    Option(r.value, ROLE_LABELS_NL[r]) for r in ROLE_LABELS_NL if r in ENGAGEABLE
)


def option(candidate: Candidate) -> Option:
    return Option(candidate.person_id, candidate.label)


@dataclass(frozen=True)
class Pickers:
    """The people the viewer may pick, per part (parts the viewer cannot pick for: none)."""

    people: Mapping[Part, tuple[Option, ...]] = field(default_factory=dict)

    def choices(self, action: str) -> dict[str, tuple[Option, ...]]:
        """The select options of ``action``'s person fields (and the engaged role)."""
        found: dict[str, tuple[Option, ...]] = {}
        for (name, field_name), parts in PERSON_FIELD_PARTS.items():
            if name != action:
                continue
            seen: dict[str, Option] = {}
            for part in parts:
                for o in self.people.get(part, ()):
                    seen.setdefault(o.value, o)
            found[field_name] = tuple(sorted(seen.values(), key=lambda o: o.label.casefold()))
        if action == "engage-person":
            found["staff_role"] = STAFF_ROLE_OPTIONS
        return found


def read_pickers(reader: PeopleReader, principal: Principal) -> Pickers:
    """One read of the directory per part the viewer may pick someone for."""
    people = {}
    for part, permission in PART_PERMISSIONS.items():
        if may_ever(principal.role, permission):
            people[part] = tuple(option(c) for c in candidates(reader, part))
    return Pickers(people)


async def pickers_for(services: Services, school: School, principal: Principal) -> Pickers:
    return await anyio.to_thread.run_sync(read_pickers, services.people(school), principal)
