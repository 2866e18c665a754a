"""Boards and schools for the benchmark, provisioned the product's way (schema, tables, key)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from infra.bootstrap.container import Container
from services.access.roles import Role
from services.shared.actor import Actor
from tenants.registry import School

#: The acting user of the commands the benchmark sends through the library.
CONTACT = Actor(user_id="bench-contact", role=Role.CONTACT_PERSON)


@dataclass(frozen=True)
class Provisioned:
    schools: list[School]
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.schools) / self.seconds if self.seconds > 0 else 0.0


def provision(
    container: Container,
    prefix: str,
    count: int,
    *,
    board_size: int = 50,
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Provisioned:
    """Schools ``<prefix>-s<n>`` for n in ``start .. start+count-1``, ``board_size`` per board
    (``<prefix>-b<n // board_size>``); boards are created as needed."""
    began = time.perf_counter()
    known = {b.slug for b in container.registry.list_boards()}
    schools = []
    for n in range(start, start + count):
        board = f"{prefix}-b{n // board_size:03d}"
        if board not in known:
            container.create_board(f"Bench board {board}", slug=board)
            known.add(board)
        schools.append(
            container.create_school(board, f"Bench school {prefix} {n}", slug=f"{prefix}-s{n:05d}")
        )
        if progress is not None:
            progress(len(schools))
    return Provisioned(schools=schools, seconds=time.perf_counter() - began)
