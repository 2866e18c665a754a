"""The case's state as a plain, JSON-ready document: what an auditor sees "as of" a moment.

Written out field by field on purpose (no ``vars(case)``): the document is a contract of the audit
API, a new attribute of :class:`~services.casework.domain.Case` does not appear in it by accident,
and its values are stable (ids and dates as strings, sets as sorted lists, enums as their
values) so two states can be compared field by field (:func:`diff_states`).

The envelope (id, version, times) is kept apart from the content: the version and the time of the
last change always differ between two moments and are not "changes" of the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.casework.domain import Case
from services.shared.jsonable import jsonable

State = dict[str, Any]


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def case_state(case: Case) -> State:
    """Everything the case holds (its content), as JSON-ready values."""
    return {
        "school_id": str(case.school_id),
        "status": str(case.status),
        "reporter_kind": case.reporter_kind,
        "summary": case.summary,
        "owner_id": case.owner_id,
        "participants": {
            str(pid): {
                "pupil_ref": p.pupil_ref,
                "display_name": p.display_name,
                "group": p.group,
                "role": p.role,
            }
            for pid, p in case.participants.items()
        },
        "intake_held_on": _day(case.intake_held_on),
        "situation": jsonable(case.situation),
        "solutions": jsonable(case.solutions),
        "consents": {
            str(cid): {
                "given_by": c.given_by,
                "covers": sorted(c.covers),
                "withdrawn": c.withdrawn,
            }
            for cid, c in case.consents.items()
        },
        "steps": {
            str(sid): {
                "kind": s.kind,
                "description": s.description,
                "due_on": _day(s.due_on),
                "assignee_id": s.assignee_id,
                "status": s.status,
                "engaged": list(s.engaged),
                "outcome": s.outcome,
            }
            for sid, s in case.steps.items()
        },
        "engaged_user_ids": sorted(case.engaged_user_ids),
        "offence_flagged": case.offence_flagged,
        "police_advised": case.police_advised,
        "agreements": {str(aid): text for aid, text in case.agreements.items()},
        "follow_ups": {
            str(fid): {
                "due_on": _day(f.due_on),
                "completed": f.completed,
                "agreements_kept": f.agreements_kept,
                "bullying_stopped": f.bullying_stopped,
                "pupil_feels_safe": f.pupil_feels_safe,
                "superseded": f.superseded,
            }
            for fid, f in case.follow_ups.items()
        },
        "notes": case.notes,
        "complaint_explained": case.complaint_explained,
        "complaints": {
            str(kid): {
                "level": k.level,
                "complainant": k.complainant,
                "status": k.status,
                "support": dict(k.support),
                "outcome": k.outcome,
            }
            for kid, k in case.complaints.items()
        },
        "complaint_level": case.complaint_level,
        "evaluated": case.evaluated,
        "lessons": list(case.lessons),
        "lessons_shared": case.lessons_shared,
        "close_reason": case.close_reason,
        "reopened": case.reopened,
    }


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two states: a dotted path (``steps.<id>.status``)."""

    field: str
    before: Any
    after: Any


_MISSING: Any = None


def diff_states(before: State | None, after: State | None, prefix: str = "") -> list[FieldChange]:
    """The fields that differ. Nested documents (dicts) are compared key by key, anything else
    (text, numbers, lists) as a whole. ``None`` stands for a state that did not exist yet (the
    case was not reported at that moment): then every field is a change."""
    if before is None and after is None:
        return []
    old = before or {}
    new = after or {}
    changes: list[FieldChange] = []
    for key in [*old, *(k for k in new if k not in old)]:
        path = f"{prefix}{key}"
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a == b and (key in old) == (key in new):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(diff_states(a, b, path + "."))
        else:
            changes.append(FieldChange(path, a, b))
    return changes
