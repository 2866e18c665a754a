"""``vangnet projections``: rebuild, verify and catch up the read side; how far it lags."""

from __future__ import annotations

from typing import Any

import click

from infra.bootstrap import views as school_views
from infra.entrypoints.cli.common import (
    EXIT_DIFFERENCES,
    EXIT_REFUSED,
    CommandGroup,
    each_with_progress,
    json_option,
    open_container,
    print_json,
    progress_bar,
    school_choice,
    schools_of,
)
from projections.engine import Rate
from tenants.registry import School


@click.group("projections", cls=CommandGroup)
def projections() -> None:
    """Rebuild, verify and catch up the read side."""


@projections.command("rebuild")
@school_choice
@click.option(
    "--view", "view_names", multiple=True, metavar="NAME", help="only this view (repeatable)"
)
def rebuild(school: str | None, all_schools: bool, view_names: tuple[str, ...]) -> int:  # noqa: ARG001
    """Rebuild views from the events beside the live ones, then switch."""
    try:
        views = school_views.views_named(list(view_names) or None)
    except ValueError as e:
        click.echo(f"vangnet: {e}", err=True)
        return EXIT_REFUSED
    names = ", ".join(v.name for v in views)
    with open_container() as container:
        schools = schools_of(container, school)
        total = Rate()
        with progress_bar("schools", len(schools), counting="events") as bar:
            for one in schools:
                bar.describe(one.slug)
                rate = Rate()

                def progress(n: int, rate: Rate = rate) -> None:
                    rate.add(n)
                    total.add(n)
                    bar.count(n)

                applied = school_views.rebuild_school(container, one.id, views, progress=progress)
                bar.say(
                    f"{one.slug}: rebuilt {names} from {applied} events "
                    f"({rate.per_second:,.0f} events/s)"
                )
                health = school_views.degraded(container, one.id)
                if health:
                    click.echo(f"{one.slug}: DEGRADED: {school_views.describe_health(health)}")
                bar.item_done()
        click.echo(
            f"rebuilt {names} for {len(schools)} school(s): {total.events} events, "
            f"{total.per_second:,.0f} events/s"
        )
    return 0


@projections.command("verify")
@school_choice
@json_option()
def verify(school: str | None, all_schools: bool, as_json: bool) -> int:  # noqa: ARG001
    """Compare the views with a rebuild from the events and list quarantined events; exit 1
    on either."""
    with open_container() as container:
        schools = schools_of(container, school)
        found: dict[str, list[str]] = {}
        for bar, one in each_with_progress("schools", schools, _slug):
            differences = school_views.verify_school(container, one.id)
            found[one.slug] = list(differences)
            if differences and not as_json:
                bar.say(f"{one.slug}: {len(differences)} difference(s)")
    differing = [slug for slug, lines in found.items() if lines]
    if as_json:
        print_json(
            {
                "schools": [
                    {"school": slug, "differences": lines} for slug, lines in found.items()
                ],
                "differing": len(differing),
                "ok": not differing,
            }
        )
        return EXIT_DIFFERENCES if differing else 0
    for slug in differing:
        click.echo(f"{slug}: {len(found[slug])} difference(s)")
        for line in found[slug]:
            click.echo(f"  {line}")
    if differing:
        click.echo(
            f"{len(differing)} of {len(schools)} school(s) differ from a rebuild from the events "
            "or have quarantined events: fix the cause, then "
            "vangnet projections rebuild --school SLUG"
        )
        return EXIT_DIFFERENCES
    click.echo(f"verified {len(schools)} school(s): the views equal a rebuild from the events")
    return 0


@projections.command("catch-up")
@school_choice
def catch_up(school: str | None, all_schools: bool) -> int:  # noqa: ARG001
    """Apply the events the views lack."""
    with open_container() as container:
        schools = schools_of(container, school)
        total = 0
        for bar, one in each_with_progress("schools", schools, _slug):
            applied = school_views.catch_up_school(container, one.id)
            total += applied
            if applied:
                bar.say(f"{one.slug}: {applied} events applied")
        click.echo(f"caught up {len(schools)} school(s): {total} events applied")
    return 0


@projections.command("status")
@json_option()
def status(as_json: bool) -> int:
    """How far each school's views lag its log, and which are degraded."""
    rows: list[dict[str, Any]] = []
    with open_container() as container:
        schools = container.registry.list_schools()
        for _bar, one in each_with_progress("schools", schools, _slug):
            health = school_views.degraded(container, one.id)
            rows.append(
                {
                    "school": one.slug,
                    "lag": school_views.lag(container, one.id),
                    "degraded": school_views.describe_health(health) if health else None,
                }
            )
    lagging = sum(row["lag"] > 0 for row in rows)
    degraded = sum(row["degraded"] is not None for row in rows)
    if as_json:
        print_json({"schools": rows, "lagging": lagging, "degraded": degraded})
        return 0
    for row in rows:
        line = f"{row['school']:40} lag {row['lag']}"
        if row["degraded"]:
            line += f"  DEGRADED: {row['degraded']}"
        click.echo(line)
    click.echo(f"{len(rows)} school(s), {lagging} lagging, {degraded} degraded")
    if degraded:
        click.echo(
            "degraded: a view skips (quarantined) or waits before (failing) events it cannot "
            "apply; `vangnet projections verify --school SLUG` lists them; after the cause "
            "is fixed, `vangnet projections rebuild --school SLUG` applies them again"
        )
    return 0


def _slug(school: School) -> str:
    return school.slug
