"""Onboarding: boards, and schools (their storage, then their record in the registry).

Order of :func:`create_school`, and why: the school's storage (its schema, tables and data key:
the :class:`SchoolStorage` port, which adapters/ implements on PostgreSQL in
:mod:`infra.adapters.provisioning`) is made first, then the school is recorded in the registry. If
the
process dies in between, an empty schema is left behind (harmless, and reused if the same slug
is provisioned again); the registry never points at a school whose tables do not exist. The data
key only ever leaves the storage wrapped.

Commands run as the current actor (``services.shared.actor.acting_as``), or as ``SYSTEM`` when none
is set (CLI, demo data); the actor must hold ``tenants.manage`` (:mod:`tenants.operator`).
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from services.shared.actor import Actor
from tenants.operator import as_operator
from tenants.registry import (
    Board,
    DuplicateSlug,
    Registry,
    School,
    schema_name_for,
    school_id_for,
    slugify,
    validate_name,
    validate_slug,
)


class SchoolStorage(Protocol):
    """Where a new school's data will live (a port: adapters/ implements it)."""

    def provision(self, school_id: UUID, slug: str, schema: str) -> str:
        """Create the school's schema, its tables (event log, access log, pupil keys) and its
        data key, and mark its logs tamper-evident from the start; returns the data key
        wrapped with the master key."""
        ...


def create_board(
    registry: Registry, name: str, *, slug: str | None = None, actor: Actor | None = None
) -> Board:
    """Register a board; its slug is derived from ``name`` unless given."""
    name = validate_name(name)
    board_slug = validate_slug(slug) if slug is not None else slugify(name)
    with as_operator(actor):
        return registry.register_board(name=name, slug=board_slug)


def create_school(
    registry: Registry,
    storage: SchoolStorage,
    board_slug: str,
    name: str,
    *,
    slug: str | None = None,
    actor: Actor | None = None,
) -> School:
    """Provision a school of board ``board_slug``: its storage, then its registry record.

    Raises ``BoardNotFound`` for an unknown board and ``DuplicateSlug`` when the school slug is
    taken (school slugs are platform-wide: pass ``slug`` to disambiguate equal names).
    """
    # Checked before the storage is made: a refused name leaves nothing behind.
    name = validate_name(name)
    school_slug = validate_slug(slug) if slug is not None else slugify(name)
    with as_operator(actor):
        board = registry.board_by_slug(board_slug)
        school_id = school_id_for(school_slug)
        if school_id in registry.repository:
            raise DuplicateSlug(f"a school with slug '{school_slug}' already exists")
        wrapped = storage.provision(school_id, school_slug, schema_name_for(school_id))
        return registry.register_school(
            board_id=board.id, name=name, slug=school_slug, wrapped_data_key=wrapped
        )
