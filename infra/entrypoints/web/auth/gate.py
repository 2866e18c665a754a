"""Where a login meets the staff directory: just in time, at the login callback and at every
bearer token, and a check that a session's person is still active.

:meth:`PeopleGate.admit` finds or creates the person of a school principal (by issuer and
subject), refreshes name, e-mail and roles from the claims, and returns the principal carrying
the person id (:meth:`~infra.adapters.auth.principal.Principal.as_person`); a deactivated or removed
person raises :class:`~services.people.directory.PersonInactive`.

Bearer tokens come with every API call, so admissions are remembered for :data:`TTL_SECONDS`
(per school, login identity and what the claims say; nothing is written unless something
changed). A change this process makes to a person (SCIM, the operator) forgets what was
remembered of them at once; other processes see a deactivation within :data:`TTL_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import anyio.to_thread

from infra.adapters.auth.principal import Principal
from infra.adapters.people.store import PostgresPeopleStore
from infra.bootstrap.container import Container
from services.people.directory import Directory
from tenants.registry import School

#: How long an admission or an "is active" answer is remembered, in seconds.
TTL_SECONDS = 10.0
#: At most this many remembered answers per kind (oldest dropped first).
MAX_REMEMBERED = 10_000


class PeopleGate:
    """The staff directory as the login code and the request edge use it."""

    def __init__(self, container: Container, ttl: float = TTL_SECONDS) -> None:
        self.container = container
        self.ttl = ttl
        self._lock = threading.Lock()
        self._admitted: dict[tuple[Any, ...], tuple[float, UUID, str]] = {}
        self._active: dict[UUID, tuple[float, bool]] = {}

    def store(self, school: School) -> PostgresPeopleStore:
        """The school's directory store (its application from the container's cache)."""
        return PostgresPeopleStore(
            self.container.schools.get(school.id), school.id, school.schema_name
        )

    def directory(self, school: School) -> Directory:
        return Directory(self.store(school), school.id)

    # --- admission --------------------------------------------------------------------------

    def admit(self, school: School, principal: Principal, claims: Mapping[str, Any]) -> Principal:
        """The principal as the school's person (found, linked or created; refreshed).
        Raises ``PersonInactive`` for a deactivated or removed person."""
        subject = principal.subject or principal.user_id
        key = (
            school.id,
            principal.issuer,
            subject,
            tuple(sorted(str(r) for r in principal.roles)),
            _fingerprint(claims),
        )
        now = time.monotonic()
        with self._lock:
            hit = self._admitted.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return principal.as_person(hit[1], display_name=hit[2])
        person = self.directory(school).sign_in(principal.issuer, subject, claims, principal.roles)
        name = person.profile.display_name
        with self._lock:
            if len(self._admitted) >= MAX_REMEMBERED:
                self._admitted.clear()
            self._admitted[key] = (now, person.id, name)
            self._active[person.id] = (now, True)
        return principal.as_person(person.id, display_name=name)

    async def admit_async(
        self, school: School, principal: Principal, claims: Mapping[str, Any]
    ) -> Principal:
        return await anyio.to_thread.run_sync(self.admit, school, principal, claims)

    # --- sessions ---------------------------------------------------------------------------

    def is_active(self, school: School, person_id: UUID) -> bool:
        """Whether the person may still act (remembered for :data:`TTL_SECONDS`)."""
        now = time.monotonic()
        with self._lock:
            hit = self._active.get(person_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        row = self.store(school).row(person_id)
        active = row is not None and row.active and not row.removed
        with self._lock:
            if len(self._active) >= MAX_REMEMBERED:
                self._active.clear()
            self._active[person_id] = (now, active)
        return active

    async def is_active_async(self, school: School, person_id: UUID) -> bool:
        return await anyio.to_thread.run_sync(self.is_active, school, person_id)

    def forget(self, person_id: UUID) -> None:
        """Drop what is remembered of a person (after this process changed them)."""
        with self._lock:
            self._active.pop(person_id, None)
            for key in [k for k, v in self._admitted.items() if v[1] == person_id]:
                del self._admitted[key]


def _fingerprint(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """What of the claims the directory records (so a changed name is written)."""
    return tuple(
        str(claims.get(name, ""))
        for name in ("name", "given_name", "family_name", "email", "email_verified")
    )
