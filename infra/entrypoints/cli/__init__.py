"""The ``vangnet`` command (click): one module per command group — serve, demo, worker, jobs,
tenants (with exports, offboarding and the SCIM token), projections, audit, privacy, migrate,
monitor —
and ``bench`` (the harness, run as its own program). How to add a command: README.md here.

Every refused command prints one line naming what is wrong and exits 2; nothing is stored.
``projections verify`` exits 1 when a view differs from a rebuild from the events or has
quarantined events; ``projections status`` marks degraded schools; ``audit verify`` exits 1
when a log does not fit its hash chain or checkpoints. Long runs show a progress bar on stderr
(on a terminal); commands a script reads take ``--json``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

import click

from infra.config.settings import SettingsError
from infra.entrypoints.cli.audit import audit
from infra.entrypoints.cli.common import EXIT_DIFFERENCES, EXIT_REFUSED, CommandGroup
from infra.entrypoints.cli.demo import demo
from infra.entrypoints.cli.deploy import migrate
from infra.entrypoints.cli.jobs import jobs
from infra.entrypoints.cli.monitor import monitor
from infra.entrypoints.cli.privacy import privacy
from infra.entrypoints.cli.projections import projections
from infra.entrypoints.cli.serve import serve
from infra.entrypoints.cli.tenants import tenants
from infra.entrypoints.cli.worker import worker
from services.shared.errors import DomainError

__all__ = ["EXIT_DIFFERENCES", "EXIT_REFUSED", "cli", "main", "resolve"]

#: ``-h`` as well as ``--help``, as the argparse CLI had.
CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group("vangnet", cls=CommandGroup, context_settings=CONTEXT)
def cli() -> None:
    """Vangnet: bullying cases for Dutch schools, every action an event in the school's own
    log."""


@cli.command(
    "bench",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def bench(options: tuple[str, ...]) -> int:
    """Measure speed side by side on a fresh database (bench/README.md; options: vangnet
    bench --help).

    Runs ``python -m bench`` with every argument after ``bench``: the harness lives in the
    repository, not in the wheel, and nothing of Vangnet imports it (the layers contract), so
    it is a program of its own with its own options.
    """
    return run_bench(options)


for command in (tenants, demo, serve, worker, jobs, projections, audit, privacy, migrate, monitor):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``vangnet`` with ``argv`` (default: the process's arguments); the exit code.

    ``--help`` prints the help and returns 0; a usage error prints click's message and
    returns 2; a refusal (:class:`DomainError`, a setting) prints
    ``vangnet: <reason>`` and returns 2.
    """
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=given, prog_name="vangnet", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("vangnet: aborted", err=True)
        return EXIT_DIFFERENCES
    except (DomainError, SettingsError) as error:
        click.echo(f"vangnet: {error}", err=True)
        return EXIT_REFUSED
    return result if isinstance(result, int) else 0


def resolve(argv: Sequence[str]) -> click.Command:
    """The command ``argv`` runs, parsed like ``main`` parses it but not run (usage errors
    raise :class:`click.UsageError`): for checks of command lines written elsewhere (deploy
    files, Makefile)."""
    command: click.Command = cli
    ctx = cli.make_context("vangnet", list(argv), resilient_parsing=False)
    while isinstance(command, click.Group):
        remaining = [*ctx._protected_args, *ctx.args]
        if not remaining:
            return command
        _name, sub, rest = command.resolve_command(ctx, remaining)
        if sub is None:
            raise click.UsageError(f"no command {remaining[0]!r}", ctx)
        command = sub
        ctx = sub.make_context(_name, rest, parent=ctx, resilient_parsing=False)
    return command


def run_bench(options: Sequence[str]) -> int:
    """Run ``python -m bench`` with ``options`` (every argument after ``bench``, unparsed: the
    harness has its own); its exit code is ours."""
    command = [sys.executable, "-m", "bench", *options]
    return subprocess.run(command, check=False).returncode  # noqa: S603 - our own interpreter
