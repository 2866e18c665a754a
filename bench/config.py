"""How big each measurement is: the full run, and ``--quick`` (a CI smoke test under 2 minutes).

The quick scale produces every figure of the full run, on less data and for less time; its values
are not comparable with the targets (which apply to the full run only).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Scale:
    name: str
    #: Schools receiving HTTP commands (and, separately, as many for the bare library).
    command_schools: int
    #: Cases created per school before the command load (notes are added to these).
    cases_per_school: int
    #: Concurrency levels of the closed-loop runs (HTTP, bare library and pgbench alike).
    levels: tuple[int, ...]
    #: Measured seconds per level, and warm-up seconds before each (not counted).
    seconds: float
    warmup: float
    #: Seconds of the open-loop run at half the peak HTTP throughput.
    half_peak_seconds: float
    #: Schools x cases of generated board statistics, and the board size.
    stats_schools: int
    stats_cases: int
    board_size: int
    #: Repetitions of each measured query (board statistics, audit replay).
    query_repeats: int
    #: Events of the audited case.
    audit_events: int
    #: Schools provisioned in total for the tenant-scale measurement.
    scale_schools: int
    #: Connections of each process's pool (VANGNET_POOL_SIZE), the same for the bare library.
    pool_size: int = 10
    #: Worker threads of ``vangnet worker``.
    worker_threads: int = 4
    #: Lag probes in flight at once (each polls the read side until its change is visible).
    lag_probes: int = 4

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


FULL = Scale(
    name="full",
    command_schools=100,
    cases_per_school=20,
    levels=(1, 4, 16, 32),
    seconds=20.0,
    warmup=3.0,
    half_peak_seconds=30.0,
    stats_schools=1000,
    stats_cases=100,
    board_size=50,
    query_repeats=200,
    audit_events=500,
    scale_schools=2000,
)

QUICK = Scale(
    name="quick",
    command_schools=10,
    cases_per_school=5,
    levels=(1, 8),
    seconds=3.0,
    warmup=0.5,
    half_peak_seconds=3.0,
    stats_schools=50,
    stats_cases=20,
    board_size=10,
    query_repeats=20,
    audit_events=500,
    scale_schools=60,
)
