"""The verification rules (services.audit.verify) and the access log service
(services.audit.access_log) with their ports in memory: a signer, an outside copy and chain
walks that report what a test says, a store of reads. The integration tier (test_audit_chain,
test_access_log) tampers with a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.access.roles import Role
from services.audit.access_log import AccessLog, CaseRead, ReadKind
from services.audit.checkpoints import KIND_CHECKPOINT, KIND_CREATED, Checkpoint, SinkLine, sign
from services.audit.verify import ACCESS_LOG, Walked, verify_chains
from services.shared.actor import Actor
from services.shared.errors import PermissionDenied

LOG = "school_test"
EVENTS = "casework_events"
WHEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Signer:
    key_id = "test-key"

    def sign(self, message: bytes) -> bytes:
        return b"signed:" + message[-16:]

    def verify(self, message: bytes, signature: bytes) -> bool:
        return signature == self.sign(message)


class Sink:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def append(self, log: str, record: dict[str, Any]) -> None:
        self.records.append(record)

    def read(self, log: str) -> list[SinkLine]:
        return [SinkLine(n, r) for n, r in enumerate(self.records, start=1)]

    def where(self, log: str) -> str:
        return f"memory:{log}"


def checkpoint(position: int, hash_: bytes, chain: str = EVENTS) -> Checkpoint:
    kind = KIND_CREATED if position == 0 else KIND_CHECKPOINT
    return sign(Signer(), LOG, chain, position, hash_, kind, WHEN)


def walk(hashes: dict[int, bytes], head: int, broken: tuple[str, str] | None = None) -> Any:
    return lambda positions: Walked(
        verified=head, head_id=head, hashes_at={p: hashes[p] for p in positions if p in hashes},
        broken=broken,
    )  # fmt: skip


def verify(in_db: list[Checkpoint], outside: list[Checkpoint], events: Any) -> Any:
    return verify_chains(
        label="school-test",
        schema=LOG,
        events_table=EVENTS,
        in_db=in_db,
        signer=Signer(),
        sink=Sink([c.record() for c in outside]),
        walk_events=events,
        walk_reads=None,
    )


def test_an_intact_log_is_reported_intact() -> None:
    points = [checkpoint(0, b"g"), checkpoint(3, b"h3")]
    report = verify(points, points, walk({0: b"g", 3: b"h3"}, 3))
    assert report.ok, report.problems
    assert (report.events, report.checkpoints, report.outside) == (3, 2, 2)


def test_a_checkpoint_deleted_from_the_database_is_named_from_the_outside_copy() -> None:
    points = [checkpoint(0, b"g"), checkpoint(3, b"h3")]
    report = verify(points[:1], points, walk({0: b"g", 3: b"h3"}, 3))
    assert any("missing from the database" in p for p in report.problems)


def test_a_cut_log_is_shorter_than_its_checkpoint() -> None:
    points = [checkpoint(0, b"g"), checkpoint(5, b"h5")]
    report = verify(points, points, walk({0: b"g"}, 2))
    assert any("entries at the end were removed" in p for p in report.problems)


def test_the_first_event_that_does_not_fit_is_named() -> None:
    points = [checkpoint(0, b"g")]
    broken = ("event #2 (case c, version 1)", "does not match the chain")
    report = verify(points, points, walk({0: b"g"}, 1, broken))
    assert report.problems[0].startswith("event #2 (case c, version 1) does not match the chain")


def test_a_forged_checkpoint_is_refused_and_a_dropped_chain_named() -> None:
    forged = Checkpoint(LOG, EVENTS, 0, b"g", KIND_CREATED, WHEN, key_id="test-key", signature=b"x")
    report = verify([forged], [], None)
    assert any("signature does not verify" in p for p in report.problems)
    assert any("has no chain table" in p for p in report.problems)
    assert ACCESS_LOG == "case_reads"


# --- the access log service (services.audit.access_log) ----------------------------------------


class _Store:
    def __init__(self) -> None:
        self.rows: list[CaseRead] = []

    async def append(self, case_id: UUID, user_id: str, role: str, what: ReadKind) -> int:
        self.rows.append(CaseRead(len(self.rows) + 1, case_id, user_id, role, str(what), WHEN))
        return len(self.rows)

    async def reads_of(self, case_id: UUID) -> list[CaseRead]:
        return [r for r in self.rows if r.case_id == case_id]


def test_the_access_log_records_reads_and_only_auditors_read_it_back() -> None:
    log = AccessLog(_Store())
    case = uuid4()
    contact = Actor(user_id="user-test-a", role=Role.CONTACT_PERSON)
    auditor = Actor(user_id="user-test-b", role=Role.AUDITOR)
    asyncio.run(log.record(contact, case, ReadKind.CASE_PAGE))
    [read] = asyncio.run(log.reads_of(auditor, case))
    assert (read.user_id, read.role, read.what) == ("user-test-a", "contact_person", "case_page")
    with pytest.raises(PermissionDenied):
        asyncio.run(log.reads_of(contact, case))
