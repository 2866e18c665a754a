"""The facts of a case that need-to-know decides on (:mod:`services.access.need_to_know`),
read from the case as its events built it (the case file, the audit replay, commands)."""

from __future__ import annotations

from services.access.need_to_know import CaseFacts
from services.casework.domain import Case


def case_facts(case: Case) -> CaseFacts:
    """Who is engaged in which step, who supports a complaint, whether the complaints route is
    open, the highest complaint level."""
    # The person a step is assigned to does it: engaged in it as much as those engaged later.
    people = {
        str(sid): frozenset(step.engaged) | ({step.assignee_id} if step.assignee_id else set())
        for sid, step in case.steps.items()
    }
    loose = frozenset(case.engaged_user_ids) - frozenset().union(*people.values())
    if loose:
        people[""] = loose
    return CaseFacts(
        step_people=people,
        support_ids=frozenset(u for c in case.complaints.values() for u in c.support),
        complaint_route=case.complaint_explained or bool(case.complaints),
        complaint_level=case.complaint_level,
    )
