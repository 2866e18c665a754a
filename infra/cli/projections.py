"""``vangnet projections``: rebuild, verify and catch up the read side; how far it lags."""

from __future__ import annotations

import argparse
import sys

from infra import views as school_views
from infra.cli.common import (
    EXIT_DIFFERENCES,
    EXIT_REFUSED,
    Subparsers,
    open_container,
    school_choice,
    schools_of,
    show_help,
)
from projections.engine import Rate


def add_projection_commands(commands: Subparsers) -> None:
    views = commands.add_parser("projections", help="rebuild, verify and catch up the read side")
    view_commands = views.add_subparsers(title="projection commands", metavar="COMMAND")
    rebuild = view_commands.add_parser(
        "rebuild", help="rebuild views from the events beside the live ones, then switch"
    )
    school_choice(rebuild)
    rebuild.add_argument(
        "--view", action="append", metavar="NAME", help="only this view (repeatable)"
    )
    rebuild.set_defaults(handler=cmd_rebuild)
    verify = view_commands.add_parser(
        "verify",
        help="compare the views with a rebuild from the events and list quarantined events; "
        "exit 1 on either",
    )
    school_choice(verify)
    verify.set_defaults(handler=cmd_verify)
    catch_up = view_commands.add_parser("catch-up", help="apply the events the views lack")
    school_choice(catch_up)
    catch_up.set_defaults(handler=cmd_catch_up)
    status = view_commands.add_parser(
        "status", help="how far each school's views lag its log, and which are degraded"
    )
    status.set_defaults(handler=cmd_status)
    views.set_defaults(handler=lambda _args: show_help(views))


def cmd_rebuild(args: argparse.Namespace) -> int:
    try:
        views = school_views.views_named(args.view)
    except ValueError as e:
        print(f"vangnet: {e}", file=sys.stderr)
        return EXIT_REFUSED
    names = ", ".join(v.name for v in views)
    live_progress = sys.stderr.isatty()  # `\r` updates on a terminal; one line per school else
    with open_container() as container:
        schools = schools_of(container, args)
        total = Rate()
        for school in schools:
            rate = Rate()

            def progress(n: int, slug: str = school.slug, rate: Rate = rate) -> None:
                rate.add(n)
                total.add(n)
                if live_progress:
                    print(
                        f"\r{slug}: {rate.events} events, {rate.per_second:,.0f} events/s\033[K",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )

            applied = school_views.rebuild_school(container, school.id, views, progress=progress)
            print(
                ("\r" if live_progress else "")
                + f"{school.slug}: rebuilt {names} from {applied} events "
                f"({rate.per_second:,.0f} events/s)" + ("\033[K" if live_progress else ""),
                file=sys.stderr,
            )
            health = school_views.degraded(container, school.id)
            if health:
                print(f"{school.slug}: DEGRADED: {school_views.describe_health(health)}")
        print(
            f"rebuilt {names} for {len(schools)} school(s): {total.events} events, "
            f"{total.per_second:,.0f} events/s"
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with open_container() as container:
        schools = schools_of(container, args)
        differing = 0
        for school in schools:
            differences = school_views.verify_school(container, school.id)
            if differences:
                differing += 1
                print(f"{school.slug}: {len(differences)} difference(s)")
                for line in differences:
                    print(f"  {line}")
        if differing:
            print(
                f"{differing} of {len(schools)} school(s) differ from a rebuild from the events "
                "or have quarantined events: fix the cause, then "
                "vangnet projections rebuild --school SLUG"
            )
            return EXIT_DIFFERENCES
        print(f"verified {len(schools)} school(s): the views equal a rebuild from the events")
    return 0


def cmd_catch_up(args: argparse.Namespace) -> int:
    with open_container() as container:
        schools = schools_of(container, args)
        total = 0
        for school in schools:
            applied = school_views.catch_up_school(container, school.id)
            total += applied
            if applied:
                print(f"{school.slug}: {applied} events applied")
        print(f"caught up {len(schools)} school(s): {total} events applied")
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    with open_container() as container:
        schools = container.registry.list_schools()
        lagging = degraded = 0
        for school in schools:
            behind = school_views.lag(container, school.id)
            health = school_views.degraded(container, school.id)
            lagging += behind > 0
            degraded += bool(health)
            line = f"{school.slug:40} lag {behind}"
            if health:
                line += f"  DEGRADED: {school_views.describe_health(health)}"
            print(line)
        print(f"{len(schools)} school(s), {lagging} lagging, {degraded} degraded")
        if degraded:
            print(
                "degraded: a view skips (quarantined) or waits before (failing) events it cannot "
                "apply; `vangnet projections verify --school SLUG` lists them; after the cause "
                "is fixed, `vangnet projections rebuild --school SLUG` applies them again"
            )
    return 0
