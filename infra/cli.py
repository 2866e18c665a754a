"""The ``vangnet`` command: tenants, demo (and, in later issues, serve, worker, projections).

Every refused command prints one line naming what is wrong and exits 2; nothing is stored.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence

from infra.container import Container
from infra.demo import (
    CASES_PER_SCHOOL,
    DEMO_BOARD,
    DEMO_SCHOOLS,
    demo_actor,
    event_names,
    seed_school,
)
from infra.settings import Settings, SettingsError
from services.casework.application import CaseworkApplication
from services.casework.handlers import CaseService
from services.shared.errors import DomainError
from tenants.registry import slugify
from tenants.roles import ROLE_LABELS_NL, Role

EXIT_REFUSED = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except (DomainError, SettingsError) as error:
        print(f"vangnet: {error}", file=sys.stderr)
        return EXIT_REFUSED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vangnet",
        description="Vangnet: bullying cases for Dutch schools, every action an event in the "
        "school's own log.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    tenants = commands.add_parser("tenants", help="boards and schools (platform operator)")
    tenant_commands = tenants.add_subparsers(title="tenant commands", metavar="COMMAND")
    board = tenant_commands.add_parser("create-board", help="register a school board (bestuur)")
    board.add_argument("name", help="the board's name")
    board.add_argument("--slug", help="short identifier (default: derived from the name)")
    board.set_defaults(handler=cmd_create_board)
    school = tenant_commands.add_parser(
        "create-school", help="provision a school: its own schema and data key"
    )
    school.add_argument("--board", required=True, help="the board's slug")
    school.add_argument("name", help="the school's name")
    school.add_argument("--slug", help="short identifier (default: derived from the name)")
    school.set_defaults(handler=cmd_create_school)
    listing = tenant_commands.add_parser("list", help="list boards and their schools")
    listing.set_defaults(handler=cmd_list)
    tenants.set_defaults(handler=lambda _args: _help(tenants))

    demo = commands.add_parser(
        "demo",
        help="embedded default: start PostgreSQL, create a demo board with three schools "
        "and about thirty cases",
    )
    demo.add_argument("--reset", action="store_true", help="start from an empty data directory")
    demo.add_argument(
        "--no-serve", action="store_true", help="prepare the data, print the summary and exit"
    )
    demo.set_defaults(handler=cmd_demo)
    return parser


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _open() -> Container:
    return Container.open(Settings.from_env())


def cmd_create_board(args: argparse.Namespace) -> int:
    with _open() as container:
        board = container.create_board(args.name, slug=args.slug)
        print(f"board created: {board.slug} ({board.id})")
    return 0


def cmd_create_school(args: argparse.Namespace) -> int:
    with _open() as container:
        school = container.create_school(args.board, args.name, slug=args.slug)
        print(f"school created: {school.slug} ({school.id}) in schema {school.schema_name}")
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    with _open() as container:
        boards = container.registry.list_boards()
        if not boards:
            print("no boards yet: vangnet tenants create-board NAME")
        for board in boards:
            print(f"{board.slug}  {board.name}")
            for school in container.registry.list_schools(board.id):
                print(f"  {school.slug}  {school.name}  (schema {school.schema_name})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.reset:
        _reset(settings)
        settings = Settings.from_env()  # a reset embedded data directory gets a new master key
    with Container.open(settings) as container:
        board_slug = slugify(DEMO_BOARD)
        existing = {b.slug for b in container.registry.list_boards()}
        if board_slug in existing:
            print(f"demo data already present (use --reset to start over): board {board_slug}")
        else:
            container.create_board(DEMO_BOARD)
            for name in DEMO_SCHOOLS:
                school = container.create_school(board_slug, name)
                app = container.schools.get(school.id)
                seed_school(CaseService(app, school.id), school.slug)
        _print_summary(container, board_slug)
    if not args.no_serve:
        print("\nThe web UI joins `vangnet demo` in a later release; the data is ready.")
    return 0


def _reset(settings: Settings) -> None:
    if not settings.embedded:
        if os.environ.get("VANGNET_DEMO_ALLOW_RESET") != "1":
            msg = (
                "--reset with DATABASE_URL set would drop every school: "
                "set VANGNET_DEMO_ALLOW_RESET=1 to confirm"
            )
            raise SettingsError(msg)
        _drop_all(settings)
        return
    if settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    print(f"reset: removed {settings.data_dir}")


def _drop_all(settings: Settings) -> None:
    import psycopg

    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        schemas = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = 'platform' "
                "OR nspname LIKE 'school\\_%'"
            )
        ]
        for schema in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # names come from pg_namespace
    print(f"reset: dropped {len(schemas)} schemas")


def _print_summary(container: Container, board_slug: str) -> None:
    board = container.registry.board_by_slug(board_slug)
    schools = container.registry.list_schools(board.id)
    print(f"\nDemo board: {board.name} ({board.slug})")
    total_cases = 0
    kinds: Counter[str] = Counter()
    for school in schools:
        app = container.schools.get(school.id)
        events = _event_kinds(app)
        cases = events["CaseReported"]
        total_cases += cases
        kinds.update(events)
        print(
            f"  {school.name} ({school.slug}): {cases} cases, {sum(events.values())} events, "
            f"schema {school.schema_name}"
        )
    missing = event_names() - set(kinds)
    print(
        f"In total: {len(schools)} schools, {total_cases} cases, {sum(kinds.values())} events, "
        f"{len(set(kinds))} of {len(event_names())} event types used"
        + (f" (missing: {', '.join(sorted(missing))})" if missing else "")
    )
    print("\nDemo users (fictitious), per school slug <school>:")
    for role in Role:
        if role is not Role.OPERATOR:
            print(f"  {demo_actor('<school>', role).user_id:42} {ROLE_LABELS_NL[role]}")
    print(f"({CASES_PER_SCHOOL} cases per school; all names are clearly fake.)")


def _event_kinds(app: CaseworkApplication, page: int = 1000) -> Counter[str]:
    kinds: Counter[str] = Counter()
    start = 1
    while True:
        batch = app.recorder.select_notifications(start=start, limit=page)
        kinds.update(n.topic.rsplit(".", 1)[-1] for n in batch)
        if len(batch) < page:
            return kinds
        start = batch[-1].id + 1


if __name__ == "__main__":
    sys.exit(main())
