"""Latency summaries and machine/process observations shared by the measurements."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values`` by linear interpolation (NaN if empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latency:
    """A latency distribution, in milliseconds."""

    n: int
    p50: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = [s * 1000.0 for s in seconds]
        if not ms:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        return cls(
            n=len(ms),
            p50=percentile(ms, 50),
            p99=percentile(ms, 99),
            mean=sum(ms) / len(ms),
            max=max(ms),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "p50_ms": self.p50,
            "p99_ms": self.p99,
            "mean_ms": self.mean,
            "max_ms": self.max,
        }


class MachineCpu:
    """Busy share of all CPUs between :meth:`start` and :meth:`stop` (from ``/proc/stat``)."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except OSError:
            return 0, 0
        values = [int(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values), idle

    def busy(self) -> float:
        """Busy fraction (0..1) of all CPUs since construction (NaN if unknown)."""
        total, idle = self._read()
        d_total = total - self._start[0]
        if d_total <= 0:
            return math.nan
        return 1.0 - (idle - self._start[1]) / d_total


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (NaN if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now (``VmRSS``) and at its peak (``VmHWM``) of process ``pid``, in MB."""
    found: dict[str, float] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {"rss_mb": math.nan, "peak_rss_mb": math.nan}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024.0  # kB -> MB
    return {"rss_mb": found.get("VmRSS", math.nan), "peak_rss_mb": found.get("VmHWM", math.nan)}


def machine_description() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = math.nan
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_total, 1),
        "load_average_at_start": [round(x, 2) for x in load],
        "kernel": os.uname().release,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


@dataclass(frozen=True)
class LoadLevel:
    """One closed-loop (or open-loop) run at one concurrency level."""

    concurrency: int
    #: Completed operations per second within the measured window.
    throughput: float
    latency: Latency
    errors: int
    #: Busy share of the machine's CPUs during the run (0..1).
    machine_busy: float
    #: Measurement-specific figures (lag, CPU seconds per process, target rate, ...).
    extra: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "throughput_per_s": self.throughput,
            "latency": self.latency.as_json(),
            "errors": self.errors,
            "machine_busy": self.machine_busy,
            **self.extra,
        }
