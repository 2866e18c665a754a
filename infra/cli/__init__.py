"""The ``vangnet`` command: one module per command group — serve, demo, worker, jobs, tenants
(with exports and offboarding), projections, audit, privacy — and ``bench`` (the harness, run as
its own program).

Every refused command prints one line naming what is wrong and exits 2; nothing is stored.
``projections verify`` exits 1 when a view differs from a rebuild from the events or has
quarantined events; ``projections status`` marks degraded schools; ``audit
verify`` exits 1 when a log does not fit its hash chain or checkpoints.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence

from infra.cli.audit import add_audit_commands
from infra.cli.common import EXIT_DIFFERENCES, EXIT_REFUSED, Subparsers
from infra.cli.demo import add_demo_command
from infra.cli.deploy import add_deploy_commands
from infra.cli.jobs import add_job_commands
from infra.cli.privacy import add_privacy_commands
from infra.cli.projections import add_projection_commands
from infra.cli.serve import add_serve_command
from infra.cli.tenants import add_tenant_commands
from infra.cli.worker import add_worker_command
from infra.settings import SettingsError
from services.shared.errors import DomainError

__all__ = ["EXIT_DIFFERENCES", "EXIT_REFUSED", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["bench"]:
        return run_bench(given[1:])
    parser = build_parser()
    args = parser.parse_args(given)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except (DomainError, SettingsError) as error:
        print(f"vangnet: {error}", file=sys.stderr)
        return EXIT_REFUSED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vangnet",
        description="Vangnet: bullying cases for Dutch schools, every action an event in the "
        "school's own log.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_tenant_commands(commands)
    add_demo_command(commands)
    add_serve_command(commands)
    add_worker_command(commands)
    add_job_commands(commands)
    add_projection_commands(commands)
    add_audit_commands(commands)
    add_privacy_commands(commands)
    add_deploy_commands(commands)
    _add_bench_command(commands)
    return parser


def _add_bench_command(commands: Subparsers) -> None:
    """``vangnet bench`` runs the benchmark harness (bench/README.md) as its own program,
    ``python -m bench``: the harness lives in the repository, not in the wheel, and nothing of
    Vangnet imports it (the layers contract)."""
    bench = commands.add_parser(
        "bench",
        help="measure speed side by side on a fresh database (bench/README.md; "
        "options: python -m bench --help)",
        add_help=False,
    )
    bench.set_defaults(handler=lambda _args: run_bench([]))


def run_bench(options: Sequence[str]) -> int:
    """Run ``python -m bench`` with ``options`` (every argument after ``bench``, unparsed: the
    harness has its own); its exit code is ours."""
    command = [sys.executable, "-m", "bench", *options]
    return subprocess.run(command, check=False).returncode  # noqa: S603 - our own interpreter
