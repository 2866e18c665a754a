"""Per-school casework applications, built on demand and kept in a bounded LRU cache.

A school's ``CaseworkApplication`` is bound to the school's schema and data key. Building one
costs one registry read (to find the schema and unwrap the key) and no other database work:
the store does no per-school type lookup and creates no tables (see
:mod:`infra.adapters.postgres.store`). With thousands of schools we keep only the most recently used
``VANGNET_APP_CACHE`` applications; an evicted application is simply dropped — it holds no
connections of its own, and closing it does not close the shared pool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from uuid import UUID

from infra.adapters.audit.trail import SCHOOL_EVENTS, derive_chain_key
from infra.adapters.crypto import unwrap_key
from infra.adapters.postgres.cipher import school_context
from infra.adapters.postgres.pool import SharedPool
from infra.adapters.postgres.store import LogKeys, log_env
from infra.adapters.privacy.keys import PostgresContentKeys, PostgresPupilKeys
from infra.adapters.privacy.purge import ViewPurge
from services.audit.verify import ACCESS_LOG
from services.casework.application import CaseworkApplication
from tenants.registry import Registry, School


def school_log_keys(school: School, master_key: bytes) -> LogKeys:
    """Where ``school``'s log is and its keys (unwraps its data key; derives its chain keys)."""
    return LogKeys(
        label=school.slug,
        schema=school.schema_name,
        events_table=SCHOOL_EVENTS,
        context=school_context(school.id),
        data_key=unwrap_key(master_key, school.wrapped_data_key, school.id.bytes),
        chain_key=derive_chain_key(master_key, school.schema_name, SCHOOL_EVENTS),
        reads_key=derive_chain_key(master_key, school.schema_name, ACCESS_LOG),
    )


def casework_env(
    school: School, master_key: bytes, *, create_table: bool = False
) -> dict[str, str]:
    """The eventsourcing env of ``school``'s casework application (unwraps its data key)."""
    keys = school_log_keys(school, master_key)
    return log_env(CaseworkApplication.name, keys, create_table=create_table)


def build_casework_app(
    school: School,
    master_key: bytes,
    pool: SharedPool,
    *,
    create_table: bool = False,
    ensured: set[str] | None = None,
) -> CaseworkApplication:
    """A new (uncached) casework application for ``school``, sealing pupil fields with
    per-pupil keys and free text with per-passage keys kept in the school's schema
    (:mod:`infra.adapters.privacy.keys`) and purging an
    erased case from the school's views as it saves the erasure
    (:mod:`infra.adapters.privacy.purge`)."""
    keys = school_log_keys(school, master_key)
    return CaseworkApplication(
        env=log_env(CaseworkApplication.name, keys, create_table=create_table),
        pupil_keys=PostgresPupilKeys(
            pool, school.schema_name, school.id, keys.data_key, ensured=ensured
        ),
        read_side=ViewPurge(pool, school.id, school.schema_name),
        content_keys=PostgresContentKeys(
            pool, school.schema_name, school.id, keys.data_key, ensured=ensured
        ),
    )


class SchoolApplications:
    """Cached casework applications, one per school, bounded by ``maxsize`` (LRU)."""

    def __init__(
        self, registry: Registry, master_key: bytes, pool: SharedPool, maxsize: int = 256
    ) -> None:
        if maxsize < 1:
            msg = "maxsize must be at least 1"
            raise ValueError(msg)
        self._registry = registry
        self._master_key = master_key
        self._pool = pool
        # Schemas whose pupil key table exists (infra.adapters.privacy.keys), for every school here.
        self._key_tables: set[str] = set()
        self._maxsize = maxsize
        self._apps: OrderedDict[UUID, CaseworkApplication] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, school_id: UUID) -> CaseworkApplication:
        """The casework application of ``school_id``.

        Raises ``services.shared.errors.SchoolNotFound`` for an unknown school.
        """
        with self._lock:
            app = self._apps.get(school_id)
            if app is not None:
                self._apps.move_to_end(school_id)
                return app
        # Build outside the lock: a registry read must not stall other schools' requests.
        school = self._registry.school(school_id)
        app = build_casework_app(school, self._master_key, self._pool, ensured=self._key_tables)
        with self._lock:
            existing = self._apps.get(school_id)
            if existing is not None:  # another thread built it meanwhile: keep one
                self._apps.move_to_end(school_id)
                return existing
            self._apps[school_id] = app
            while len(self._apps) > self._maxsize:
                self._apps.popitem(last=False)
        return app

    def get_by_slug(self, slug: str) -> CaseworkApplication:
        """The casework application of the school with ``slug`` (``SchoolNotFound`` if none)."""
        return self.get(self._registry.school_by_slug(slug).id)

    def evict(self, school_id: UUID) -> None:
        """Forget a school's application (e.g. after offboarding or key rotation)."""
        with self._lock:
            self._apps.pop(school_id, None)

    def clear(self) -> None:
        with self._lock:
            self._apps.clear()

    def __len__(self) -> int:
        return len(self._apps)

    def __contains__(self, school_id: object) -> bool:
        return school_id in self._apps
