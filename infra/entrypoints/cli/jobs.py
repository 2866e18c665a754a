"""``vangnet jobs``: inspect the job queues (dead letters; no personal data)."""

from __future__ import annotations

from collections.abc import Callable

import click

from infra.adapters.jobs import job_queues
from infra.config.settings import Settings, SettingsError
from infra.entrypoints.cli.common import EXIT_DIFFERENCES, CommandGroup, json_option, print_json
from infra.entrypoints.worker.broker import broker_kind
from infra.entrypoints.worker.deadletters import list_dead_letters


@click.group("jobs", cls=CommandGroup)
def jobs() -> None:
    """Inspect the job queues."""


@jobs.command("dead-letters")
@json_option()
def dead_letters(as_json: bool) -> int:
    """List messages that failed after their retries (no personal data)."""
    settings = Settings.from_env()
    kind = _broker_kind_or_refuse(broker_kind, settings.broker_url)
    if kind == "stub":
        if as_json:
            print_json({"broker": kind, "dead_letters": []})
            return 0
        click.echo(
            "BROKER_URL is not set: jobs run in-process on the stub broker, whose dead letters "
            "live in that process's memory (nothing to list here)."
        )
        return 0
    queues = job_queues(settings.queue_namespace)
    try:
        letters = list_dead_letters(settings.broker_url, settings.queue_namespace, queues)
    except Exception as e:
        click.echo(f"vangnet: cannot read the {kind} broker ({type(e).__name__})", err=True)
        return EXIT_DIFFERENCES
    letters = sorted(letters, key=lambda d: (d.failed_at is None, d.failed_at))
    if as_json:
        print_json(
            {
                "broker": kind,
                "dead_letters": [
                    {
                        "failed_at": d.failed_at.isoformat() if d.failed_at else None,
                        "actor": d.actor,
                        "message_id": d.message_id,
                        "school_id": d.school_id,
                        "error_class": d.error_class,
                        "retries": d.retries,
                    }
                    for d in letters
                ],
            }
        )
        return 0
    if not letters:
        click.echo(f"no dead letters ({kind}; queues {', '.join(q + '.XQ' for q in queues)})")
        return 0
    click.echo(f"{'failed at (UTC)':20}  {'actor':20}  {'message id':36}  {'school id':36}  error")
    for d in letters:
        when = d.failed_at.strftime("%Y-%m-%d %H:%M:%S") if d.failed_at else "-"
        click.echo(
            f"{when:20}  {d.actor:20}  {d.message_id:36}  {d.school_id or '-':36}  "
            f"{d.error_class or '-'} (retries {d.retries})"
        )
    click.echo(f"{len(letters)} dead letter(s) on {kind}")
    return 0


def _broker_kind_or_refuse(kind_of: Callable[[str | None], str], url: str | None) -> str:
    try:
        return kind_of(url)
    except ValueError as e:
        raise SettingsError(str(e)) from None
