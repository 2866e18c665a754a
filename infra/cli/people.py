"""``vangnet tenants scim-token``: the operator sets (or revokes) a school's SCIM token.

The token is printed once, with the SCIM base URL to give the school's directory (Microsoft
Entra ID: "Tenant URL" and "Secret Token"); only its SHA-256 is stored, so a lost token is
replaced, never shown again. Setting a new token makes the old one stop working at once.
"""

from __future__ import annotations

import argparse

from infra.cli.common import Subparsers
from infra.container import Container
from infra.settings import Settings
from infra.web.scim import PREFIX, rotate_token
from services.shared.actor import SYSTEM


def add_people_commands(tenant_subparsers: Subparsers) -> None:
    """Add ``scim-token`` to ``vangnet tenants``."""
    scim = tenant_subparsers.add_parser(
        "scim-token",
        help="set a new SCIM token for a school (printed once) or revoke it",
    )
    scim.add_argument("--school", required=True, metavar="SLUG", help="the school's slug")
    scim.add_argument("--revoke", action="store_true", help="turn SCIM off for the school")
    scim.set_defaults(handler=cmd_scim_token)


def cmd_scim_token(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with Container.open(settings) as container:
        school = container.registry.school_by_slug(args.school)
        if args.revoke:
            container.registry.set_scim_token(school.id, None, actor=SYSTEM)
            print(f"{school.slug}: SCIM is off (the token no longer works)")
            return 0
        token = rotate_token(container.registry, school.id, actor=SYSTEM)
    print(f"SCIM base URL: {settings.public_url.rstrip('/')}{PREFIX}/{school.slug}")
    print(f"Bearer token (shown once, store it in the school's directory now): {token}")
    return 0
