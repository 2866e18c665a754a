"""The full export of one school, for offboarding: everything the school's schema holds that is
not derived, decrypted to JSON, plus its registry record.

What the file holds (format ``vangnet.school-export/1``):

- ``school``: the registry record (id, slug, name, board, schema, created), never its key;
- ``configuration``: the protocol checklist, the notification contacts, the login configuration
  (the client secret is only ever a reference, and stays one);
- ``registry_events``: the school's history in the registry (who onboarded and configured it);
- ``events``: every event of the school's casework log in log order, decrypted (upcast to the
  current schema): position, type, topic, case (originator) id and version, timestamp, actor id
  and role, and the event's own data;
- ``access_log``: every recorded read of a case (who, in which role, when, how);
- ``chain``: the head of the log's hash chain (position and hash), so the export can be matched
  with the platform's checkpoints of the log later;
- ``counts``: events, cases, events per type, reads, first and last position.

The views (case view, escalation, lessons, statistics) are left out: they are derived from the
events and can be rebuilt from them.

The file is written with mode 0600 next to a ``<file>.sha256`` (``sha256sum`` format).
:func:`verify_school_export` re-reads the school's log and access log and checks that the file
holds exactly them; offboarding refuses unless it does. Exporting is itself a read of every case:
each case gets an ``export`` row in the school's access log before its events are read, so the
file carries its own reads.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.audit.access_log import TABLE as ACCESS_LOG_TABLE
from infra.audit.access_log import ReadKind, record_case_read
from infra.postgres.chain import chain_table, table_exists
from infra.postgres.pool import shared_pool
from services.casework.application import CaseworkApplication
from services.shared.actor import Actor
from services.shared.errors import InvalidInput
from tenants.offboarding import ExportMismatch, VerifiedExport
from tenants.registry import Registry, School

FORMAT = "vangnet.school-export/1"
EVENTS_TABLE = "casework_events"
PAGE = 1000

#: Attributes of every event that are its envelope (exported beside its data).
_ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor_id",
        "actor_role",
    }
)
#: Registry fields never exported: the wrapped data key is a secret (and is destroyed).
_SECRET_FIELDS = frozenset({"wrapped_data_key"})


def jsonable(value: Any) -> Any:
    """Event values as JSON: ids and dates as strings, sets as sorted lists."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _event_record(event: Any, *, qualified: bool = False) -> dict[str, Any]:
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
            if k not in _ENVELOPE and k not in _SECRET_FIELDS
        },
    }


def log_events(app: CaseworkApplication) -> Iterator[dict[str, Any]]:
    """Every event of the school's log, decrypted, in log order."""
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=PAGE)
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            yield {
                "position": notification.id,
                "topic": notification.topic,
                **_event_record(event),
            }
        if len(notifications) < PAGE:
            return
        start = notifications[-1].id + 1


def access_log_rows(conn: Connection[Any], schema: str) -> list[dict[str, Any]]:
    if not table_exists(conn, schema, ACCESS_LOG_TABLE):
        return []
    with conn.cursor(row_factory=tuple_row) as curs:
        rows = curs.execute(
            SQL("SELECT id, case_id, user_id, role, what, read_at FROM {} ORDER BY id").format(
                Identifier(schema, ACCESS_LOG_TABLE)
            )
        ).fetchall()
    return [
        {
            "id": int(r[0]),
            "case_id": str(r[1]),
            "user_id": r[2],
            "role": r[3],
            "what": r[4],
            "read_at": r[5].isoformat(),
        }
        for r in rows
    ]


def chain_head(conn: Connection[Any], schema: str) -> dict[str, Any] | None:
    """The last link of the log's hash chain (``None`` for a log without chain or events)."""
    table = chain_table(EVENTS_TABLE)
    if not table_exists(conn, schema, table):
        return None
    with conn.cursor(row_factory=tuple_row) as curs:
        row = curs.execute(
            SQL(
                "SELECT notification_id, hash FROM {} ORDER BY notification_id DESC LIMIT 1"
            ).format(Identifier(schema, table))
        ).fetchone()
    if row is None:
        return None
    return {"position": int(row[0]), "sha256": bytes(row[1]).hex()}


def _counts(events: list[dict[str, Any]], reads: list[dict[str, Any]]) -> dict[str, Any]:
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


def _registry_part(registry: Registry, school: School) -> dict[str, Any]:
    board = registry.board(school.board_id)
    contacts = school.notification_contacts
    login = school.login
    history = [_event_record(e, qualified=True) for e in registry.events.get(school.id)]
    return {
        "school": {
            "id": str(school.id),
            "slug": school.slug,
            "name": school.name,
            "schema": school.schema_name,
            "created_on": school.created_on.isoformat(),
            "board": {"id": str(board.id), "slug": board.slug, "name": board.name},
        },
        "configuration": {
            "protocol": {
                "default": school.protocol_is_default,
                "steps": school.protocol.to_json(),
            },
            "contacts": {
                "contact_person_emails": list(contacts.contact_person_emails),
                "coordinator_emails": list(contacts.coordinator_emails),
                "management_emails": list(contacts.management_emails),
                "board_emails": list(contacts.board_emails),
            },
            "login": login.to_json() if login is not None else None,
        },
        "registry_events": history,
    }


def build_school_export(
    registry: Registry, app: CaseworkApplication, school: School, actor: Actor, now: datetime
) -> dict[str, Any]:
    """The export document of ``school`` (records an ``export`` read of every case first)."""
    events = list(log_events(app))
    case_ids = [UUID(e["originator_id"]) for e in events if e["type"] == "CaseReported"]
    with shared_pool().connection() as conn:
        for case_id in case_ids:
            record_case_read(
                conn, school.schema_name, case_id, actor.user_id, str(actor.role), ReadKind.EXPORT
            )
        reads = access_log_rows(conn, school.schema_name)
        head = chain_head(conn, school.schema_name)
    return {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "exported_by": {"user_id": actor.user_id, "role": str(actor.role)},
        **_registry_part(registry, school),
        "counts": _counts(events, reads),
        "chain": head,
        "events": events,
        "access_log": reads,
    }


@dataclass(frozen=True)
class ExportWritten:
    path: Path
    checksum_path: Path
    sha256: str
    counts: dict[str, Any]


def checksum_path_of(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file readable by its owner only (refused if it exists)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def write_school_export(document: dict[str, Any], path: Path) -> ExportWritten:
    """Write the document and its ``.sha256`` beside it; refuses to overwrite either."""
    checksum_path = checksum_path_of(path)
    for existing in (path, checksum_path):
        if existing.exists():
            msg = f"{existing} exists already: choose another --out (an export is never replaced)"
            raise InvalidInput(msg)
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    digest = hashlib.sha256(data).hexdigest()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        _write_private(temporary, data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _write_private(checksum_path, f"{digest}  {path.name}\n".encode())
    return ExportWritten(path, checksum_path, digest, document["counts"])


# --- verification -------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_sha256(path: Path, given: str | None) -> str:
    """The checksum the file must have: ``given``, else the one in ``<file>.sha256``."""
    if given:
        return given.strip().lower()
    checksum_path = checksum_path_of(path)
    try:
        text = checksum_path.read_text(encoding="utf-8")
    except OSError:
        msg = f"no checksum for {path}: keep {checksum_path.name} beside it, or pass --sha256"
        raise ExportMismatch(msg) from None
    return text.split()[0].lower() if text.split() else ""


def read_export(path: Path, sha256: str | None) -> tuple[dict[str, Any], str]:
    """The export document and its checksum, refused unless the checksum matches."""
    if not path.is_file():
        raise ExportMismatch(f"export file {path} does not exist")
    wanted = expected_sha256(path, sha256)
    actual = file_sha256(path)
    if actual != wanted:
        msg = f"export file {path} does not match its SHA-256 (changed or incomplete)"
        raise ExportMismatch(msg)
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ExportMismatch(f"export file {path} is not valid JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ExportMismatch(f"export file {path} is not a Vangnet school export ({FORMAT})")
    return document, actual


def _normal(value: Any) -> Any:
    """``value`` as it reads back from a JSON file."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def verify_school_export(
    app: CaseworkApplication, school: School, path: Path, sha256: str | None = None
) -> VerifiedExport:
    """Check that the file at ``path`` is an intact export of ``school`` that holds exactly the
    events and reads the database holds now (``ExportMismatch`` says what differs)."""
    document, digest = read_export(path, sha256)
    exported = document.get("school") or {}
    if exported.get("id") != str(school.id) or exported.get("slug") != school.slug:
        msg = f"export file {path} is not an export of school {school.slug}"
        raise ExportMismatch(msg)
    events = _normal(list(log_events(app)))
    with shared_pool().connection() as conn:
        reads = _normal(access_log_rows(conn, school.schema_name))
    counts = _counts(events, reads)
    if document.get("counts") != counts:
        msg = (
            f"export file {path} does not match the database: it counts "
            f"{(document.get('counts') or {}).get('events')} events and "
            f"{(document.get('counts') or {}).get('access_log')} reads, the school has "
            f"{counts['events']} events and {counts['access_log']} reads now (export again)"
        )
        raise ExportMismatch(msg)
    if document.get("events") != events:
        raise ExportMismatch(f"export file {path}: its events differ from the school's log")
    if document.get("access_log") != reads:
        raise ExportMismatch(f"export file {path}: its access log differs from the school's")
    return VerifiedExport(
        path=path,
        sha256=digest,
        events=counts["events"],
        last_position=counts["last_position"],
        last_read_id=counts["last_read_id"],
    )
