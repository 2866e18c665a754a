"""``vangnet worker``: a Dramatiq worker on ``BROKER_URL`` plus the periodic sweep, one process.

Shutdown on SIGTERM or SIGINT: stop the sweeper, let the worker threads finish the jobs in hand
(unacknowledged messages stay on the broker and are redelivered), close the broker (the
caller closes the container). A second signal while stopping exits at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import dramatiq

from infra.adapters.jobs import job_queues
from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.worker.actors import (
    RETENTION_SWEEP_SECONDS,
    checkpoint_sweep,
    mail_sweep,
    retention_sweep,
)
from infra.entrypoints.worker.broker import broker_kind, setup_broker_from_settings
from infra.entrypoints.worker.health import WorkerHealthServer
from infra.entrypoints.worker.scheduler import Sweeper

log = logging.getLogger(__name__)


def run_worker(
    container: Container,
    *,
    threads: int | None = None,
    sweep_seconds: float | None = None,
    sweep: bool = True,
    stop: threading.Event | None = None,
    ready: Callable[[], None] | None = None,
) -> int:
    """Run until ``stop`` is set (or SIGTERM/SIGINT in the main thread) with the jobs on
    ``container`` (opened by the caller, before any message is taken); returns an exit code."""
    settings = container.settings
    stop = stop or threading.Event()
    broker = setup_broker_from_settings(settings)
    _install_signals(stop)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads or settings.worker_threads)
    sweepers = (
        [
            Sweeper(container, sweep_seconds or settings.sweep_seconds),
            Sweeper(container, settings.mail_sweep_seconds, sweep=mail_sweep),
            Sweeper(container, settings.checkpoint_seconds, sweep=checkpoint_sweep),
            Sweeper(container, RETENTION_SWEEP_SECONDS, sweep=retention_sweep),
        ]
        if sweep
        else []
    )
    health = _health_server(settings, worker, container)
    try:
        worker.start()
        for sweeper in sweepers:
            sweeper.start()
        if health is not None:
            health.start()
        log.info(
            "worker started: %s broker, queues %s, %d threads, sweep every %s s",
            broker_kind(settings.broker_url),
            ", ".join(job_queues(settings.queue_namespace)),
            worker.worker_threads,
            (sweep_seconds or settings.sweep_seconds) if sweep else "-",
        )
        if ready is not None:
            ready()
        while not stop.wait(1.0):
            pass
        log.info("worker stopping")
    finally:
        if health is not None:
            health.stop()
        for sweeper in sweepers:
            sweeper.stop()
        worker.stop(timeout=30_000)
        broker.close()
    log.info("worker stopped")
    return 0


def _health_server(
    settings: Settings, worker: dramatiq.Worker, container: Container
) -> WorkerHealthServer | None:
    """The probes' endpoints on ``VANGNET_HOST``:``VANGNET_WORKER_HEALTH_PORT`` (if set)."""
    if settings.worker_health_port is None:
        return None

    def alive() -> bool:
        threads = [*worker.consumers.values(), *worker.workers]
        return bool(threads) and all(t.is_alive() for t in threads)

    def database() -> bool:
        with container.pool.connection(timeout=2.0) as conn:
            conn.execute("SELECT 1")
        return True

    return WorkerHealthServer(
        host=settings.host,
        port=settings.worker_health_port,
        alive=alive,
        database=database,
        broker_url=settings.broker_url,
    )


def _install_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise SystemExit(128 + signum)
        log.info("signal %s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
