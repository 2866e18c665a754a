"""``vangnet jobs``: inspect the job queues (dead letters; no personal data)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from infra.cli.common import EXIT_DIFFERENCES, Subparsers, show_help
from infra.jobs import job_queues
from infra.settings import Settings, SettingsError
from infra.worker.broker import broker_kind
from infra.worker.deadletters import list_dead_letters


def add_job_commands(commands: Subparsers) -> None:
    jobs = commands.add_parser("jobs", help="inspect the job queues")
    job_commands = jobs.add_subparsers(title="job commands", metavar="COMMAND")
    dead = job_commands.add_parser(
        "dead-letters", help="list messages that failed after their retries (no personal data)"
    )
    dead.set_defaults(handler=cmd_dead_letters)
    jobs.set_defaults(handler=lambda _args: show_help(jobs))


def cmd_dead_letters(_args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    kind = _broker_kind_or_refuse(broker_kind, settings.broker_url)
    if kind == "stub":
        print(
            "BROKER_URL is not set: jobs run in-process on the stub broker, whose dead letters "
            "live in that process's memory (nothing to list here)."
        )
        return 0
    queues = job_queues(settings.queue_namespace)
    try:
        letters = list_dead_letters(settings.broker_url, settings.queue_namespace, queues)
    except Exception as e:
        print(f"vangnet: cannot read the {kind} broker ({type(e).__name__})", file=sys.stderr)
        return EXIT_DIFFERENCES
    if not letters:
        print(f"no dead letters ({kind}; queues {', '.join(q + '.XQ' for q in queues)})")
        return 0
    print(f"{'failed at (UTC)':20}  {'actor':20}  {'message id':36}  {'school id':36}  error")
    for d in sorted(letters, key=lambda d: (d.failed_at is None, d.failed_at)):
        when = d.failed_at.strftime("%Y-%m-%d %H:%M:%S") if d.failed_at else "-"
        print(
            f"{when:20}  {d.actor:20}  {d.message_id:36}  {d.school_id or '-':36}  "
            f"{d.error_class or '-'} (retries {d.retries})"
        )
    print(f"{len(letters)} dead letter(s) on {kind}")
    return 0


def _broker_kind_or_refuse(kind_of: Callable[[str | None], str], url: str | None) -> str:
    try:
        return kind_of(url)
    except ValueError as e:
        raise SettingsError(str(e)) from None
