"""The school export as a document (format ``vangnet.school-export/1``), built from the school's
events and access log, and the check that a document holds exactly what the database holds.

Reading the log, the access log and the registry, and writing the file beside its checksum, is
the adapter's (:mod:`infra.adapters.exports.school`); what the document says, and when a file does
not
match, is decided here. The sections are described in :mod:`infra.adapters.exports.school`.

Words: *event record* (one event: type, case, version, time, who, its data), *counts* (events,
cases, events per type, reads, first and last position), *mismatch* (the file does not hold
exactly what the database holds: offboarding refuses).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from services.shared.actor import Actor
from services.shared.errors import InvalidInput
from services.shared.jsonable import ENVELOPE, jsonable

FORMAT = "vangnet.school-export/1"

#: Registry fields never exported: the wrapped data key is a secret (and is destroyed).
SECRET_FIELDS = frozenset({"wrapped_data_key"})


class ExportMismatch(InvalidInput):
    """The export file does not hold exactly what the database holds (or cannot be read)."""

    code = "export_mismatch"


class ExportStale(ExportMismatch):
    """Something was recorded after the export was made: export again."""

    code = "export_stale"


def event_record(event: Any, *, qualified: bool = False) -> dict[str, Any]:
    """Type, case (originator), version, time, who, and the event's own data (``qualified``:
    the type with its aggregate, e.g. ``School.Created``)."""
    kind = type(event)
    return {
        "type": kind.__qualname__ if qualified else kind.__name__,
        "originator_id": str(event.originator_id),
        "originator_version": event.originator_version,
        "timestamp": event.timestamp.isoformat(),
        "actor_id": getattr(event, "actor_id", None),
        "actor_role": jsonable(getattr(event, "actor_role", None)),
        "data": {
            k: jsonable(v)
            for k, v in vars(event).items()
            if k not in ENVELOPE and k not in SECRET_FIELDS
        },
    }


def counts(events: list[dict[str, Any]], reads: list[dict[str, Any]]) -> dict[str, Any]:
    """What the document counts (and verification compares first)."""
    types = Counter(e["type"] for e in events)
    return {
        "events": len(events),
        "cases": types.get("CaseReported", 0),
        "events_by_type": dict(sorted(types.items())),
        "access_log": len(reads),
        "first_position": events[0]["position"] if events else None,
        "last_position": events[-1]["position"] if events else None,
        "last_read_id": reads[-1]["id"] if reads else None,
    }


def reported_cases(events: list[dict[str, Any]]) -> list[str]:
    """The ids of the cases reported in ``events`` (each gets an ``export`` read first)."""
    return [e["originator_id"] for e in events if e["type"] == "CaseReported"]


def school_export_document(
    *,
    registry_part: dict[str, Any],
    events: list[dict[str, Any]],
    reads: list[dict[str, Any]],
    chain: dict[str, Any] | None,
    actor: Actor,
    now: datetime,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The export document: the registry's part (``school``, ``configuration``,
    ``registry_events``), the log's ``events``, the ``access_log``, the ``chain`` head, and the
    cases' ``attachments`` (the files themselves, base64, where their key still exists)."""
    return {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "exported_by": {"user_id": actor.user_id, "role": str(actor.role)},
        **registry_part,
        "counts": counts(events, reads),
        "chain": chain,
        "events": events,
        "access_log": reads,
        "attachments": attachments or [],
    }


def check_export(
    document: Any,
    *,
    name: str,
    school_id: str,
    school_slug: str,
    events: list[dict[str, Any]],
    reads: list[dict[str, Any]],
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The counts of a document that holds exactly ``events`` and ``reads`` of the school (and,
    when given, exactly its ``attachments``; ``name``: how to call the file);
    :class:`ExportMismatch` says what differs."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExportMismatch(f"export file {name} is not a Vangnet school export ({FORMAT})")
    exported = document.get("school") or {}
    if exported.get("id") != school_id or exported.get("slug") != school_slug:
        msg = f"export file {name} is not an export of school {school_slug}"
        raise ExportMismatch(msg)
    now = counts(events, reads)
    if document.get("counts") != now:
        msg = (
            f"export file {name} does not match the database: it counts "
            f"{(document.get('counts') or {}).get('events')} events and "
            f"{(document.get('counts') or {}).get('access_log')} reads, the school has "
            f"{now['events']} events and {now['access_log']} reads now (export again)"
        )
        raise ExportMismatch(msg)
    if document.get("events") != events:
        raise ExportMismatch(f"export file {name}: its events differ from the school's log")
    if document.get("access_log") != reads:
        raise ExportMismatch(f"export file {name}: its access log differs from the school's")
    if attachments is not None and (document.get("attachments") or []) != attachments:
        raise ExportMismatch(f"export file {name}: its attachments differ from the school's")
    return now
