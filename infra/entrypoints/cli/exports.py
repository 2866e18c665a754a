"""``vangnet tenants export`` and ``vangnet tenants offboard``: a school's full export, and the
school leaving the platform (see :mod:`infra.adapters.exports.school` and
:mod:`tenants.offboarding`).

::

    vangnet tenants export --school SLUG --out school.json [--json]
    vangnet tenants offboard --school SLUG --export school.json --confirm SLUG

``export`` writes the file (mode 0600; it holds every case of the school, decrypted) and
``<file>.sha256`` beside it, and prints the SHA-256. ``offboard`` refuses (exit 2, nothing
changed) unless the confirmation repeats the slug and the file is an intact export holding exactly
what the database holds now; then it drops the school's schema and destroys its key.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import click

from infra.adapters.exports.school import build_school_export, write_school_export
from infra.entrypoints.cli.common import json_option, open_container, print_json, progress_bar
from services.access.roles import Role
from services.shared.actor import Actor
from tenants.offboarding import OFFBOARDING_STEPS, offboard_school

FILE = click.Path(path_type=Path, dir_okay=False)


def _operator() -> Actor:
    """Who runs the command, as the registry and the access log record it."""
    return Actor(user_id=f"cli:{getpass.getuser()}", role=Role.OPERATOR)


@click.command("export")
@click.option("--school", required=True, metavar="SLUG", help="the school's slug")
@click.option(
    "--out", required=True, type=FILE, metavar="FILE.json", help="the file to write (new)"
)
@json_option("print the file, its checksum and the counts as JSON")
def export(school: str, out: Path, as_json: bool) -> int:
    """Export one school completely to JSON (every event decrypted, its access log, registry
    record and configuration) with a SHA-256."""
    with open_container() as container:
        found = container.registry.school_by_slug(school)
        app = container.schools.get(found.id)
        with progress_bar("events", app.recorder.max_notification_id() or 0) as bar:
            bar.describe(f"{found.slug}: reading the log")
            document = build_school_export(
                container.pool,
                container.registry,
                app,
                found,
                _operator(),
                datetime.now(UTC),
                progress=bar.advance,
            )
            bar.describe(f"{found.slug}: writing")
            written = write_school_export(document, out)
    counts = written.counts
    if as_json:
        print_json(
            {
                "school": found.slug,
                "path": str(written.path),
                "sha256": written.sha256,
                "checksum_path": str(written.checksum_path),
                "counts": counts,
            }
        )
        return 0
    click.echo(
        f"exported school {found.slug}: {counts['events']} events of {counts['cases']} cases, "
        f"{counts['access_log']} recorded reads -> {written.path} (readable by you only)"
    )
    click.echo(f"sha256 {written.sha256}  {written.path}")
    click.echo(f"checksum written to {written.checksum_path}")
    return 0


@click.command("offboard")
@click.option("--school", required=True, metavar="SLUG", help="the school's slug")
@click.option(
    "--export",
    "export_path",
    required=True,
    type=FILE,
    metavar="FILE.json",
    help="the school's export (checked against the database before anything is removed)",
)
@click.option(
    "--confirm", required=True, metavar="SLUG", help="the school's slug again, to confirm"
)
@click.option(
    "--sha256",
    metavar="HEX",
    help="the export's SHA-256 (default: read from FILE.json.sha256 beside it)",
)
def offboard(school: str, export_path: Path, confirm: str, sha256: str | None) -> int:
    """After a verified export: drop the school's schema and destroy its data key."""
    with open_container() as container, progress_bar("steps", len(OFFBOARDING_STEPS)) as bar:
        started = False

        def step(what: str) -> None:
            nonlocal started
            if started:
                bar.item_done()
            started = True
            bar.describe(what)

        result = offboard_school(
            container.registry,
            container.archive,
            school,
            export_path,
            confirm=confirm,
            sha256=sha256,
            actor=_operator(),
            step=step,
        )
        if started:
            bar.item_done()
    if result.finished_earlier_attempt:
        click.echo(f"school {result.slug} was offboarded earlier; its schema is dropped now")
    click.echo(
        f"offboarded school {result.slug}: export {result.export_sha256} verified "
        f"({result.events} events); schema {result.schema} dropped, data key destroyed, "
        f"{result.stats_rows_deleted} statistics rows and {result.sessions_deleted} web "
        "sessions removed"
    )
    return 0
