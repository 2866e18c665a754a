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

import getpass
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import click

from infra.adapters.audit.access_log import record_case_read
from infra.adapters.audit.integrity import (
    checkpoint_platform,
    checkpoint_school,
    verify_platform,
    verify_school,
)
from infra.bootstrap.container import Container
from infra.entrypoints.cli.common import (
    EXIT_DIFFERENCES,
    EXIT_REFUSED,
    CommandGroup,
    each_with_progress,
    json_option,
    open_container,
    print_json,
)
from services.access.roles import Role
from services.audit.access_log import ReadKind
from services.audit.replay import CaseReplay, parse_until
from services.audit.verify import LogReport
from services.shared.actor import Actor
from services.shared.clock import SCHOOL_TZ
from services.shared.errors import InvalidInput
from tenants.registry import School


@click.group("audit", cls=CommandGroup)
def audit() -> None:
    """Tamper evidence of the logs (verify, checkpoint) and case replay."""


def _log_choice(func: Any) -> Any:
    """``--school SLUG``, ``--platform`` or ``--all`` (exactly one)."""
    func = click.option("--all", "all_logs", is_flag=True, help="every school and the platform")(
        func
    )
    func = click.option("--platform", is_flag=True, help="the platform registry's log")(func)
    return click.option("--school", metavar="SLUG", help="one school, by slug")(func)


def _check_choice(school: str | None, platform: bool, all_logs: bool) -> None:
    if [bool(school), platform, all_logs].count(True) != 1:
        raise click.UsageError("give exactly one of --school SLUG, --platform and --all")


def _schools(container: Container, school: str | None, all_logs: bool) -> list[School]:
    if school:
        return [container.registry.school_by_slug(school)]
    if all_logs:
        return container.registry.list_schools()
    return []


def _report_json(report: LogReport) -> dict[str, Any]:
    return {
        "log": report.label,
        "schema": report.schema,
        "ok": report.ok,
        "events": report.events,
        "reads": report.reads,
        "checkpoints": report.checkpoints,
        "outside": report.outside,
        "problems": list(report.problems),
        "notes": list(report.notes),
    }


@audit.command("verify")
@_log_choice
@json_option()
def verify(school: str | None, platform: bool, all_logs: bool, as_json: bool) -> int:
    """Walk the keyed hash chains and compare the signed checkpoints (database and outside
    copy); exit 1 naming what does not fit."""
    _check_choice(school, platform, all_logs)
    with open_container() as container:
        where = container.settings.checkpoint_path
        reports: list[LogReport] = []
        if platform or all_logs:
            reports.append(verify_platform(container.pool))
        schools = _schools(container, school, all_logs)
        for _bar, one in each_with_progress("logs", schools, lambda s: s.slug):
            reports.append(verify_school(container.pool, one))
    broken = [r for r in reports if not r.ok]
    if as_json:
        print_json(
            {
                "checkpoint_copies": str(where),
                "logs": [_report_json(r) for r in reports],
                "broken": [r.label for r in broken],
                "ok": not broken,
            }
        )
        return EXIT_DIFFERENCES if broken else 0
    click.echo(f"outside copies of the checkpoints: {where}")
    for report in reports:
        for line in report.lines():
            click.echo(line)
    events = sum(r.events for r in reports)
    reads = sum(r.reads or 0 for r in reports)
    if broken:
        click.echo(
            f"{len(broken)} of {len(reports)} log(s) do not fit their chain or checkpoints: "
            f"{', '.join(r.label for r in broken)}"
        )
        return EXIT_DIFFERENCES
    click.echo(f"verified {len(reports)} log(s): {events} events and {reads} case reads intact")
    return 0


@audit.command("checkpoint")
@_log_choice
def checkpoint(school: str | None, platform: bool, all_logs: bool) -> int:
    """Record the chains' heads (position, hash, time), signed, in the database and outside
    it."""
    _check_choice(school, platform, all_logs)
    with open_container() as container:
        recorded = []
        if platform or all_logs:
            recorded += [("platform", c) for c in checkpoint_platform(container.pool)]
        schools = _schools(container, school, all_logs)
        for _bar, one in each_with_progress("logs", schools, lambda s: s.slug):
            recorded += [(one.slug, c) for c in checkpoint_school(container.pool, one)]
        where = container.settings.checkpoint_path
    for label, c in recorded:
        click.echo(f"{label}: {c.chain} #{c.position} {c.hash.hex()}")
    click.echo(
        f"{len(recorded)} checkpoint(s) recorded, signed, in the database and in {where} "
        "(a head that did not move is not repeated)"
    )
    return 0


def _local(moment: datetime) -> str:
    return moment.astimezone(SCHOOL_TZ).strftime("%Y-%m-%d %H:%M:%S")


@audit.command("replay")
@click.option("--school", required=True, metavar="SLUG", help="the school's slug")
@click.option("--case", "case_id", required=True, type=click.UUID, metavar="ID", help="the case id")
@click.option(
    "--as-of",
    metavar="ISO-TIME",
    help="the moment (default now); without a time zone: Dutch time; a date alone: its end",
)
def replay(school: str, case_id: UUID, as_of: str | None) -> int:
    """Print a case's history and its state as of a moment (recorded as a read)."""
    actor = Actor(user_id=f"cli:{getpass.getuser()}", role=Role.AUDITOR)
    try:
        moment = parse_until(as_of, "--as-of", datetime.now(UTC), SCHOOL_TZ)
    except InvalidInput as e:
        click.echo(f"vangnet: {e}", err=True)
        return EXIT_REFUSED
    with open_container() as container:
        found = container.registry.school_by_slug(school)
        case_replay = CaseReplay(container.schools.get(found.id), found.id)
        history = case_replay.history(actor, case_id)
        state = case_replay.state_as_of(actor, case_id, moment)
        with container.pool.connection() as conn:
            record_case_read(
                conn,
                found.schema_name,
                case_id,
                actor.user_id,
                str(actor.role),
                ReadKind.CLI_REPLAY,
            )
    click.echo(f"case {case_id} at {found.slug}: {len(history)} events (times: Europe/Amsterdam)")
    click.echo(f"{'version':>7}  {'time':19}  {'event':28}  {'role':22}  actor")
    for entry in history:
        click.echo(
            f"{entry.version:>7}  {_local(entry.at):19}  {entry.event_type:28}  "
            f"{entry.actor_role:22}  {entry.actor_id}"
        )
    click.echo(
        f"\nstate as of {_local(state.as_of)}: version {state.version} "
        f"(changed {_local(state.changed_at)})"
    )
    click.echo(json.dumps(state.state, ensure_ascii=False, indent=2))
    return 0
