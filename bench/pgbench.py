"""The database's own limit: ``pgbench`` inserting one 400-byte row per transaction.

Same server, same database, same concurrency levels as the command path. Every transaction is
logged (``-l``) so p50/p99 come from the individual latencies, like ours.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench.database import BenchDatabase
from bench.stats import Latency, LoadLevel, MachineCpu

TABLE = "bench_pgbench_rows"
SCRIPT = f"INSERT INTO {TABLE} (payload) VALUES (repeat('x', 400));\n"


def find_pgbench(db: BenchDatabase) -> str:
    """The pgbench of the embedded server, else on PATH, else PostgreSQL's Debian location."""
    candidates = []
    if db.bin_dir is not None:
        candidates.append(str(db.bin_dir / "pgbench"))
    on_path = shutil.which("pgbench")
    if on_path:
        candidates.append(on_path)
    candidates += sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pgbench")), reverse=True
    )
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    msg = "pgbench not found (install the PostgreSQL client programs)"
    raise FileNotFoundError(msg)


def run_pgbench(db: BenchDatabase, levels: tuple[int, ...], seconds: float) -> list[LoadLevel]:
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL)"
        )
    program = find_pgbench(db)
    results = []
    with tempfile.TemporaryDirectory(prefix="vangnet-pgbench-") as tmp:
        script = Path(tmp) / "insert.sql"
        script.write_text(SCRIPT)
        for concurrency in levels:
            results.append(_level(program, db, script, Path(tmp), concurrency, seconds))
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return results


def _level(
    program: str, db: BenchDatabase, script: Path, tmp: Path, concurrency: int, seconds: float
) -> LoadLevel:
    prefix = tmp / f"c{concurrency}"
    env = {**os.environ, **db.libpq_env(), "PGAPPNAME": "vangnet-bench-pgbench"}
    command = [
        program,
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={concurrency}",
        f"--jobs={min(concurrency, os.cpu_count() or 1)}",
        f"--time={max(1, round(seconds))}",
        f"--file={script}",
        "--log",
        f"--log-prefix={prefix}",
    ]
    cpu = MachineCpu()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp, check=False)
    busy = cpu.busy()
    if done.returncode != 0:
        msg = f"pgbench failed ({done.returncode}): {done.stderr.strip()[-500:]}"
        raise RuntimeError(msg)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    if match is None:
        match = re.search(r"tps = ([0-9.]+)", done.stdout)
    if match is None:
        msg = f"pgbench printed no tps: {done.stdout[-500:]}"
        raise RuntimeError(msg)
    latencies: list[float] = []
    for log in tmp.glob(f"{prefix.name}.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                latencies.append(int(fields[2]) / 1_000_000)  # microseconds -> seconds
        log.unlink()
    return LoadLevel(
        concurrency=concurrency,
        throughput=float(match.group(1)),
        latency=Latency.of(latencies),
        errors=0,
        machine_busy=busy,
        extra={},
    )
