"""Platform work (onboarding, offboarding) runs as the platform operator.

Commands run as the given actor, else the current one (``services.shared.actor.acting_as``),
else ``SYSTEM`` (the CLI, demo data); that actor must hold ``tenants.manage``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.access.roles import Permission, has_permission
from services.shared.actor import SYSTEM, Actor, acting_as, current_actor
from services.shared.errors import PermissionDenied


@contextmanager
def as_operator(actor: Actor | None, doing: str = "manage tenants") -> Iterator[Actor]:
    """Run the block as ``actor`` (or the current actor, or ``SYSTEM``), refused
    (:class:`PermissionDenied`, naming ``doing``) unless it may manage tenants."""
    chosen = actor or current_actor.get() or SYSTEM
    if not has_permission(chosen.role, Permission.TENANTS_MANAGE):
        msg = f"role '{chosen.role}' may not {doing}"
        raise PermissionDenied(msg)
    with acting_as(chosen) as acting:
        yield acting
