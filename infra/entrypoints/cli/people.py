"""``vangnet tenants scim-token``: the operator sets (or revokes) a school's SCIM token.

The token is printed once, with the SCIM base URL to give the school's directory (Microsoft
Entra ID: "Tenant URL" and "Secret Token"); only its SHA-256 is stored, so a lost token is
replaced, never shown again. Setting a new token makes the old one stop working at once.
"""

from __future__ import annotations

import click

from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.web.scim import PREFIX, rotate_token
from services.shared.actor import SYSTEM


@click.command("scim-token")
@click.option("--school", required=True, metavar="SLUG", help="the school's slug")
@click.option("--revoke", is_flag=True, help="turn SCIM off for the school")
def scim_token(school: str, revoke: bool) -> int:
    """Set a new SCIM token for a school (printed once) or revoke it."""
    settings = Settings.from_env()
    with Container.open(settings) as container:
        found = container.registry.school_by_slug(school)
        if revoke:
            container.registry.set_scim_token(found.id, None, actor=SYSTEM)
            click.echo(f"{found.slug}: SCIM is off (the token no longer works)")
            return 0
        token = rotate_token(container.registry, found.id, actor=SYSTEM)
    click.echo(f"SCIM base URL: {settings.public_url.rstrip('/')}{PREFIX}/{found.slug}")
    click.echo(f"Bearer token (shown once, store it in the school's directory now): {token}")
    return 0
