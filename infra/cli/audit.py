"""``vangnet audit``: verify the logs' hash chains, record checkpoints, replay a case.

``verify`` exits 1 when a log does not fit its keyed chain or its checkpoints — as the
database holds them and as the outside copy (``VANGNET_CHECKPOINT_DIR``) does — naming what it
found: the first event that does not fit (school, notification id, case id, version, and
whether its ciphertext belongs to it), a checkpoint missing from the database or differing from
its outside copy, a signature that does not verify, a log shorter than a checkpoint. It prints
ids only, never case content. ``replay`` prints a case's history and its state as of a moment,
and records the read in the school's access log like every other read (as
``cli:<operating-system user>``, in the auditor's role).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from uuid import UUID

from infra.audit.access_log import record_case_read
from infra.audit.integrity import (
    checkpoint_platform,
    checkpoint_school,
    verify_platform,
    verify_school,
)
from infra.cli.common import Subparsers, open_container, show_help
from infra.container import Container
from services.access.roles import Role
from services.audit.access_log import ReadKind
from services.audit.replay import CaseReplay, parse_until
from services.audit.verify import LogReport
from services.shared.actor import Actor
from services.shared.clock import SCHOOL_TZ
from services.shared.errors import InvalidInput
from tenants.registry import School

EXIT_DIFFERENCES = 1
#: Times are printed (and read without a zone) on the schools' clock.

#: Type of the object ``add_subparsers`` returns.


def add_audit_commands(commands: Subparsers) -> None:
    audit = commands.add_parser(
        "audit", help="tamper evidence of the logs (verify, checkpoint) and case replay"
    )
    audit_commands = audit.add_subparsers(title="audit commands", metavar="COMMAND")

    verify = audit_commands.add_parser(
        "verify",
        help="walk the keyed hash chains and compare the signed checkpoints (database and "
        "outside copy); exit 1 naming what does not fit",
    )
    _log_choice(verify)
    verify.set_defaults(handler=cmd_verify)

    checkpoint = audit_commands.add_parser(
        "checkpoint",
        help="record the chains' heads (position, hash, time), signed, in the database and "
        "outside it",
    )
    _log_choice(checkpoint)
    checkpoint.set_defaults(handler=cmd_checkpoint)

    replay = audit_commands.add_parser(
        "replay", help="print a case's history and its state as of a moment (recorded as a read)"
    )
    replay.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    replay.add_argument("--case", required=True, type=UUID, metavar="ID", help="the case id")
    replay.add_argument(
        "--as-of",
        metavar="ISO-TIME",
        help="the moment (default now); without a time zone: Dutch time; a date alone: its end",
    )
    replay.set_defaults(handler=cmd_replay)
    audit.set_defaults(handler=lambda _args: show_help(audit))


def _log_choice(parser: argparse.ArgumentParser) -> None:
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--school", metavar="SLUG", help="one school, by slug")
    choice.add_argument("--platform", action="store_true", help="the platform registry's log")
    choice.add_argument("--all", action="store_true", help="every school and the platform")


def _schools(container: Container, args: argparse.Namespace) -> list[School]:
    if args.school:
        return [container.registry.school_by_slug(args.school)]
    if args.all:
        return container.registry.list_schools()
    return []


def cmd_verify(args: argparse.Namespace) -> int:
    with open_container() as container:
        print(f"outside copies of the checkpoints: {container.settings.checkpoint_path}")
        reports: list[LogReport] = []
        if args.platform or args.all:
            reports.append(verify_platform(container.pool))
        for school in _schools(container, args):
            reports.append(verify_school(container.pool, school))
    broken = [r for r in reports if not r.ok]
    for report in reports:
        for line in report.lines():
            print(line)
    events = sum(r.events for r in reports)
    reads = sum(r.reads or 0 for r in reports)
    if broken:
        print(
            f"{len(broken)} of {len(reports)} log(s) do not fit their chain or checkpoints: "
            f"{', '.join(r.label for r in broken)}"
        )
        return EXIT_DIFFERENCES
    print(f"verified {len(reports)} log(s): {events} events and {reads} case reads intact")
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    with open_container() as container:
        recorded = []
        if args.platform or args.all:
            recorded += [("platform", c) for c in checkpoint_platform(container.pool)]
        for school in _schools(container, args):
            recorded += [(school.slug, c) for c in checkpoint_school(container.pool, school)]
        where = container.settings.checkpoint_path
    for label, c in recorded:
        print(f"{label}: {c.chain} #{c.position} {c.hash.hex()}")
    print(
        f"{len(recorded)} checkpoint(s) recorded, signed, in the database and in {where} "
        "(a head that did not move is not repeated)"
    )
    return 0


def _local(moment: datetime) -> str:
    return moment.astimezone(SCHOOL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def cmd_replay(args: argparse.Namespace) -> int:
    actor = Actor(user_id=f"cli:{getpass.getuser()}", role=Role.AUDITOR)
    try:
        as_of = parse_until(args.as_of, "--as-of", datetime.now(UTC), SCHOOL_TZ)
    except InvalidInput as e:
        print(f"vangnet: {e}", file=sys.stderr)
        return 2
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        replay = CaseReplay(container.schools.get(school.id), school.id)
        history = replay.history(actor, args.case)
        state = replay.state_as_of(actor, args.case, as_of)
        with container.pool.connection() as conn:
            record_case_read(
                conn,
                school.schema_name,
                args.case,
                actor.user_id,
                str(actor.role),
                ReadKind.CLI_REPLAY,
            )
    print(f"case {args.case} at {school.slug}: {len(history)} events (times: Europe/Amsterdam)")
    print(f"{'version':>7}  {'time':19}  {'event':28}  {'role':22}  actor")
    for entry in history:
        print(
            f"{entry.version:>7}  {_local(entry.at):19}  {entry.event_type:28}  "
            f"{entry.actor_role:22}  {entry.actor_id}"
        )
    print(
        f"\nstate as of {_local(state.as_of)}: version {state.version} "
        f"(changed {_local(state.changed_at)})"
    )
    print(json.dumps(state.state, ensure_ascii=False, indent=2))
    return 0
