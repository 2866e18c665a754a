"""Wiring of the read side: which views exist, and catching a school up on the shared pool.

``catch_up_school`` is what the worker runs after a command commits (and what the sweep runs for
a lagging school); ``rebuild_school`` and ``verify_school`` back ``vangnet projections``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from uuid import UUID

from infra.adapters.privacy.keys import using_connection
from infra.bootstrap.container import Container
from projections.engine import (
    Batch,
    Target,
    View,
    catch_up,
    create_views,
    head,
    positions,
    rebuild,
    verify,
)
from projections.quarantine import Failure, Health, failures, school_health
from projections.views import ALL_VIEWS

#: Schools whose view tables exist, with their target, per pool (a test session may open several
#: databases). A school found here is not looked up in the registry again: a catch-up hint per
#: command must not replay the school's registry record (its schema name never changes).
_ensured: weakref.WeakKeyDictionary[object, dict[UUID, Target]] = weakref.WeakKeyDictionary()
_ensured_lock = threading.Lock()


def views_named(names: Sequence[str] | None) -> tuple[View, ...]:
    if not names:
        return ALL_VIEWS
    by_name = {v.name: v for v in ALL_VIEWS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        msg = f"unknown view(s): {', '.join(unknown)}; known: {', '.join(by_name)}"
        raise ValueError(msg)
    return tuple(by_name[n] for n in names)


def school_target(container: Container, school_id: UUID) -> Target:
    school = container.registry.school(school_id)
    return Target(school_id=school.id, schema=school.schema_name)


def ensure_school_views(container: Container, school_id: UUID) -> Target:
    """Create the school's view tables if missing (once per process per school: afterwards the
    school's target comes from memory, without a registry read)."""
    with _ensured_lock:
        ready = _ensured.setdefault(container.pool, {})
        known = ready.get(school_id)
    if known is not None:
        return known
    target = school_target(container, school_id)
    with container.pool.connection() as conn:
        create_views(conn, target, ALL_VIEWS)
    with _ensured_lock:
        ready[school_id] = target
    return target


def catch_up_school(
    container: Container, school_id: UUID, *, observe: Callable[[Batch], None] | None = None
) -> int:
    """Bring every view of one school up to date; returns how many events were read.
    ``observe`` sees every applied batch's events after its transaction committed.

    An erasure needs nothing special here: saving it purged the views already
    (:mod:`infra.adapters.privacy.purge`), and applying the ``ErasureRequested`` event erases the
    same
    fields again (the case view's handler), so replay equals live.
    """
    # The application first: it is cached like the target, and evicted when the school is
    # offboarded here, so an offboarded school is still "not found" (SchoolNotFound).
    app = container.schools.get(school_id)
    target = ensure_school_views(container, school_id)
    with container.pool.connection() as conn, using_connection(conn):
        return catch_up(conn, target, app.read_side_mapper(), ALL_VIEWS, observe=observe)


def lag(container: Container, school_id: UUID) -> int:
    """How many events the slowest view of a school is behind its log."""
    target = ensure_school_views(container, school_id)
    with container.pool.connection() as conn:
        now = positions(conn, target.schema)
        return head(conn, target.schema) - min(now.get(v.name, 0) for v in ALL_VIEWS)


def school_failures(container: Container, school_id: UUID) -> list[Failure]:
    """The events the school's live views fail on or have quarantined (issue #10)."""
    target = ensure_school_views(container, school_id)
    with container.pool.connection() as conn:
        return failures(conn, target.schema)


def degraded(container: Container, school_id: UUID) -> list[Health]:
    """Per view and error class, how many events fail or are quarantined (empty: healthy)."""
    return school_health(school_failures(container, school_id))


def describe_health(health: Sequence[Health]) -> str:
    """One line for people: ``case_view 1 quarantined (KeyError); ...`` (ids and kinds only)."""
    parts = []
    for h in health:
        counts = [f"{n} {word}" for n, word in ((h.quarantined, "quarantined"),
                                                (h.failing, "failing")) if n]  # fmt: skip
        parts.append(f"{h.view} {', '.join(counts)} ({h.error_class})")
    return "; ".join(parts)


def rebuild_school(
    container: Container,
    school_id: UUID,
    views: Sequence[View] = ALL_VIEWS,
    progress: Callable[[int], None] | None = None,
) -> int:
    # The application first: it is cached like the target, and evicted when the school is
    # offboarded here, so an offboarded school is still "not found" (SchoolNotFound).
    app = container.schools.get(school_id)
    target = ensure_school_views(container, school_id)
    with container.pool.connection() as conn, using_connection(conn):
        return rebuild(conn, target, app.read_side_mapper(), views, progress=progress)


def verify_school(
    container: Container, school_id: UUID, views: Sequence[View] = ALL_VIEWS
) -> list[str]:
    # The application first: it is cached like the target, and evicted when the school is
    # offboarded here, so an offboarded school is still "not found" (SchoolNotFound).
    app = container.schools.get(school_id)
    target = ensure_school_views(container, school_id)
    with container.pool.connection() as conn, using_connection(conn):
        catch_up(conn, target, app.read_side_mapper(), views)
        return verify(conn, target, app.read_side_mapper(), views)
