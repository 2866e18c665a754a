"""``vangnet worker``'s health endpoints, for container probes (``VANGNET_WORKER_HEALTH_PORT``).

A worker serves no HTTP otherwise; an orchestrator still needs to know whether it is alive and
whether it can work. A small stdlib server in a daemon thread answers:

- ``GET /health/live``: 200 while the worker's consumer and worker threads run (503 when any
  died: restart the process);
- ``GET /health/ready``: 200 when the database answers and the broker accepts connections
  (503 otherwise, with the same fields as the web process's ``/health/ready``:
  ``database``, ``broker``).

Answers carry statuses only (no ids, no data); nothing is logged per request.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from infra.entrypoints.worker.broker import broker_kind

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


def broker_answers(url: str | None, timeout: float = PROBE_TIMEOUT) -> str:
    """``ok`` when the broker accepts a TCP connection, ``down`` when not, ``in-process``
    for the stub broker."""
    kind = broker_kind(url)
    if kind == "stub" or url is None:
        return "in-process"
    parts = urlsplit(url)
    port = parts.port or (5672 if kind == "rabbitmq" else 6379)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return "ok"
    except OSError:
        return "down"


class WorkerHealthServer:
    """The health endpoints of one worker process (start, then stop at shutdown)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        alive: Callable[[], bool],
        database: Callable[[], bool],
        broker_url: str | None,
    ) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/health/live":
                    ok = alive()
                    body: dict[str, Any] = {"status": "ok" if ok else "unavailable"}
                elif path == "/health/ready":
                    body = server.readiness()
                    ok = body["status"] == "ok"
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Probes every few seconds would flood the log: nothing per request."""

        self._database = database
        self._broker_url = broker_url
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="worker-health", daemon=True
        )

    def readiness(self) -> dict[str, Any]:
        try:
            database = "ok" if self._database() else "down"
        except Exception:
            database = "down"
        broker = broker_answers(self._broker_url)
        ok = database == "ok" and broker != "down"
        return {"status": "ok" if ok else "unavailable", "database": database, "broker": broker}

    def start(self) -> None:
        self._thread.start()
        log.info("worker health endpoints on port %d (/health/live, /health/ready)", self.port)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
