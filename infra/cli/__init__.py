"""The ``vangnet`` command: serve, tenants, demo, worker, jobs, projections, audit.

Every refused command prints one line naming what is wrong and exits 2; nothing is stored.
``projections verify`` exits 1 when a view differs from a rebuild from the events or has
quarantined events; ``projections status`` marks degraded schools; ``audit
verify`` exits 1 when a log does not fit its hash chain or checkpoints.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from psycopg.sql import SQL

from infra import views as school_views
from infra.cli.audit import add_audit_commands
from infra.cli.exports import add_export_commands
from infra.cli.privacy import add_privacy_commands
from infra.cli.tenants import add_tenant_config_commands
from infra.container import Container
from infra.demo import (
    CASES_PER_SCHOOL,
    DEMO_BOARD,
    DEMO_SCHOOLS,
    demo_actor,
    event_names,
    seed_school,
)
from infra.readside import board_report
from infra.settings import Settings, SettingsError
from projections.engine import Rate
from services.access.roles import ROLE_LABELS_NL, Role
from services.casework.application import CaseworkApplication
from services.shared.actor import SYSTEM
from services.shared.errors import DomainError
from tenants.registry import School, slugify

EXIT_DIFFERENCES = 1
EXIT_REFUSED = 2


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["bench"]:
        return run_bench(given[1:])
    parser = build_parser()
    args = parser.parse_args(given)
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
    add_tenant_config_commands(tenant_commands)
    add_export_commands(tenant_commands)
    tenants.set_defaults(handler=lambda _args: _help(tenants))

    _add_run_commands(commands)

    worker = commands.add_parser(
        "worker",
        help="run jobs from BROKER_URL in this process, and sweep for lagging projections",
    )
    worker.add_argument(
        "--threads", type=_positive, help="worker threads (default VANGNET_WORKER_THREADS or 4)"
    )
    worker.add_argument(
        "--sweep-seconds",
        type=_positive,
        help="seconds between sweeps (default VANGNET_SWEEP_SECONDS or 30)",
    )
    worker.add_argument("--no-sweep", action="store_true", help="do not run the periodic sweep")
    worker.set_defaults(handler=cmd_worker)

    jobs = commands.add_parser("jobs", help="inspect the job queues")
    job_commands = jobs.add_subparsers(title="job commands", metavar="COMMAND")
    dead = job_commands.add_parser(
        "dead-letters", help="list messages that failed after their retries (no personal data)"
    )
    dead.set_defaults(handler=cmd_dead_letters)
    jobs.set_defaults(handler=lambda _args: _help(jobs))

    views = commands.add_parser("projections", help="rebuild, verify and catch up the read side")
    view_commands = views.add_subparsers(title="projection commands", metavar="COMMAND")
    rebuild = view_commands.add_parser(
        "rebuild", help="rebuild views from the events beside the live ones, then switch"
    )
    _school_choice(rebuild)
    rebuild.add_argument(
        "--view", action="append", metavar="NAME", help="only this view (repeatable)"
    )
    rebuild.set_defaults(handler=cmd_rebuild)
    verify = view_commands.add_parser(
        "verify",
        help="compare the views with a rebuild from the events and list quarantined events; "
        "exit 1 on either",
    )
    _school_choice(verify)
    verify.set_defaults(handler=cmd_verify)
    catch_up = view_commands.add_parser("catch-up", help="apply the events the views lack")
    _school_choice(catch_up)
    catch_up.set_defaults(handler=cmd_catch_up)
    status = view_commands.add_parser(
        "status", help="how far each school's views lag its log, and which are degraded"
    )
    status.set_defaults(handler=cmd_status)
    views.set_defaults(handler=lambda _args: _help(views))

    add_audit_commands(commands)
    add_privacy_commands(commands)
    _add_bench_command(commands)
    return parser


def _add_bench_command(commands: Any) -> None:
    """``vangnet bench`` runs the benchmark harness (bench/README.md) as its own program,
    ``python -m bench``: the harness lives in the repository, not in the wheel, and nothing of
    Vangnet imports it (the layers contract)."""
    bench = commands.add_parser(
        "bench",
        help="measure speed side by side on a fresh database (bench/README.md; "
        "options: python -m bench --help)",
        add_help=False,
    )
    bench.set_defaults(handler=lambda _args: run_bench([]))


def run_bench(options: Sequence[str]) -> int:
    """Run ``python -m bench`` with ``options`` (every argument after ``bench``, unparsed: the
    harness has its own); its exit code is ours."""
    command = [sys.executable, "-m", "bench", *options]
    return subprocess.run(command, check=False).returncode  # noqa: S603 - our own interpreter


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a positive whole number, got {raw!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _school_choice(parser: argparse.ArgumentParser) -> None:
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--school", metavar="SLUG", help="one school, by slug")
    choice.add_argument("--all", action="store_true", help="every school")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _open() -> Container:
    return Container.open(Settings.from_env())


def _add_run_commands(commands: Any) -> None:
    """``demo`` and ``serve``."""
    demo = commands.add_parser(
        "demo",
        help="embedded default: start PostgreSQL, create a demo board with three schools "
        "and about thirty cases",
    )
    demo.add_argument("--reset", action="store_true", help="start from an empty data directory")
    demo.add_argument(
        "--no-serve", action="store_true", help="prepare the data, print the summary and exit"
    )
    demo.add_argument(
        "--port", type=_positive, default=8000, help="port of the web UI (default 8000)"
    )
    demo.set_defaults(handler=cmd_demo)

    serve = commands.add_parser(
        "serve",
        help="run the web app (UI and API); in embedded mode also the in-process worker",
    )
    serve.add_argument("--host", help="listen address (default VANGNET_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_positive, help="port (default VANGNET_PORT or 8000)")
    serve.set_defaults(handler=cmd_serve)


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
    from dramatiq.errors import QueueJoinTimeout

    from infra.worker.actors import checkpoint_sweep, sweep_schools
    from infra.worker.inprocess import start_inprocess_worker

    settings = Settings.from_env()
    if args.reset:
        _reset(settings)
        settings = Settings.from_env()  # a reset embedded data directory gets a new master key
    with Container.open(settings) as container:
        # Embedded mode: jobs run in this process on Dramatiq's stub broker. Every command sends
        # a catch-up hint, exactly as with a real broker and `vangnet worker`.
        worker = start_inprocess_worker(container)
        try:
            board_slug = slugify(DEMO_BOARD)
            existing = {b.slug for b in container.registry.list_boards()}
            if board_slug in existing:
                print(f"demo data already present (use --reset to start over): board {board_slug}")
            else:
                container.create_board(DEMO_BOARD)
                for name in DEMO_SCHOOLS:
                    school = container.create_school(board_slug, name)
                    seed_school(container.case_service(school.id), school.slug)
            try:
                worker.wait_until_idle(timeout=60)
            except QueueJoinTimeout:
                print("jobs still running after 60 s: the sweep below catches the views up")
        finally:
            worker.stop()
        sweep_schools(container)  # the safety net: anything a hint missed (none, normally)
        checkpoint_sweep(container)  # the demo's logs are tamper-evident from the start
        _print_summary(container, board_slug)
    if args.no_serve:
        return 0
    return _serve_demo(settings, args.port)


def cmd_serve(args: argparse.Namespace) -> int:
    from infra.web.server import serve

    return serve(Settings.from_env(), host=args.host, port=args.port)


def _serve_demo(settings: Settings, port: int) -> int:
    """Serve the UI with the development identity provider as every demo school's login."""
    import dataclasses

    from infra.auth.devidp import (
        DEV_CLIENT_ID,
        default_demo_users,
        demo_login_config,
        dev_issuer,
    )
    from infra.web.server import serve

    url = f"http://127.0.0.1:{port}"
    settings = dataclasses.replace(
        settings,
        public_url=url,
        port=port,
        dev_idp=True,
        operator_issuer=dev_issuer(dataclasses.replace(settings, public_url=url)),
        operator_client_id=DEV_CLIENT_ID,
        operator_secret_ref="dev:",  # noqa: S106 - a reference, resolved by the dev provider
    )
    with Container.open(settings) as container:
        for name in DEMO_SCHOOLS:
            school = container.registry.school_by_slug(slugify(name))
            wanted = demo_login_config(settings, school.slug)
            if school.login != wanted:
                container.registry.configure_login(
                    school.id, wanted, policy=settings.login_policy, actor=SYSTEM
                )
    print(f"\nVangnet runs on {url}  (Ctrl-C stops it)")
    print("DEVELOPMENT ONLY: the built-in identity provider logs anyone in as a demo user.")
    print("Demo users: open the address, choose a school, then one of its users, e.g.")
    print("  'Aanspreekpunt pesten — Demo Basisschool De Regenboog' to handle cases.")
    by_school: dict[str, list[str]] = {}
    for user in default_demo_users(settings):
        role_label, _, school_name = user.label.partition(" — ")
        if school_name:
            by_school.setdefault(school_name, []).append(role_label)
        else:
            print(f"  {role_label}")
    for school_name, labels in by_school.items():
        print(f"  {school_name}: {', '.join(labels)}")
    return serve(settings, host="127.0.0.1", port=port)


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
            f"schema {school.schema_name}; case view: {_view_cases(container, school)} cases, "
            f"lag {school_views.lag(container, school.id)}"
        )
    print("Read side:")
    for line in board_report(container, board):
        print(line)
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


def _view_cases(container: Container, school: School) -> int:
    table = school_views.ensure_school_views(container, school.id).table("cases")
    with container.pool.connection() as conn:
        row = conn.execute(SQL("SELECT count(*) FROM {}").format(table)).fetchone()
    if row is None:
        return 0
    return int(row[0] if not isinstance(row, dict) else next(iter(row.values())))


def _event_kinds(app: CaseworkApplication, page: int = 1000) -> Counter[str]:
    kinds: Counter[str] = Counter()
    start = 1
    while True:
        batch = app.recorder.select_notifications(start=start, limit=page)
        kinds.update(n.topic.rsplit(".", 1)[-1] for n in batch)
        if len(batch) < page:
            return kinds
        start = batch[-1].id + 1


def cmd_worker(args: argparse.Namespace) -> int:
    from infra.worker.run import run_worker

    _log_to_stderr()
    # Open the database before taking messages (a worker that cannot reach it should not start).
    with Container.open(Settings.from_env()) as container:
        return run_worker(
            container,
            threads=args.threads,
            sweep_seconds=args.sweep_seconds,
            sweep=not args.no_sweep,
        )


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=os.environ.get("VANGNET_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # pika logs connection chatter (and, on errors, frames) at INFO.
    logging.getLogger("pika").setLevel(logging.WARNING)


def cmd_dead_letters(_args: argparse.Namespace) -> int:
    from infra.jobs import job_queues
    from infra.worker.broker import broker_kind
    from infra.worker.deadletters import list_dead_letters

    settings = Settings.from_env()
    kind = _broker_kind_or_refuse(broker_kind, settings.broker_url)
    if kind == "stub":
        print(
            "BROKER_URL is not set: jobs run in-process on the stub broker, whose dead letters "
            "live in that process's memory (nothing to list here)."
        )
        return 0
    queues = job_queues(settings.queue_namespace)
    try:
        letters = list_dead_letters(settings.broker_url, settings.queue_namespace, queues)
    except Exception as e:
        print(f"vangnet: cannot read the {kind} broker ({type(e).__name__})", file=sys.stderr)
        return EXIT_DIFFERENCES
    if not letters:
        print(f"no dead letters ({kind}; queues {', '.join(q + '.XQ' for q in queues)})")
        return 0
    print(f"{'failed at (UTC)':20}  {'actor':20}  {'message id':36}  {'school id':36}  error")
    for d in sorted(letters, key=lambda d: (d.failed_at is None, d.failed_at)):
        when = d.failed_at.strftime("%Y-%m-%d %H:%M:%S") if d.failed_at else "-"
        print(
            f"{when:20}  {d.actor:20}  {d.message_id:36}  {d.school_id or '-':36}  "
            f"{d.error_class or '-'} (retries {d.retries})"
        )
    print(f"{len(letters)} dead letter(s) on {kind}")
    return 0


def _broker_kind_or_refuse(kind_of: Callable[[str | None], str], url: str | None) -> str:
    try:
        return kind_of(url)
    except ValueError as e:
        raise SettingsError(str(e)) from None


def _schools(container: Container, args: argparse.Namespace) -> list[School]:
    if getattr(args, "school", None):
        return [container.registry.school_by_slug(args.school)]
    return container.registry.list_schools()


def cmd_rebuild(args: argparse.Namespace) -> int:
    try:
        views = school_views.views_named(args.view)
    except ValueError as e:
        print(f"vangnet: {e}", file=sys.stderr)
        return EXIT_REFUSED
    names = ", ".join(v.name for v in views)
    live_progress = sys.stderr.isatty()  # `\r` updates on a terminal; one line per school else
    with _open() as container:
        schools = _schools(container, args)
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
    with _open() as container:
        schools = _schools(container, args)
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
    with _open() as container:
        schools = _schools(container, args)
        total = 0
        for school in schools:
            applied = school_views.catch_up_school(container, school.id)
            total += applied
            if applied:
                print(f"{school.slug}: {applied} events applied")
        print(f"caught up {len(schools)} school(s): {total} events applied")
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    with _open() as container:
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


if __name__ == "__main__":
    sys.exit(main())
