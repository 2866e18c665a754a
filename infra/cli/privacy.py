"""``vangnet privacy``: erase the pupil data of cases whose retention period ran out.

``vangnet privacy expire --school SLUG`` (or ``--all``) does what the worker's daily run does;
``--today YYYY-MM-DD`` runs it as of another day (to see what a date would erase, or to catch up
after the worker was down). ``vangnet privacy seal-old --school SLUG`` (or ``--all``) seals, once,
the events written before sealing existed (:mod:`infra.privacy.reseal`). Output names cases by id
only, never a pupil.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from infra.cli.common import Subparsers, open_container, show_help
from infra.retention import ExpiryReport, expire_all, expire_school, seal_old_school


def add_privacy_commands(commands: Subparsers) -> None:
    privacy = commands.add_parser("privacy", help="retention and erasure of pupil data")
    privacy_commands = privacy.add_subparsers(title="privacy commands", metavar="COMMAND")
    expire = privacy_commands.add_parser(
        "expire", help="erase pupil data of cases closed longer ago than the retention period"
    )
    which = expire.add_mutually_exclusive_group(required=True)
    which.add_argument("--school", metavar="SLUG", help="one school")
    which.add_argument("--all", action="store_true", help="every school")
    expire.add_argument(
        "--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="as of this day"
    )
    expire.set_defaults(handler=cmd_expire)
    seal_old = privacy_commands.add_parser(
        "seal-old",
        help="seal pupil fields and free text of events written before sealing existed",
    )
    which_log = seal_old.add_mutually_exclusive_group(required=True)
    which_log.add_argument("--school", metavar="SLUG", help="one school")
    which_log.add_argument("--all", action="store_true", help="every school")
    seal_old.set_defaults(handler=cmd_seal_old)
    privacy.set_defaults(handler=lambda _args: show_help(privacy))


def cmd_expire(args: argparse.Namespace) -> int:
    today: date = args.today or datetime.now(UTC).date()
    with open_container() as container:
        if args.all:
            reports = expire_all(container, today=today)
        else:
            school = container.registry.school_by_slug(args.school)
            reports = [expire_school(container, school.id, today=today)]
    for report in reports:
        _print(report)
    return 0


def cmd_seal_old(args: argparse.Namespace) -> int:
    """Exit 1 when a school's log was refused (its chain does not verify)."""
    failed = False
    with open_container() as container:
        if args.all:
            schools = container.registry.list_schools()
        else:
            schools = [container.registry.school_by_slug(args.school)]
        for school in schools:
            done = seal_old_school(container, school.id)
            if done.refused is not None:
                failed = True
                print(f"{school.slug}: NOT sealed: {done.refused}")
            else:
                print(f"{school.slug}: {done.events} event(s), {done.sealed} sealed now")
    return 1 if failed else 0


def _print(report: ExpiryReport) -> None:
    print(
        f"{report.school_slug}: closed before {report.cutoff.isoformat()}: "
        f"{len(report.erased)} case(s) erased, {len(report.erased_pupils)} pupil(s) erased"
    )
    for case_id in report.erased:
        print(f"  {case_id}")
    for pupil_id in report.erased_pupils:
        print(f"  pupil {pupil_id}")
