"""Signed checkpoints and their outside copy (infra.adapters.audit.checkpoints,
infra.adapters.audit.sink)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from infra.adapters.audit.sink import DirectorySink
from infra.adapters.audit.trail import AuditTrail, CheckpointSigner
from services.audit.checkpoints import from_record, sign, signature_problem

MASTER = bytes(range(32))


def test_a_signed_checkpoint_verifies_and_any_change_does_not() -> None:
    signer = CheckpointSigner(MASTER)
    checkpoint = sign(signer, "school_ab", "casework_events", 15, b"\x01" * 32, "checkpoint")
    assert signature_problem(signer, checkpoint) is None
    for changed in (
        replace(checkpoint, position=16),
        replace(checkpoint, hash=b"\x02" * 32),
        replace(checkpoint, log="school_cd"),
        replace(checkpoint, chain="case_reads"),
        replace(checkpoint, kind="sealed"),
        replace(checkpoint, recorded_at=checkpoint.recorded_at.replace(year=2020)),
    ):
        assert signature_problem(signer, changed) == (
            "its signature does not verify: it was forged, or changed after it was signed"
        )
    assert signature_problem(signer, replace(checkpoint, signature=None)) == "it is not signed"
    other = CheckpointSigner(bytes(range(1, 33)))
    assert "signed with another key" in (signature_problem(other, checkpoint) or "")


def test_the_outside_copy_round_trips_and_names_damaged_lines(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path / "checkpoints")
    trail = AuditTrail(MASTER, sink)
    checkpoint = sign(trail.signer, "school_ab", "casework_events", 3, b"\x03" * 32, "checkpoint")
    sink.append("school_ab", checkpoint.record())
    sink.append("school_ab", checkpoint.record())
    path = tmp_path / "checkpoints" / "school_ab.jsonl"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)
    with path.open("a") as f:
        f.write("{half a line\n")
    lines = sink.read("school_ab")
    assert [line.number for line in lines] == [1, 2, 3]
    assert lines[2].record is None
    assert lines[0].record is not None
    back = from_record(lines[0].record)
    assert back == checkpoint
    assert back is not None
    assert signature_problem(trail.signer, back) is None
    assert json.loads(path.read_text().splitlines()[0])["key"] == trail.signer.key_id
    assert sink.read("school_cd") == []


def test_chain_keys_are_per_chain_and_derived_from_the_master_key(tmp_path: Path) -> None:
    trail = AuditTrail(MASTER, DirectorySink(tmp_path))
    events = trail.chain_key("school_ab", "casework_events")
    assert events == AuditTrail(MASTER, DirectorySink(tmp_path)).chain_key(
        "school_ab", "casework_events"
    )
    assert events != trail.chain_key("school_ab", "case_reads")
    assert events != trail.chain_key("school_cd", "casework_events")
    assert events != AuditTrail(bytes(32), DirectorySink(tmp_path)).chain_key(
        "school_ab", "casework_events"
    )
