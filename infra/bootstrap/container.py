"""The composition root: settings -> one pool -> registry -> per-school applications, and
every other collaborator a process needs (audit trail, read pool, mailer, the after-commit hint).

Every entry point starts here and receives the container: the CLI commands, the web app
(``create_app(settings, container=...)``), ``vangnet worker`` (``run_worker(container)``), the
in-process worker, the bench and the tests' fixtures::

    settings = Settings.from_env()
    with Container.open(settings) as container:
        school_app = container.schools.get(school_id)

A process has one open container at a time. Opening it installs what has to be found
process-wide, and closing it removes that again: the shared pool (eventsourcing reaches it by
module lookup through ``PERSISTENCE_MODULE``), the audit trail, and the container itself for the
jobs (a Dramatiq job runs with its message's arguments only: :func:`current_container`).
Dramatiq's current broker is the other process-wide thing; the entry points that send or take
jobs install it (``infra.entrypoints.worker.broker.setup_broker_from_settings``): it declares the
jobs,
which
run against this container, so it cannot be built here without a circle.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from types import TracebackType
from typing import Self
from uuid import UUID

import asyncpg

from infra.adapters.attachments.clamd import scanner_from_settings
from infra.adapters.attachments.store import PostgresAttachmentStore
from infra.adapters.audit.sink import DirectorySink
from infra.adapters.audit.trail import AuditTrail, install_trail, uninstall_trail
from infra.adapters.jobs import CoalescingNotifier, SavedNotifier
from infra.adapters.mail import Mailer, mailer_from_settings
from infra.adapters.offboarding import PostgresSchoolArchive
from infra.adapters.postgres.embedded import database_url
from infra.adapters.postgres.pool import SharedPool, create_pool, install_pool, uninstall_pool
from infra.adapters.provisioning import PostgresSchoolStorage, ensure_platform, open_registry
from infra.adapters.schools import SchoolApplications
from infra.config.settings import Settings
from projections.db import create_read_pool
from services.attachments.scanning import VirusScanner
from services.attachments.service import AttachmentService
from services.casework.handlers import CaseService
from services.handover.export import ExportService, token_key
from services.handover.service import HandOverService
from services.reporting.codes import code_key
from services.reporting.service import PublicReports
from services.shared.actor import Actor
from tenants.provisioning import create_board, create_school
from tenants.registry import Board, Registry, School


@dataclass
class Container:
    """The collaborators of one process, built once by :meth:`open`."""

    settings: Settings
    pool: SharedPool
    registry: Registry
    schools: SchoolApplications
    #: The tamper-evidence keys and the outside copy of the checkpoints (installed process-wide).
    audit: AuditTrail
    #: After a command commits: the catch-up hint to the worker (never fails the command). On a
    #: real broker (``BROKER_URL``) hints are coalesced per school and sent by one thread.
    notifier: SavedNotifier | CoalescingNotifier = field(default_factory=SavedNotifier)
    #: Schemas whose attachments table is known to exist (:mod:`infra.adapters.attachments.store`).
    attachment_tables: set[str] = field(default_factory=set)

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
                ensure_platform(pool, settings.master_key, trail)
                if provision_platform
                else open_registry(settings.master_key)
            )
        except BaseException:
            uninstall_trail(trail)
            uninstall_pool(pool)
            pool.close()
            raise
        schools = SchoolApplications(registry, settings.master_key, pool, settings.app_cache_size)
        notifier = CoalescingNotifier() if settings.broker_url else SavedNotifier()
        container = cls(
            settings=settings,
            pool=pool,
            registry=registry,
            schools=schools,
            audit=trail,
            notifier=notifier,
        )
        _install(container)
        return container

    @cached_property
    def mailer(self) -> Mailer:
        """How this process sends e-mail (``VANGNET_SMTP_*``; built on first use)."""
        return mailer_from_settings(self.settings)

    async def open_read_pool(self) -> asyncpg.Pool:
        """A new asyncpg pool on the same database, for the web's read side (the caller closes
        it)."""
        return await create_read_pool(str(self.pool.conninfo), max_size=self.settings.pool_size)

    def case_service(self, school_id: UUID) -> CaseService:
        """The write side of one school's casework; each save sends the catch-up hint."""
        return CaseService(self.schools.get(school_id), school_id, on_saved=self.notifier)

    def public_reports(self, school_id: UUID) -> PublicReports:
        """One school's public report form and follow-up codes (issue 14 §3); the codes' key is
        derived from the deployment's secret key."""
        return PublicReports(
            self.schools.get(school_id),
            school_id,
            code_key(self.settings.secret_key),
            on_saved=self.notifier,
        )

    @cached_property
    def scanner(self) -> VirusScanner:
        """The virus scanner of attachments (``VANGNET_CLAMD_ADDRESS``; built on first use)."""
        return scanner_from_settings(self.settings)

    def attachment_service(
        self, school: School, *, scanner: VirusScanner | None = None
    ) -> AttachmentService:
        """Attachments of ``school``'s cases: checked, scanned (``scanner``: the settings' one
        unless given, e.g. the demo's for the files it makes itself), stored encrypted in its
        schema."""
        app = self.schools.get(school.id)
        return AttachmentService(
            self.case_service(school.id),
            app.pupil_keys,
            PostgresAttachmentStore(self.pool, school.schema_name, self.attachment_tables),
            scanner if scanner is not None else self.scanner,
            max_bytes=self.settings.attachment_max_bytes,
        )

    def handover_exports(self, school: School) -> ExportService:
        """``school``'s hand-over exports (issue 15 §5): its log, its key store, the encrypted
        files in its attachments table, the receipt tokens' key."""
        app = self.schools.get(school.id)
        keys = getattr(app, "pupil_keys", None)
        assert keys is not None, "a school's application has its pupil keys"
        return ExportService(
            app,
            HandOverService(app, school),
            keys,
            PostgresAttachmentStore(self.pool, school.schema_name, self.attachment_tables),
            token_key(self.settings.secret_key),
        )

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
        storage = PostgresSchoolStorage(self.pool, self.settings.master_key, self.audit)
        return create_school(self.registry, storage, board_slug, name, slug=slug, actor=actor)

    @property
    def archive(self) -> PostgresSchoolArchive:
        """The schools' stored data, as offboarding reaches it."""
        return PostgresSchoolArchive(self.pool, self.schools, self.audit)

    def close(self) -> None:
        """Drop the cached applications, then close the pool (and its connections)."""
        if isinstance(self.notifier, CoalescingNotifier):
            self.notifier.close()  # the pending hints go before the broker is closed
        _uninstall(self)
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


class _Current:
    """The open container of this process (a module-level slot, guarded by a lock)."""

    lock = threading.Lock()
    container: Container | None = None


def _install(container: Container) -> None:
    with _Current.lock:
        if _Current.container is not None and _Current.container is not container:
            # The pool check in Container.open refuses a second open container before this.
            msg = "another container is already open in this process"
            raise RuntimeError(msg)
        _Current.container = container


def _uninstall(container: Container) -> None:
    with _Current.lock:
        if _Current.container is container:
            _Current.container = None


def current_container() -> Container:
    """The process's open container, for jobs (RuntimeError when none is open)."""
    container = _Current.container
    if container is None:
        msg = "no container is open in this process: open one with Container.open"
        raise RuntimeError(msg)
    return container
