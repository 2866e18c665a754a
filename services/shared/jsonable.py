"""Event values as JSON, in one place: the read side's rows, the auditor's history and the
school export all say an event's data the same way.

Ids and moments become strings (ISO 8601), enumerations their value, sets sorted lists (a set's
own order differs from process to process), tuples lists. An event's *envelope* (who, when,
which case and version) is not its data: :func:`event_data` leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any
from uuid import UUID

#: Attributes of every stored event that are its envelope, not its data.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor_id",
        "actor_role",
    }
)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON values (recursively)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if hasattr(value, "isoformat"):  # date, datetime, time
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:  # mixed kinds: still one order, whatever the process
            return sorted(items, key=repr)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def event_data(event: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The event's own fields as JSON (not its envelope, nor the names in ``skip``)."""
    left_out = ENVELOPE.union(skip)
    return {k: jsonable(v) for k, v in vars(event).items() if k not in left_out}
