"""``vangnet tenants`` configuration commands: a school's protocol checklist, its contacts and
its login (OpenID provider and claim rules).

The ``tenants`` group is defined here; the export and offboarding commands
(:mod:`infra.entrypoints.cli.exports`) and the SCIM token (:mod:`infra.entrypoints.cli.people`) are
added to it
below.
Refusals are :class:`~services.shared.errors.DomainError` subclasses, printed by ``vangnet`` as
one line (exit 2); nothing is stored then.

The protocol file is JSON: a list of steps, or ``{"steps": [...]}``, each step
``{"key": "intakegesprek", "label": "Intakegesprek", "event_type": "IntakeHeld",
"deadline_school_days": 2}`` (``deadline_school_days`` may be null or left out). ``show-protocol
--json`` prints a file in that format, to edit and load again.

``set-login`` replaces the school's whole login configuration; rules are ``KIND:VALUE=ROLE``
(``group:vangnet-apc=coordinator``, ``role:Mentor=teacher``,
``email_domain:school.example=teacher``, ``claim:NAME:VALUE=ROLE``; see :mod:`tenants.login`).
The client secret is given as a reference (``env:NAME``, ``file:/path``, ``dev:``) and never
printed or stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.cli.common import (
    CommandGroup,
    F,
    GreedyOption,
    json_option,
    open_container,
    print_json,
)
from infra.entrypoints.cli.exports import export, offboard
from infra.entrypoints.cli.people import scim_token
from services.casework.protocol import InvalidProtocol
from services.shared.errors import InvalidInput
from tenants.login import DEFAULT_SCOPES, parse_rule, validate_login


@click.group("tenants", cls=CommandGroup)
def tenants() -> None:
    """Boards and schools (platform operator)."""


@tenants.command("create-board")
@click.argument("name")
@click.option("--slug", help="short identifier (default: derived from the name)")
def create_board(name: str, slug: str | None) -> int:
    """Register a school board (bestuur)."""
    with open_container() as container:
        board = container.create_board(name, slug=slug)
        click.echo(f"board created: {board.slug} ({board.id})")
    return 0


@tenants.command("create-school")
@click.option("--board", required=True, help="the board's slug")
@click.argument("name")
@click.option("--slug", help="short identifier (default: derived from the name)")
def create_school(board: str, name: str, slug: str | None) -> int:
    """Provision a school: its own schema and data key."""
    with open_container() as container:
        school = container.create_school(board, name, slug=slug)
        click.echo(f"school created: {school.slug} ({school.id}) in schema {school.schema_name}")
    return 0


@tenants.command("list")
@json_option()
def list_tenants(as_json: bool) -> int:
    """List boards and their schools."""
    with open_container() as container:
        boards = [
            (board, container.registry.list_schools(board.id))
            for board in container.registry.list_boards()
        ]
    if as_json:
        print_json(
            {
                "boards": [
                    {
                        "slug": board.slug,
                        "name": board.name,
                        "id": str(board.id),
                        "schools": [
                            {
                                "slug": school.slug,
                                "name": school.name,
                                "id": str(school.id),
                                "schema": school.schema_name,
                            }
                            for school in schools
                        ],
                    }
                    for board, schools in boards
                ]
            }
        )
        return 0
    if not boards:
        click.echo("no boards yet: vangnet tenants create-board NAME")
    for board, schools in boards:
        click.echo(f"{board.slug}  {board.name}")
        for school in schools:
            click.echo(f"  {school.slug}  {school.name}  (schema {school.schema_name})")
    return 0


SCHOOL = click.option("--school", required=True, metavar="SLUG", help="the school's slug")


def read_protocol_file(path: Path) -> list[Any]:
    """The steps in a protocol file (refused with the file's name and what is wrong)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        msg = f"cannot read protocol file {path}: {error.strerror or type(error).__name__}"
        raise InvalidInput(msg) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        msg = f"protocol file {path} is not valid JSON (line {error.lineno}, column {error.colno})"
        raise InvalidProtocol(msg) from None
    if isinstance(data, dict) and set(data) == {"steps"}:
        data = data["steps"]
    if not isinstance(data, list):
        msg = f'protocol file {path}: expected a list of steps (or {{"steps": [...]}})'
        raise InvalidProtocol(msg)
    return data


@tenants.command("set-protocol")
@SCHOOL
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="protocol.json: a list of steps",
)
def set_protocol(school: str, path: Path) -> int:
    """Set a school's anti-bullying protocol checklist from a JSON file."""
    steps = read_protocol_file(path)
    with open_container() as container:
        found = container.registry.school_by_slug(school)
        found = container.registry.configure_protocol(found.id, steps)
        click.echo(f"protocol set for {found.slug}: {len(found.protocol.steps)} steps")
    return 0


@tenants.command("show-protocol")
@SCHOOL
@json_option("print it as JSON, the format set-protocol reads")
def show_protocol(school: str, as_json: bool) -> int:
    """Show a school's protocol checklist (the default if never set)."""
    with open_container() as container:
        found = container.registry.school_by_slug(school)
    protocol = found.protocol
    if as_json:
        print_json({"steps": protocol.to_json()})
        return 0
    origin = "default protocol" if found.protocol_is_default else "configured protocol"
    click.echo(f"{found.slug}: {origin}, {len(protocol.steps)} steps")
    for number, step in enumerate(protocol.steps, start=1):
        deadline = (
            f"within {step.deadline_school_days} school days"
            if step.deadline_school_days is not None
            else "no deadline"
        )
        click.echo(f"{number:2}. {step.key:24} {step.event_type:22} {deadline:26} {step.label}")
    return 0


def _emails(option: str, who: str) -> Callable[[F], F]:
    return click.option(
        option,
        cls=GreedyOption,
        multiple=True,
        metavar="EMAIL",
        help=f"e-mail address(es) of {who} (several after one option, or the option again)",
    )


@tenants.command("set-contacts")
@SCHOOL
@_emails("--contact-person", "the contact person(s) (aanspreekpunt pesten)")
@_emails("--coordinator", "the anti-bullying coordinator(s) (APC)")
@_emails("--management", "management (directie)")
@_emails("--board", "the board (bestuur)")
def set_contacts(
    school: str,
    contact_person: tuple[str, ...],
    coordinator: tuple[str, ...],
    management: tuple[str, ...],
    board: tuple[str, ...],
) -> int:
    """Set whom to notify about a school's cases (replaces all four lists)."""
    with open_container() as container:
        found = container.registry.school_by_slug(school)
        found = container.registry.configure_contacts(
            found.id,
            contact_person_emails=list(contact_person),
            coordinator_emails=list(coordinator),
            management_emails=list(management),
            board_emails=list(board),
        )
        contacts = found.notification_contacts
        click.echo(
            f"contacts set for {found.slug}: "
            f"{len(contacts.contact_person_emails)} contact person, "
            f"{len(contacts.coordinator_emails)} coordinator, "
            f"{len(contacts.management_emails)} management, "
            f"{len(contacts.board_emails)} board"
        )
    return 0


@tenants.command("set-complaints-procedure")
@SCHOOL
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help='procedure.json: {"text": ..., "confidential_advisor": ..., "committee": ...}',
)
def set_complaints_procedure(school: str, path: Path) -> int:
    """Set a school's complaints procedure (klachtenregeling) from a JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        msg = f"cannot read the complaints procedure from {path} ({type(error).__name__})"
        raise InvalidInput(msg) from None
    if not isinstance(data, dict):
        msg = f"{path}: expected an object with text, confidential_advisor and committee"
        raise InvalidInput(msg)
    with open_container() as container:
        found = container.registry.school_by_slug(school)
        found = container.registry.configure_complaints_procedure(
            found.id,
            text=data.get("text"),
            confidential_advisor=data.get("confidential_advisor"),
            committee=data.get("committee"),
        )
        click.echo(f"complaints procedure set for {found.slug}")
    return 0


@tenants.command("set-retention")
@SCHOOL
@click.option("--days", required=True, type=int, metavar="N", help="days, at least 1")
def set_retention(school: str, days: int) -> int:
    """How many days after closing a case its pupils' identifying data is kept (default
    730)."""
    with open_container() as container:
        found = container.registry.school_by_slug(school)
        found = container.registry.configure_retention(found.id, days)
        click.echo(f"retention set for {found.slug}: {found.retention_days} days after closing")
    return 0


@tenants.command("set-login")
@SCHOOL
@click.option("--issuer", required=True, metavar="URL", help="the provider's issuer (https)")
@click.option(
    "--client-id", required=True, metavar="ID", help="Vangnet's client id at the provider"
)
@click.option(
    "--secret-ref",
    required=True,
    metavar="REF",
    help=(
        "where the web app reads the client secret: env:NAME (NAME starts with "
        "VANGNET_SECRET_ENV_PREFIX, default VANGNET_IDP_SECRET_), file:/path (inside "
        "VANGNET_SECRETS_DIR) or dev:"
    ),
)
@click.option(
    "--audience", metavar="AUD", help="the aud of API access tokens (default: the client id)"
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help=f"a scope to request (repeat; default: {' '.join(DEFAULT_SCOPES)})",
)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="KIND:VALUE=ROLE",
    help="a claim rule, e.g. group:vangnet-apc=coordinator (repeat for more)",
)
def set_login(
    school: str,
    issuer: str,
    client_id: str,
    secret_ref: str,
    audience: str | None,
    scopes: tuple[str, ...],
    rules: tuple[str, ...],
) -> int:
    """Set a school's OpenID provider and claim-to-role rules (replaces the old ones).

    Validated under this deployment's policy (where the issuer and the secret reference may
    point), then recorded as ``School.LoginConfigured``.
    """
    settings = Settings.from_env()
    config = validate_login(
        issuer=issuer,
        client_id=client_id,
        secret_ref=secret_ref,
        policy=settings.login_policy,
        api_audience=audience,
        scopes=scopes or DEFAULT_SCOPES,
        rules=[parse_rule(text) for text in rules],
    )
    with Container.open(settings) as container:
        found = container.registry.school_by_slug(school)
        found = container.registry.configure_login(found.id, config, policy=settings.login_policy)
        click.echo(f"login set for {found.slug}: {config.issuer}, {len(config.rules)} rules")
        if not config.rules:
            click.echo("note: without rules nobody gets a role at this school")
    return 0


@tenants.command("show-login")
@SCHOOL
@json_option("print it as JSON")
def show_login(school: str, as_json: bool) -> int:
    """Show a school's login configuration (never a secret: only its reference)."""
    with open_container() as container:
        found = container.registry.school_by_slug(school)
    login = found.login
    if as_json:
        print_json(login.to_json() if login else None)
        return 0
    if login is None:
        click.echo(f"{found.slug}: no login configured")
        return 0
    click.echo(f"{found.slug}:")
    click.echo(f"  issuer       {login.issuer}")
    click.echo(f"  client id    {login.client_id}")
    click.echo(f"  secret ref   {login.secret_ref}")
    click.echo(f"  api audience {login.api_audience}")
    click.echo(f"  scopes       {' '.join(login.scopes)}")
    click.echo(f"  rules        {len(login.rules)}")
    for rule in login.rules:
        click.echo(f"    {rule.to_text()}")
    return 0


tenants.add_command(export)
tenants.add_command(offboard)
tenants.add_command(scim_token)
