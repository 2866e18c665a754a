"""The full export of one school, for offboarding (reading and writing; the document and its
check are :mod:`services.exports.school`): everything the school's schema holds that is
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
- ``attachments``: every evidence file of the school's cases (issue 14), decrypted, base64, with
  its case, id and SHA-256; a file whose key was destroyed (an erased case) is listed as
  ``erased`` without content;
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

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.adapters.attachments.store import TABLE as ATTACHMENTS_TABLE
from infra.adapters.audit.access_log import TABLE as ACCESS_LOG_TABLE
from infra.adapters.audit.access_log import record_case_read
from infra.adapters.postgres.chain import chain_table, table_exists
from infra.adapters.postgres.pool import SharedPool
from services.attachments.files import StoredFile, decrypt
from services.audit.access_log import ReadKind
from services.casework.application import CaseworkApplication
from services.exports.school import (
    FORMAT,
    ExportMismatch,
    check_export,
    event_record,
    reported_cases,
    school_export_document,
)
from services.shared.actor import Actor
from services.shared.errors import InvalidInput
from tenants.offboarding import VerifiedExport
from tenants.registry import Registry, School

EVENTS_TABLE = "casework_events"
PAGE = 1000


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
                **event_record(event),
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


def attachment_files(
    pool: SharedPool, app: CaseworkApplication, school: School
) -> list[dict[str, Any]]:
    """Every attachment of the school, decrypted (base64), in the order they were stored."""
    with pool.connection() as conn:
        if not table_exists(conn, school.schema_name, ATTACHMENTS_TABLE):
            return []
        with conn.cursor(row_factory=tuple_row) as curs:
            rows = curs.execute(
                SQL(
                    "SELECT attachment_id, case_id, key_id, ciphertext FROM {}"
                    " ORDER BY created_at, attachment_id"
                ).format(Identifier(school.schema_name, ATTACHMENTS_TABLE))
            ).fetchall()
    found = []
    for row in rows:
        stored = StoredFile(row[0], row[1], row[2], bytes(row[3]))
        key = None if app.pupil_keys is None else app.pupil_keys.key(stored.key_id)
        content = None if key is None else decrypt(key, school.id, stored)
        entry: dict[str, Any] = {
            "attachment_id": str(stored.attachment_id),
            "case_id": str(stored.case_id),
        }
        if content is None:
            entry["erased"] = True
        else:
            entry["sha256"] = hashlib.sha256(content).hexdigest()
            entry["content_base64"] = base64.b64encode(content).decode("ascii")
        found.append(entry)
    return found


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


def _registry_part(registry: Registry, school: School) -> dict[str, Any]:
    board = registry.board(school.board_id)
    contacts = school.notification_contacts
    login = school.login
    history = [event_record(e, qualified=True) for e in registry.events.get(school.id)]
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
    pool: SharedPool,
    registry: Registry,
    app: CaseworkApplication,
    school: School,
    actor: Actor,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The export document of ``school`` (records an ``export`` read of every case first).

    ``progress(n)``: called as events are read (n events at a time), for a progress bar.
    """
    events = []
    for event in log_events(app):
        events.append(event)
        if progress is not None and len(events) % PAGE == 0:
            progress(PAGE)
    if progress is not None and len(events) % PAGE:
        progress(len(events) % PAGE)
    with pool.connection() as conn:
        for case_id in reported_cases(events):
            record_case_read(
                conn,
                school.schema_name,
                UUID(case_id),
                actor.user_id,
                str(actor.role),
                ReadKind.EXPORT,
            )
        reads = access_log_rows(conn, school.schema_name)
        head = chain_head(conn, school.schema_name)
    return school_export_document(
        registry_part=_registry_part(registry, school),
        events=events,
        reads=reads,
        chain=head,
        actor=actor,
        now=now,
        attachments=attachment_files(pool, app, school),
    )


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
    pool: SharedPool,
    app: CaseworkApplication,
    school: School,
    path: Path,
    sha256: str | None = None,
) -> VerifiedExport:
    """Check that the file at ``path`` is an intact export of ``school`` that holds exactly the
    events and reads the database holds now (``ExportMismatch`` says what differs)."""
    document, digest = read_export(path, sha256)
    events = _normal(list(log_events(app)))
    with pool.connection() as conn:
        reads = _normal(access_log_rows(conn, school.schema_name))
    counted = check_export(
        document,
        name=str(path),
        school_id=str(school.id),
        school_slug=school.slug,
        events=events,
        reads=reads,
        attachments=attachment_files(pool, app, school),
    )
    return VerifiedExport(
        path=path,
        sha256=digest,
        events=counted["events"],
        last_position=counted["last_position"],
        last_read_id=counted["last_read_id"],
    )
