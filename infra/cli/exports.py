"""``vangnet tenants export`` and ``vangnet tenants offboard``: a school's full export, and the
school leaving the platform (see :mod:`infra.exports.school` and :mod:`tenants.offboarding`).

::

    vangnet tenants export --school SLUG --out school.json
    vangnet tenants offboard --school SLUG --export school.json --confirm SLUG

``export`` writes the file (mode 0600; it holds every case of the school, decrypted) and
``<file>.sha256`` beside it, and prints the SHA-256. ``offboard`` refuses (exit 2, nothing
changed) unless the confirmation repeats the slug and the file is an intact export holding exactly
what the database holds now; then it drops the school's schema and destroys its key.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime
from pathlib import Path

from infra.cli.common import Subparsers, open_container
from infra.exports.school import build_school_export, write_school_export
from services.access.roles import Role
from services.shared.actor import Actor
from tenants.offboarding import offboard_school

#: Type of the object ``add_subparsers`` returns.


def add_export_commands(tenant_subparsers: Subparsers) -> None:
    """Add ``export`` and ``offboard`` to ``vangnet tenants``."""
    export = tenant_subparsers.add_parser(
        "export",
        help="export one school completely to JSON (every event decrypted, its access log, "
        "registry record and configuration) with a SHA-256",
    )
    export.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    export.add_argument(
        "--out", required=True, type=Path, metavar="FILE.json", help="the file to write (new)"
    )
    export.set_defaults(handler=cmd_export)

    offboard = tenant_subparsers.add_parser(
        "offboard",
        help="after a verified export: drop the school's schema and destroy its data key",
    )
    offboard.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    offboard.add_argument(
        "--export",
        required=True,
        type=Path,
        metavar="FILE.json",
        help="the school's export (checked against the database before anything is removed)",
    )
    offboard.add_argument(
        "--confirm", required=True, metavar="SLUG", help="the school's slug again, to confirm"
    )
    offboard.add_argument(
        "--sha256",
        metavar="HEX",
        help="the export's SHA-256 (default: read from FILE.json.sha256 beside it)",
    )
    offboard.set_defaults(handler=cmd_offboard)


def _operator() -> Actor:
    """Who runs the command, as the registry and the access log record it."""
    return Actor(user_id=f"cli:{getpass.getuser()}", role=Role.OPERATOR)


def cmd_export(args: argparse.Namespace) -> int:
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        app = container.schools.get(school.id)
        document = build_school_export(
            container.pool, container.registry, app, school, _operator(), datetime.now(UTC)
        )
        written = write_school_export(document, args.out)
    counts = written.counts
    print(
        f"exported school {school.slug}: {counts['events']} events of {counts['cases']} cases, "
        f"{counts['access_log']} recorded reads -> {written.path} (readable by you only)"
    )
    print(f"sha256 {written.sha256}  {written.path}")
    print(f"checksum written to {written.checksum_path}")
    return 0


def cmd_offboard(args: argparse.Namespace) -> int:
    with open_container() as container:
        result = offboard_school(
            container.registry,
            container.archive,
            args.school,
            args.export,
            confirm=args.confirm,
            sha256=args.sha256,
            actor=_operator(),
        )
    if result.finished_earlier_attempt:
        print(f"school {result.slug} was offboarded earlier; its schema is dropped now")
    print(
        f"offboarded school {result.slug}: export {result.export_sha256} verified "
        f"({result.events} events); schema {result.schema} dropped, data key destroyed, "
        f"{result.stats_rows_deleted} statistics rows and {result.sessions_deleted} web "
        "sessions removed"
    )
    return 0
