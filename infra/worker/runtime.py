"""The process-wide :class:`Container` that jobs run against.

A worker process opens it lazily from the environment on the first job (:func:`get_container`)
and closes it at shutdown (:func:`close_container`). A process that already has an open
container (the demo, the web app with an in-process worker, tests) lends it instead
(:func:`use_container`); a lent container is never closed here.
"""

from __future__ import annotations

import threading

from infra.container import Container
from infra.settings import Settings

_lock = threading.Lock()
_container: Container | None = None
_owned = False


def get_container() -> Container:
    """The process's container, opened from :meth:`Settings.from_env` on first use."""
    global _container, _owned  # noqa: PLW0603 - one container per process, by design
    with _lock:
        if _container is None:
            _container = Container.open(Settings.from_env())
            _owned = True
        return _container


def use_container(container: Container) -> None:
    """Lend an open container to the jobs of this process (the caller keeps closing it)."""
    global _container, _owned  # noqa: PLW0603
    with _lock:
        if _container is not None and _owned and _container is not container:
            _container.close()
        _container = container
        _owned = False


def release_container(container: Container) -> None:
    """Forget a lent container (if it is still the current one); does not close it."""
    global _container  # noqa: PLW0603
    with _lock:
        if _container is container and not _owned:
            _container = None


def close_container() -> None:
    """Close the container if this module opened it; forget it either way."""
    global _container, _owned
    with _lock:
        container, owned = _container, _owned
        _container, _owned = None, False
    if container is not None and owned:
        container.close()
