"""The outside copy of the checkpoints: an append-only directory of JSON lines
(:class:`services.audit.checkpoints.CheckpointSink`).

A checkpoint in ``platform.chain_checkpoints`` can be deleted by anyone who can write the
database. A copy the database cannot reach can not: every checkpoint is also appended here, and
``vangnet audit verify`` compares the two. One file per log (``<log>.jsonl``: ``platform.jsonl``,
``school_<id>.jsonl``), one line per checkpoint, each line signed
(:mod:`infra.adapters.audit.checkpoints`).

Files are opened ``O_APPEND`` (concurrent processes append whole lines; nothing is ever
rewritten), each line is written with one ``write`` and ``fsync``-ed before the checkpoint
counts as published. The directory should live where the database's users cannot write, and
ideally on storage that enforces append-only (``chattr +a``, a WORM volume, a log shipper that
forwards lines elsewhere): that is the deployment's choice (``VANGNET_CHECKPOINT_DIR``). Every
process that records checkpoints (the worker, the web app in embedded mode, ``vangnet tenants
offboard``) and the one that verifies must see the same directory.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from services.audit.checkpoints import CheckpointSink, SinkLine

__all__ = ["CheckpointSink", "DirectorySink", "SinkLine"]

_LOG_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


class DirectorySink:
    """:class:`CheckpointSink` in a local (or mounted) directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, log: str) -> Path:
        """The file of ``log``'s copy (a log name is a plain schema name, checked)."""
        if not _LOG_NAME.fullmatch(log):
            msg = f"not a log name: {log!r}"
            raise ValueError(msg)
        return self.directory / f"{log}.jsonl"

    def where(self, log: str) -> str:
        return str(self.path(log))

    def append(self, log: str, record: dict[str, Any]) -> None:
        path = self.path(log)
        line = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("ascii") + b"\n"
        created = not path.exists()
        if created:
            self.directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            written = os.write(fd, line)
            if written != len(line):
                msg = f"short write to {path}"
                raise OSError(msg)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new file's directory entry must survive a crash too
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def read(self, log: str) -> list[SinkLine]:
        path = self.path(log)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        lines = []
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            lines.append(SinkLine(number, record if isinstance(record, dict) else None))
        return lines
