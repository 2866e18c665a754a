"""``vangnet demo``: the embedded default — PostgreSQL from the wheel, a demo board with three
schools and about thirty cases, the in-process worker, then the web UI with the development
identity provider."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter

import click
import psycopg
from dramatiq.errors import QueueJoinTimeout
from psycopg.sql import SQL

from infra.adapters.people.store import PostgresPeopleStore
from infra.bootstrap import views as school_views
from infra.bootstrap.container import Container
from infra.bootstrap.demo import (
    CASES_PER_SCHOOL,
    DEMO_BOARD,
    DEMO_COMPLAINTS_PROCEDURE,
    DEMO_SCHOOLS,
    demo_actor,
    demo_email,
    event_names,
    seed_history,
    seed_school,
)
from infra.bootstrap.readside import board_report
from infra.config.settings import Settings, SettingsError
from infra.entrypoints.cli.common import POSITIVE, each_with_progress
from infra.entrypoints.web.auth.devidp import (
    DEV_CLIENT_ID,
    DEV_USER_GRANT,
    default_demo_users,
    demo_login_config,
    demo_user_id,
    dev_client_secret,
    dev_issuer,
)
from infra.entrypoints.web.server import serve
from infra.entrypoints.worker.actors import checkpoint_sweep, sweep_schools
from infra.entrypoints.worker.inprocess import start_inprocess_worker
from services.access.roles import ROLE_LABELS_NL, Role
from services.attachments.scanning import UnscannedDemo
from services.casework.application import CaseworkApplication
from services.shared.actor import SYSTEM
from tenants.registry import School, slugify


@click.command("demo")
@click.option("--reset", is_flag=True, help="start from an empty data directory")
@click.option("--no-serve", is_flag=True, help="prepare the data, print the summary and exit")
@click.option("--port", type=POSITIVE, default=8000, help="port of the web UI (default 8000)")
def demo(reset: bool, no_serve: bool, port: int) -> int:
    """Embedded default: start PostgreSQL, create a demo board with three schools and about
    thirty cases."""
    settings = Settings.from_env()
    if reset:
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
                for _bar, name in each_with_progress("schools", DEMO_SCHOOLS, str):
                    school = container.create_school(board_slug, name)
                    procedure = DEMO_COMPLAINTS_PROCEDURE
                    container.registry.configure_complaints_procedure(
                        school.id,
                        text=procedure["text"],
                        confidential_advisor=procedure["confidential_advisor"],
                        committee=procedure["committee"],
                    )
                    school = container.registry.school(school.id)
                    people = PostgresPeopleStore(
                        container.schools.get(school.id), school.id, school.schema_name
                    )
                    service = container.case_service(school.id)
                    history = seed_history(
                        service, school.slug, name=name, people=people, today=service.clock.today()
                    )
                    print(f"  {name}: {history.cases} cases of the last two school years")
                    seed_school(
                        service,
                        school.slug,
                        people=people,
                        # The demo's own made-up image: known clean, so not scanned.
                        attachments=container.attachment_service(school, scanner=UnscannedDemo()),
                        public=container.public_reports(school.id),
                    )
            try:
                worker.wait_until_idle(timeout=60)
            except QueueJoinTimeout:
                print("jobs still running after 60 s: the sweep below catches the views up")
        finally:
            worker.stop()
        sweep_schools(container)  # the safety net: anything a hint missed (none, normally)
        checkpoint_sweep(container)  # the demo's logs are tamper-evident from the start
        _print_summary(container, board_slug)
    if no_serve:
        return 0
    return _serve_demo(settings, port)


def _serve_demo(settings: Settings, port: int) -> int:
    """Serve the UI with the development identity provider as every demo school's login."""
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
    # The API's quick start (README): a token of a demo user from the development provider.
    example = demo_user_id(slugify(DEMO_SCHOOLS[0]), Role.CONTACT_PERSON)
    print("API: an access token of a demo user (one hour), e.g.")
    print(
        f"  curl -s -u {DEV_CLIENT_ID}:{dev_client_secret(settings)}"
        f" -d grant_type={DEV_USER_GRANT} -d sub={example} {url}/dev-idp/token"
    )
    # Every demo school trusts the same provider: the token names its school by a header.
    print(
        f"  then: curl -H 'Authorization: Bearer <access_token>'"
        f" -H 'X-Vangnet-School: {slugify(DEMO_SCHOOLS[0])}' {url}/api/me"
    )
    return serve(settings, host="127.0.0.1", port=port)


def _reset(settings: Settings) -> None:
    if not settings.embedded:
        if not settings.demo_allow_reset:
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
    used = set(kinds) & event_names()  # the case's (the staff directory's are beside them)
    print(
        f"In total: {len(schools)} schools, {total_cases} cases, {sum(kinds.values())} events, "
        f"{len(used)} of {len(event_names())} event types used"
        + (f" (missing: {', '.join(sorted(missing))})" if missing else "")
    )
    print("\nDemo users (fictitious), per school slug <school>:")
    for role in Role:
        if role is not Role.OPERATOR:
            login = demo_actor("<school>", role).aliases[0]
            print(f"  {login:42} {ROLE_LABELS_NL[role]} ({demo_email('<school>', role)})")
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
