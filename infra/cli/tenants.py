"""``vangnet tenants`` configuration commands: a school's protocol checklist, its contacts and
its login (OpenID provider and claim rules).

Wire them into the ``tenants`` sub-commands with :func:`add_tenant_config_commands`. Refusals
are :class:`~services.shared.errors.DomainError` subclasses, printed by ``vangnet`` as one line
(exit 2); nothing is stored then.

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

import argparse
import json
from pathlib import Path
from typing import Any

from infra.cli.common import Subparsers, open_container, show_help
from infra.cli.exports import add_export_commands
from infra.cli.people import add_people_commands
from infra.container import Container
from infra.settings import Settings
from services.casework.protocol import InvalidProtocol
from services.shared.errors import InvalidInput
from tenants.login import DEFAULT_SCOPES, parse_rule, validate_login

#: Type of the object ``add_subparsers`` returns.


def add_tenant_commands(commands: Subparsers) -> None:
    """``vangnet tenants``: boards and schools, their configuration, export and offboarding."""
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
    add_people_commands(tenant_commands)
    add_export_commands(tenant_commands)
    tenants.set_defaults(handler=lambda _args: show_help(tenants))


def cmd_create_board(args: argparse.Namespace) -> int:
    with open_container() as container:
        board = container.create_board(args.name, slug=args.slug)
        print(f"board created: {board.slug} ({board.id})")
    return 0


def cmd_create_school(args: argparse.Namespace) -> int:
    with open_container() as container:
        school = container.create_school(args.board, args.name, slug=args.slug)
        print(f"school created: {school.slug} ({school.id}) in schema {school.schema_name}")
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    with open_container() as container:
        boards = container.registry.list_boards()
        if not boards:
            print("no boards yet: vangnet tenants create-board NAME")
        for board in boards:
            print(f"{board.slug}  {board.name}")
            for school in container.registry.list_schools(board.id):
                print(f"  {school.slug}  {school.name}  (schema {school.schema_name})")
    return 0


def add_tenant_config_commands(tenant_subparsers: Subparsers) -> None:
    """Add set-protocol, show-protocol, set-contacts, set-complaints-procedure (and
    set-retention) to ``vangnet tenants``."""
    set_protocol = tenant_subparsers.add_parser(
        "set-protocol", help="set a school's anti-bullying protocol checklist from a JSON file"
    )
    set_protocol.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    set_protocol.add_argument(
        "--file", required=True, type=Path, help="protocol.json: a list of steps"
    )
    set_protocol.set_defaults(handler=cmd_set_protocol)

    show_protocol = tenant_subparsers.add_parser(
        "show-protocol", help="show a school's protocol checklist (the default if never set)"
    )
    show_protocol.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    show_protocol.add_argument(
        "--json", action="store_true", help="print it as JSON, the format set-protocol reads"
    )
    show_protocol.set_defaults(handler=cmd_show_protocol)

    contacts = tenant_subparsers.add_parser(
        "set-contacts",
        help="set whom to notify about a school's cases (replaces all four lists)",
    )
    contacts.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    for option, dest, who in (
        ("--contact-person", "contact_person", "the contact person(s) (aanspreekpunt pesten)"),
        ("--coordinator", "coordinator", "the anti-bullying coordinator(s) (APC)"),
        ("--management", "management", "management (directie)"),
        ("--board", "board", "the board (bestuur)"),
    ):
        contacts.add_argument(
            option,
            dest=dest,
            nargs="+",
            action="extend",
            default=[],
            metavar="EMAIL",
            help=f"e-mail address(es) of {who}",
        )
    contacts.set_defaults(handler=cmd_set_contacts)

    procedure = tenant_subparsers.add_parser(
        "set-complaints-procedure",
        help="set a school's complaints procedure (klachtenregeling) from a JSON file",
    )
    procedure.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    procedure.add_argument(
        "--file",
        required=True,
        type=Path,
        help='procedure.json: {"text": ..., "confidential_advisor": ..., "committee": ...}',
    )
    procedure.set_defaults(handler=cmd_set_complaints_procedure)

    retention = tenant_subparsers.add_parser(
        "set-retention",
        help="how many days after closing a case its pupils' identifying data is kept "
        "(default 730)",
    )
    retention.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    retention.add_argument("--days", required=True, type=int, metavar="N", help="days, at least 1")
    retention.set_defaults(handler=cmd_set_retention)
    add_login_commands(tenant_subparsers)


def add_login_commands(tenant_subparsers: Subparsers) -> None:
    """Add set-login and show-login to ``vangnet tenants``."""
    set_login = tenant_subparsers.add_parser(
        "set-login",
        help="set a school's OpenID provider and claim-to-role rules (replaces the old ones)",
    )
    set_login.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    set_login.add_argument(
        "--issuer", required=True, metavar="URL", help="the provider's issuer (https)"
    )
    set_login.add_argument(
        "--client-id", required=True, metavar="ID", help="Vangnet's client id at the provider"
    )
    set_login.add_argument(
        "--secret-ref",
        required=True,
        metavar="REF",
        help=(
            "where the web app reads the client secret: env:NAME (NAME starts with "
            "VANGNET_SECRET_ENV_PREFIX, default VANGNET_IDP_SECRET_), file:/path (inside "
            "VANGNET_SECRETS_DIR) or dev:"
        ),
    )
    set_login.add_argument(
        "--audience",
        metavar="AUD",
        help="the aud of API access tokens (default: the client id)",
    )
    set_login.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        metavar="SCOPE",
        help=f"a scope to request (repeat; default: {' '.join(DEFAULT_SCOPES)})",
    )
    set_login.add_argument(
        "--rule",
        dest="rules",
        action="append",
        default=[],
        metavar="KIND:VALUE=ROLE",
        help="a claim rule, e.g. group:vangnet-apc=coordinator (repeat for more)",
    )
    set_login.set_defaults(handler=cmd_set_login)

    show_login = tenant_subparsers.add_parser(
        "show-login", help="show a school's login configuration (never a secret)"
    )
    show_login.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    show_login.add_argument("--json", action="store_true", help="print it as JSON")
    show_login.set_defaults(handler=cmd_show_login)


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


def cmd_set_protocol(args: argparse.Namespace) -> int:
    steps = read_protocol_file(args.file)
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        school = container.registry.configure_protocol(school.id, steps)
        print(f"protocol set for {school.slug}: {len(school.protocol.steps)} steps")
    return 0


def cmd_show_protocol(args: argparse.Namespace) -> int:
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        protocol = school.protocol
        if args.json:
            print(json.dumps({"steps": protocol.to_json()}, ensure_ascii=False, indent=2))
            return 0
        origin = "default protocol" if school.protocol_is_default else "configured protocol"
        print(f"{school.slug}: {origin}, {len(protocol.steps)} steps")
        for number, step in enumerate(protocol.steps, start=1):
            deadline = (
                f"within {step.deadline_school_days} school days"
                if step.deadline_school_days is not None
                else "no deadline"
            )
            print(f"{number:2}. {step.key:24} {step.event_type:22} {deadline:26} {step.label}")
    return 0


def cmd_set_contacts(args: argparse.Namespace) -> int:
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        school = container.registry.configure_contacts(
            school.id,
            contact_person_emails=args.contact_person,
            coordinator_emails=args.coordinator,
            management_emails=args.management,
            board_emails=args.board,
        )
        contacts = school.notification_contacts
        print(
            f"contacts set for {school.slug}: "
            f"{len(contacts.contact_person_emails)} contact person, "
            f"{len(contacts.coordinator_emails)} coordinator, "
            f"{len(contacts.management_emails)} management, "
            f"{len(contacts.board_emails)} board"
        )
    return 0


def cmd_set_complaints_procedure(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        msg = f"cannot read the complaints procedure from {args.file} ({type(error).__name__})"
        raise InvalidInput(msg) from None
    if not isinstance(data, dict):
        msg = f"{args.file}: expected an object with text, confidential_advisor and committee"
        raise InvalidInput(msg)
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        school = container.registry.configure_complaints_procedure(
            school.id,
            text=data.get("text"),
            confidential_advisor=data.get("confidential_advisor"),
            committee=data.get("committee"),
        )
        print(f"complaints procedure set for {school.slug}")
    return 0


def cmd_set_retention(args: argparse.Namespace) -> int:
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        school = container.registry.configure_retention(school.id, args.days)
        print(f"retention set for {school.slug}: {school.retention_days} days after closing")
    return 0


def cmd_set_login(args: argparse.Namespace) -> int:
    """``vangnet tenants set-login``: validate (under this deployment's policy: where the
    issuer and the secret reference may point), then record ``School.LoginConfigured``."""
    settings = Settings.from_env()
    config = validate_login(
        issuer=args.issuer,
        client_id=args.client_id,
        secret_ref=args.secret_ref,
        policy=settings.login_policy,
        api_audience=args.audience,
        scopes=args.scopes or DEFAULT_SCOPES,
        rules=[parse_rule(text) for text in args.rules],
    )
    with Container.open(settings) as container:
        school = container.registry.school_by_slug(args.school)
        school = container.registry.configure_login(school.id, config, policy=settings.login_policy)
        print(f"login set for {school.slug}: {config.issuer}, {len(config.rules)} rules")
        if not config.rules:
            print("note: without rules nobody gets a role at this school")
    return 0


def cmd_show_login(args: argparse.Namespace) -> int:
    """``vangnet tenants show-login``: the configuration with the secret's reference only."""
    with open_container() as container:
        school = container.registry.school_by_slug(args.school)
        login = school.login
        if args.json:
            print(json.dumps(login.to_json() if login else None, ensure_ascii=False, indent=2))
            return 0
        if login is None:
            print(f"{school.slug}: no login configured")
            return 0
        print(f"{school.slug}:")
        print(f"  issuer       {login.issuer}")
        print(f"  client id    {login.client_id}")
        print(f"  secret ref   {login.secret_ref}")
        print(f"  api audience {login.api_audience}")
        print(f"  scopes       {' '.join(login.scopes)}")
        print(f"  rules        {len(login.rules)}")
        for rule in login.rules:
            print(f"    {rule.to_text()}")
    return 0
