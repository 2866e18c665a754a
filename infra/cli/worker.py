"""``vangnet worker``: run jobs from ``BROKER_URL`` in this process, and the periodic sweeps."""

from __future__ import annotations

import argparse

from infra.cli.common import Subparsers, log_to_stderr, positive
from infra.container import Container
from infra.settings import Settings
from infra.worker.run import run_worker


def add_worker_command(commands: Subparsers) -> None:
    worker = commands.add_parser(
        "worker",
        help="run jobs from BROKER_URL in this process, and sweep for lagging projections",
    )
    worker.add_argument(
        "--threads", type=positive, help="worker threads (default VANGNET_WORKER_THREADS or 4)"
    )
    worker.add_argument(
        "--sweep-seconds",
        type=positive,
        help="seconds between sweeps (default VANGNET_SWEEP_SECONDS or 30)",
    )
    worker.add_argument("--no-sweep", action="store_true", help="do not run the periodic sweep")
    worker.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    log_to_stderr(settings)
    # Open the database before taking messages (a worker that cannot reach it should not start).
    with Container.open(settings) as container:
        return run_worker(
            container,
            threads=args.threads,
            sweep_seconds=args.sweep_seconds,
            sweep=not args.no_sweep,
        )
