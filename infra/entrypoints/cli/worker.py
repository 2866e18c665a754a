"""``vangnet worker``: run jobs from ``BROKER_URL`` in this process, and the periodic sweeps."""

from __future__ import annotations

import click

from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.cli.common import POSITIVE, log_to_stderr
from infra.entrypoints.worker.run import run_worker


@click.command("worker")
@click.option(
    "--threads", type=POSITIVE, help="worker threads (default VANGNET_WORKER_THREADS or 4)"
)
@click.option(
    "--sweep-seconds",
    type=POSITIVE,
    help="seconds between sweeps (default VANGNET_SWEEP_SECONDS or 30)",
)
@click.option("--no-sweep", is_flag=True, help="do not run the periodic sweep")
def worker(threads: int | None, sweep_seconds: int | None, no_sweep: bool) -> int:
    """Run jobs from BROKER_URL in this process, and sweep for lagging projections."""
    settings = Settings.from_env()
    log_to_stderr(settings)
    # Open the database before taking messages (a worker that cannot reach it should not start).
    with Container.open(settings) as container:
        return run_worker(
            container, threads=threads, sweep_seconds=sweep_seconds, sweep=not no_sweep
        )
