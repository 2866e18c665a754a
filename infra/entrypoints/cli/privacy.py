"""``vangnet privacy``: erase the pupil data of cases whose retention period ran out, and seal
the events written before sealing existed.

``vangnet privacy expire --school SLUG`` (or ``--all``) does what the worker's daily run does;
``--today YYYY-MM-DD`` runs it as of another day (to see what a date would erase, or to catch up
after the worker was down). Output names cases and pupils by id only, never a pupil's name.
``vangnet privacy seal-old`` seals old events in place, once (:mod:`infra.adapters.privacy.reseal`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import click

from infra.bootstrap.retention import ExpiryReport, expire_school, seal_old_school
from infra.entrypoints.cli.common import (
    CommandGroup,
    each_with_progress,
    json_option,
    open_container,
    print_json,
)


@click.group("privacy", cls=CommandGroup)
def privacy() -> None:
    """Retention and erasure of pupil data."""


@privacy.command("expire")
@click.option("--school", metavar="SLUG", help="one school")
@click.option("--all", "all_schools", is_flag=True, help="every school")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="as of this day",
)
@json_option()
def expire(school: str | None, all_schools: bool, today: datetime | None, as_json: bool) -> int:
    """Erase pupil data of cases closed longer ago than the retention period, and files
    received from other schools kept until before today."""
    if bool(school) == all_schools:
        raise click.UsageError("give exactly one of --school SLUG and --all")
    day: date = today.date() if today is not None else datetime.now(UTC).date()
    with open_container() as container:
        schools = (
            [container.registry.school_by_slug(school)]
            if school
            else container.registry.list_schools()
        )
        reports = []
        for bar, one in each_with_progress("schools", schools, lambda s: s.slug):
            report = expire_school(container, one.id, today=day)
            reports.append(report)
            if (report.erased or report.erased_pupils or report.erased_received) and not as_json:
                bar.say(
                    f"{one.slug}: {len(report.erased)} case(s), "
                    f"{len(report.erased_pupils)} pupil(s), "
                    f"{len(report.erased_received)} received file(s) erased"
                )
    if as_json:
        print_json(
            {
                "today": day.isoformat(),
                "schools": [
                    {
                        "school": r.school_slug,
                        "closed_before": r.cutoff.isoformat(),
                        "erased": [str(case_id) for case_id in r.erased],
                        "erased_pupils": [str(pupil_id) for pupil_id in r.erased_pupils],
                        "erased_received": [str(file_id) for file_id in r.erased_received],
                    }
                    for r in reports
                ],
            }
        )
        return 0
    for report in reports:
        _print(report)
    return 0


@privacy.command("seal-old")
@click.option("--school", metavar="SLUG", help="one school")
@click.option("--all", "all_schools", is_flag=True, help="every school")
def seal_old(school: str | None, all_schools: bool) -> int:
    """Seal pupil fields and free text of events written before sealing existed (exit 1 when a
    school's log was refused: its chain does not verify)."""
    if bool(school) == all_schools:
        raise click.UsageError("give exactly one of --school SLUG and --all")
    lines, failed = [], False
    with open_container() as container:
        schools = (
            [container.registry.school_by_slug(school)]
            if school
            else container.registry.list_schools()
        )
        for _bar, one in each_with_progress("schools", schools, lambda s: s.slug):
            done = seal_old_school(container, one.id)
            if done.refused is not None:
                failed = True
                lines.append(f"{one.slug}: NOT sealed: {done.refused}")
            else:
                lines.append(f"{one.slug}: {done.events} event(s), {done.sealed} sealed now")
    for line in lines:
        click.echo(line)
    return 1 if failed else 0


def _print(report: ExpiryReport) -> None:
    click.echo(
        f"{report.school_slug}: closed before {report.cutoff.isoformat()}: "
        f"{len(report.erased)} case(s) erased, {len(report.erased_pupils)} pupil(s) erased"
    )
    for case_id in report.erased:
        click.echo(f"  {case_id}")
    for pupil_id in report.erased_pupils:
        click.echo(f"  pupil {pupil_id}")
    if report.erased_received:
        click.echo(f"  {len(report.erased_received)} received file(s) erased (keep until passed)")
    for file_id in report.erased_received:
        click.echo(f"  received file {file_id}")
