"""Listing dead-lettered messages (``vangnet jobs dead-letters``), without consuming them.

- RabbitMQ: the queue ``<queue>.XQ``; messages are fetched unacknowledged and put back
  (``basic_nack(requeue=True)``), so listing leaves them where they were. The failure time is
  the ``x-death`` header's ``time``.
- Redis: the sorted set ``<namespace>:<queue>.XQ`` (score: when the message was dead-lettered, in
  milliseconds) and the hash ``<namespace>:<queue>.XQ.msgs`` (the messages).

Only ids, names, times and error classes are shown: never arguments other than a school id, never
tracebacks (they may quote data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq

from infra.entrypoints.worker.broker import broker_kind

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    actor: str
    message_id: str
    school_id: str | None
    failed_at: datetime | None
    error_class: str | None
    retries: int


def list_dead_letters(url: str | None, namespace: str, queues: list[str]) -> list[DeadLetter]:
    """The dead letters of ``queues`` (broker names) on the broker at ``url``.

    Raises ``ValueError`` for the stub broker: its dead letters live in the memory of the process
    that runs it.
    """
    kind = broker_kind(url)
    assert url is not None or kind == "stub"
    if kind == "rabbitmq":
        assert url is not None
        return _rabbitmq(url, queues)
    if kind == "redis":
        assert url is not None
        return _redis(url, namespace, queues)
    msg = "the stub broker is in-process: its dead letters live in that process's memory"
    raise ValueError(msg)


def _describe(queue: str, body: bytes, failed_at: datetime | None) -> DeadLetter:
    message = dramatiq.Message.decode(body)
    args: tuple[Any, ...] = tuple(message.args)
    candidate = args[0] if args else message.kwargs.get("school_id")
    school_id = candidate if isinstance(candidate, str) and _UUID_RE.match(candidate) else None
    return DeadLetter(
        queue=queue,
        actor=message.actor_name,
        message_id=message.message_id,
        school_id=school_id,
        failed_at=failed_at,
        error_class=_error_class(message.options),
        retries=int(message.options.get("retries", 0)),
    )


def _error_class(options: dict[str, Any]) -> str | None:
    recorded = options.get("error_class")
    if isinstance(recorded, str):
        return recorded
    tb = options.get("traceback")
    if isinstance(tb, str) and tb.strip():
        last = tb.strip().splitlines()[-1]
        name = last.split(":", 1)[0].strip()
        return name.rsplit(".", 1)[-1] or None
    return None


def _rabbitmq(url: str, queues: list[str]) -> list[DeadLetter]:
    import pika  # type: ignore[import-untyped]
    from pika.exceptions import ChannelClosedByBroker  # type: ignore[import-untyped]

    letters: list[DeadLetter] = []
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for queue in queues:
            xq = f"{queue}.XQ"
            channel = connection.channel()
            try:
                channel.queue_declare(queue=xq, passive=True)
            except ChannelClosedByBroker as e:
                if e.reply_code == 404:  # never declared: nothing ever failed
                    continue
                raise
            last_tag = None
            try:
                while True:
                    method, properties, body = channel.basic_get(queue=xq, auto_ack=False)
                    if method is None:
                        break
                    last_tag = method.delivery_tag
                    letters.append(_describe(queue, body, _x_death_time(properties)))
            finally:
                if last_tag is not None:
                    channel.basic_nack(delivery_tag=last_tag, multiple=True, requeue=True)
                channel.close()
    finally:
        connection.close()
    return letters


def _x_death_time(properties: Any) -> datetime | None:
    headers = getattr(properties, "headers", None) or {}
    deaths = headers.get("x-death") or []
    if deaths and isinstance(deaths[0], dict):
        when = deaths[0].get("time")
        if isinstance(when, datetime):
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _redis(url: str, namespace: str, queues: list[str]) -> list[DeadLetter]:
    import redis

    client: Any = redis.Redis.from_url(url)
    letters: list[DeadLetter] = []
    try:
        for queue in queues:
            key = f"{namespace}:{queue}.XQ"
            entries = client.zrange(key, 0, -1, withscores=True)
            if not entries:
                continue
            ids = [member for member, _ in entries]
            bodies = client.hmget(f"{key}.msgs", ids)
            for (_, score), body in zip(entries, bodies, strict=True):
                if body is None:
                    continue
                failed_at = datetime.fromtimestamp(float(score) / 1000, tz=UTC)
                letters.append(_describe(queue, body, failed_at))
    finally:
        client.close()
    return letters
