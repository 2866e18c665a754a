"""What every command group of ``vangnet`` shares: exit codes, argument types, opening the
container, logging to stderr."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from infra.container import Container
from infra.settings import Settings
from tenants.registry import School

#: A command found differences (views, logs) or could not read what it checks.
EXIT_DIFFERENCES = 1
#: A command was refused (bad input, settings): one line on stderr, nothing stored.
EXIT_REFUSED = 2

#: ``argparse``'s sub-parser collection (its class is private).
Subparsers = Any


def positive(raw: str) -> int:
    """An argument that must be a positive whole number."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a positive whole number, got {raw!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def school_choice(parser: argparse.ArgumentParser) -> None:
    """``--school SLUG`` or ``--all`` (one of them)."""
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--school", metavar="SLUG", help="one school, by slug")
    choice.add_argument("--all", action="store_true", help="every school")


def schools_of(container: Container, args: argparse.Namespace) -> list[School]:
    """The schools :func:`school_choice` chose."""
    if getattr(args, "school", None):
        return [container.registry.school_by_slug(args.school)]
    return container.registry.list_schools()


def show_help(parser: argparse.ArgumentParser) -> int:
    """A command group run without a command: its help."""
    parser.print_help()
    return 0


def open_container() -> Container:
    """The composition root, from the environment."""
    return Container.open(Settings.from_env())


def log_to_stderr(settings: Settings) -> None:
    """Log lines to stderr at ``VANGNET_LOG_LEVEL`` (processes the CLI runs: the worker)."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # pika logs connection chatter (and, on errors, frames) at INFO.
    logging.getLogger("pika").setLevel(logging.WARNING)
