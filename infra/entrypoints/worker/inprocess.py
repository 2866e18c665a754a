"""A Dramatiq worker inside this process: embedded mode and the demo (stub broker), and tests.

::

    handle = start_inprocess_worker(container)        # StubBroker unless a broker is given
    service = container.case_service(school_id)
    ...
    handle.wait_until_idle()                          # every hint processed
    handle.stop()

STACK-NOTES: ``process_boot`` is emitted before the worker starts; without it the TimeLimit
middleware's timer thread never starts and time limits never fire.

With ``checkpoints=True`` (the web app in embedded mode, the demo) it also checkpoints every
log's chain every ``VANGNET_CHECKPOINT_SECONDS``, as ``vangnet worker`` does, so tamper evidence
does not depend on running a separate worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.stub import StubBroker

from infra.adapters.jobs import CoalescingNotifier, current_namespace, job_queues
from infra.bootstrap.container import Container
from infra.entrypoints.worker.actors import checkpoint_sweep
from infra.entrypoints.worker.broker import setup_broker
from infra.entrypoints.worker.scheduler import Sweeper

#: How long an idle worker thread waits for work before checking whether it should stop (ms).
IDLE_POLL_MS = 100


@dataclass
class InProcessWorker:
    broker: dramatiq.Broker
    worker: dramatiq.Worker
    container: Container
    namespace: str
    sweepers: list[Sweeper]

    def wait_until_idle(self, timeout: float = 60.0) -> None:
        """Wait until every queued message has been processed (stub broker), or, on a real
        broker, until the queues are empty and the worker has nothing in hand."""
        deadline = time.monotonic() + timeout
        if isinstance(self.container.notifier, CoalescingNotifier):
            self.container.notifier.flush(timeout)  # the hints still on their way to the broker
        for queue in job_queues(self.namespace):
            remaining = max(1, int((deadline - time.monotonic()) * 1000))
            if isinstance(self.broker, StubBroker):
                self.broker.join(queue, timeout=remaining, fail_fast=False)
            else:
                self.broker.join(queue, timeout=remaining)
        self.worker.join()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the sweeps and the worker threads (waiting for jobs in hand)."""
        for sweeper in self.sweepers:
            sweeper.stop(timeout)
        self.worker.stop(timeout=int(timeout * 1000))


def start_inprocess_worker(
    container: Container,
    *,
    broker: dramatiq.Broker | None = None,
    threads: int = 2,
    checkpoints: bool = False,
) -> InProcessWorker:
    """Start a worker on ``broker`` (default: a fresh stub broker) whose jobs use ``container``;
    ``checkpoints``: also the periodic checkpoints of every log (the first one at once)."""
    if broker is None:
        broker = setup_broker(None, namespace=container.settings.queue_namespace)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=IDLE_POLL_MS)
    worker.start()
    sweepers = (
        [Sweeper(container, container.settings.checkpoint_seconds, sweep=checkpoint_sweep).start()]
        if checkpoints
        else []
    )
    return InProcessWorker(
        broker=broker,
        worker=worker,
        container=container,
        namespace=current_namespace(),
        sweepers=sweepers,
    )
