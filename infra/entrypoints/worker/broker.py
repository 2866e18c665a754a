"""The Dramatiq broker of this process, and the registry of jobs declared on it.

Dramatiq binds an actor to a broker when the actor is declared (``dramatiq.actor`` uses
``get_broker()`` at import time, and ``Broker.declare_actor`` adds it to that broker only). To let
a process, and the tests, choose the broker at run time, Vangnet's jobs are plain functions
registered with :func:`infra.adapters.jobs.job`; :func:`setup_broker` builds a broker,
declares a fresh ``dramatiq.Actor`` for every registered job on it, and installs it with
``dramatiq.set_broker``.
Calling it again (another test, another broker URL) gives new actors on the new broker; nothing
declared on an earlier broker is changed. Send through :func:`infra.adapters.jobs.actor_for`::

    broker = setup_broker(settings.broker_url, namespace=settings.queue_namespace)
    actor_for("catch_up_school").send(str(school_id))

Queue names are ``<namespace>.<queue>`` (``vangnet.projections``); on Redis the keys are also
under ``<namespace>:``. Dead letters: RabbitMQ queue ``<namespace>.<queue>.XQ``, Redis sorted set
``<namespace>:<namespace>.<queue>.XQ`` (see :mod:`infra.entrypoints.worker.deadletters`).
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

# Importing the jobs registers them (each is a `@job` function): a broker set up here always
# declares every job, whoever sets it up.
import infra.entrypoints.worker.actors  # noqa: F401
from infra.adapters.jobs import DEFAULT_NAMESPACE, install, queue_name, registered_jobs
from infra.config.settings import Settings

log = logging.getLogger(__name__)


class FailureClass(Middleware):
    """Record the error class of a failed attempt in the message options (``error_class``).

    The class name only: exception messages may quote data. A retried message carries it back to
    the broker, so a dead letter names what made its previous attempt fail.
    """

    def after_process_message(
        self,
        broker: dramatiq.Broker,  # noqa: ARG002 - Dramatiq's signature
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,  # noqa: ARG002
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None:
            message.options["error_class"] = getattr(
                exception, "error_class", type(exception).__name__
            )


def setup_broker(
    url: str | None,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    max_retries: int = 5,
    min_backoff: int = 1000,
    max_backoff: int = 300_000,
    time_limit: int = 600_000,
    confirm_delivery: bool = True,
) -> dramatiq.Broker:
    """Build the broker for ``url``, declare every job on it, and make it the process's broker.

    ``url``: ``amqp://``/``amqps://`` (RabbitMQ), ``redis://``/``rediss://``/``unix://`` (Redis),
    ``None`` or ``stub://`` (in-process :class:`StubBroker`). Backoffs and the time limit are in
    milliseconds. No connection is made here: brokers connect on first use.
    """
    middleware: list[Middleware] = [
        # No global age limit: a catch-up hint is never too old to be harmless, and an aged-out
        # message would be dead-lettered. Jobs that go stale (reminders) set ``max_age``.
        AgeLimit(),
        TimeLimit(time_limit=time_limit),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=max_retries, min_backoff=min_backoff, max_backoff=max_backoff),
        # Last in the list, so it runs before Retries in after_process_message (reversed order)
        # and the retried copy of the message carries the error class.
        FailureClass(),
    ]
    broker = _make_broker(url, namespace, middleware, confirm_delivery=confirm_delivery)
    for spec in registered_jobs().values():
        unknown = set(spec.options) - broker.actor_options
        if unknown:
            msg = f"job {spec.name!r} has unknown actor options: {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        dramatiq.Actor(
            spec.fn,
            broker=broker,
            actor_name=spec.name,
            queue_name=queue_name(namespace, spec.queue),
            priority=spec.priority,
            options=dict(spec.options),
        )
    install(broker, namespace, url)
    log.info("broker set up: %s, namespace %s", broker_kind(url), namespace)
    return broker


def setup_broker_from_settings(settings: Settings) -> dramatiq.Broker:
    """:func:`setup_broker` with the job settings of an :class:`infra.config.settings.Settings`."""
    return setup_broker(
        settings.broker_url,
        namespace=settings.queue_namespace,
        max_retries=settings.job_max_retries,
        min_backoff=settings.job_min_backoff_ms,
        max_backoff=settings.job_max_backoff_ms,
        time_limit=settings.job_time_limit_ms,
    )


def broker_kind(url: str | None) -> str:
    """``stub``, ``rabbitmq`` or ``redis`` for a broker URL (ValueError for anything else)."""
    if url is None or url == "" or url.startswith("stub:"):
        return "stub"
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("amqp", "amqps"):
        return "rabbitmq"
    if scheme in ("redis", "rediss", "unix"):
        return "redis"
    msg = "BROKER_URL must start with amqp://, amqps://, redis://, rediss:// or unix://"
    raise ValueError(msg)


def _make_broker(
    url: str | None, namespace: str, middleware: list[Middleware], *, confirm_delivery: bool
) -> dramatiq.Broker:
    kind = broker_kind(url)
    if kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=middleware, confirm_delivery=confirm_delivery)
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(  # type: ignore[no-untyped-call]
            url=url, middleware=middleware, namespace=namespace
        )
    return StubBroker(middleware=middleware)
