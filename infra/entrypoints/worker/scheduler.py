"""The periodic sweep: a daemon thread that runs :func:`sweep_schools` every N seconds.

It runs the catch-ups itself rather than enqueueing them, so it keeps converging the views while
the broker is down. The first sweep runs at start (after a restart, catch up at once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from infra.bootstrap.container import Container
from infra.entrypoints.worker.actors import SweepResult, sweep_schools

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self,
        container: Container,
        interval: float,
        *,
        sweep: Callable[[Container], SweepResult] = sweep_schools,
    ) -> None:
        self._container = container
        self._interval = interval
        self._sweep = sweep
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vangnet-sweeper", daemon=True)
        self.runs = 0

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sweep(self._container)
            except Exception as e:  # the registry or the database is unreachable: try later
                log.warning("sweep failed: %s", type(e).__name__)
            self.runs += 1
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
