"""Composition root: settings -> one pool -> registry -> per-school applications.

The CLI, the web app, the worker and the tests all start here::

    settings = Settings.from_env()
    with Container.open(settings) as container:
        school_app = container.schools.get(school_id)

A process has one open container at a time (it installs the process-wide pool that every
eventsourcing application in the process borrows connections from).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Self

from infra.audit.sink import DirectorySink
from infra.audit.trail import AuditTrail, install_trail, uninstall_trail
from infra.offboarding import PostgresSchoolArchive
from infra.postgres.embedded import database_url
from infra.postgres.pool import SharedPool, create_pool, install_pool, uninstall_pool
from infra.provisioning import PostgresSchoolStorage, ensure_platform, open_registry
from infra.schools import SchoolApplications
from infra.settings import Settings
from services.shared.actor import Actor
from tenants.provisioning import create_board, create_school
from tenants.registry import Board, Registry, School


@dataclass
class Container:
    settings: Settings
    pool: SharedPool
    registry: Registry
    schools: SchoolApplications
    #: The tamper-evidence keys and the outside copy of the checkpoints (installed process-wide).
    audit: AuditTrail

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        conninfo: str | None = None,
        provision_platform: bool = True,
    ) -> Container:
        """Connect (``conninfo``, else ``DATABASE_URL``, else embedded) and wire everything.

        ``provision_platform`` creates the ``platform`` schema and registry tables if missing
        (idempotent); pass ``False`` in processes that must not run DDL.
        """
        pool = create_pool(conninfo or database_url(settings), max_size=settings.pool_size)
        trail = AuditTrail(settings.master_key, DirectorySink(settings.checkpoint_path))
        try:
            install_pool(pool)
            install_trail(trail)
            registry = (
                ensure_platform(settings.master_key, trail)
                if provision_platform
                else open_registry(settings.master_key)
            )
        except BaseException:
            uninstall_trail(trail)
            uninstall_pool(pool)
            pool.close()
            raise
        schools = SchoolApplications(registry, settings.master_key, settings.app_cache_size)
        return cls(settings=settings, pool=pool, registry=registry, schools=schools, audit=trail)

    def create_board(
        self, name: str, *, slug: str | None = None, actor: Actor | None = None
    ) -> Board:
        return create_board(self.registry, name, slug=slug, actor=actor)

    def create_school(
        self,
        board_slug: str,
        name: str,
        *,
        slug: str | None = None,
        actor: Actor | None = None,
    ) -> School:
        storage = PostgresSchoolStorage(self.settings.master_key, self.audit)
        return create_school(self.registry, storage, board_slug, name, slug=slug, actor=actor)

    @property
    def archive(self) -> PostgresSchoolArchive:
        """The schools' stored data, as offboarding reaches it."""
        return PostgresSchoolArchive(self.pool, self.schools, self.audit)

    def close(self) -> None:
        """Drop the cached applications, then close the pool (and its connections)."""
        self.schools.clear()
        uninstall_trail(self.audit)
        uninstall_pool(self.pool)
        self.pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()
