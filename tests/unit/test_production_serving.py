"""Running behind a proxy with several processes: the settings, the forwarded-header rule,
HSTS, the multi-process metrics' housekeeping, the worker's health endpoints and the containers'
probe. No database: the pieces on their own (the production-topology test runs them together).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.config.settings import SETTING_NAMES, Settings, SettingsError
from infra.entrypoints.deploy.probe import probe
from infra.entrypoints.web.metrics import forget_dead_processes
from infra.entrypoints.web.proxy import ForwardedHeadersMiddleware, parse_networks
from infra.entrypoints.web.security import HSTS, SecurityHeadersMiddleware
from infra.entrypoints.worker.health import WorkerHealthServer

KEY = base64.b64encode(bytes(32)).decode()
PRODUCTION = {"DATABASE_URL": "postgresql://x@h/db", "VANGNET_MASTER_KEY": KEY}


# --- settings -----------------------------------------------------------------------------------


def test_web_settings_defaults_and_values(tmp_path: Path) -> None:
    base = {**PRODUCTION, "VANGNET_DATA_DIR": str(tmp_path)}
    s = Settings.from_env(base)
    assert (s.web_workers, s.trusted_proxies, s.worker_health_port) == (1, (), None)
    s = Settings.from_env(
        {
            **base,
            "VANGNET_WEB_WORKERS": "3",
            "VANGNET_TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1 ,::1,192.168.1.7/24",
            "VANGNET_WORKER_HEALTH_PORT": "8001",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
    )
    assert s.web_workers == 3
    # Normalised: a host address gets its /32 (/128), a block its network address.
    assert s.trusted_proxies == ("10.0.0.0/8", "127.0.0.1/32", "::1/128", "192.168.1.0/24")
    assert s.worker_health_port == 8001
    assert s.metrics_dir == tmp_path / "metrics"
    assert s.metrics_multiprocess
    assert {"VANGNET_WEB_WORKERS", "VANGNET_TRUSTED_PROXIES", "VANGNET_WORKER_HEALTH_PORT"} <= (
        SETTING_NAMES
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VANGNET_TRUSTED_PROXIES", "proxy.example"),
        ("VANGNET_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("VANGNET_WEB_WORKERS", "0"),
        ("VANGNET_WEB_WORKERS", "two"),
        ("VANGNET_WORKER_HEALTH_PORT", "-1"),
    ],
)
def test_bad_web_settings_are_refused(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name) as refused:
        Settings.from_env({**PRODUCTION, "VANGNET_DATA_DIR": str(tmp_path), name: value})
    assert value not in str(refused.value)


def test_several_web_workers_need_a_database_server(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="VANGNET_WEB_WORKERS above 1 needs DATABASE_URL"):
        Settings.from_env({"VANGNET_DATA_DIR": str(tmp_path), "VANGNET_WEB_WORKERS": "2"})


def test_serve_refuses_several_workers_on_the_embedded_database(tmp_path: Path) -> None:
    from infra.entrypoints.web.server import serve

    settings = Settings.from_env({"VANGNET_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="needs DATABASE_URL"):
        serve(settings, workers=2)


# --- forwarded headers --------------------------------------------------------------------------


def _scope_after(
    peer: str, headers: dict[str, str], trusted: str = "10.0.0.0/8, 127.0.0.1"
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    middleware = ForwardedHeadersMiddleware(app, trusted=parse_networks(trusted.split(",")))
    scope = {
        "type": "http",
        "scheme": "http",
        "client": (peer, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    return seen


def test_a_trusted_proxy_sets_client_and_scheme() -> None:
    scope = _scope_after(
        "10.1.2.3", {"X-Forwarded-For": "203.0.113.9, 10.9.9.9", "X-Forwarded-Proto": "https"}
    )
    # The nearest hop that is not a proxy is the client (10.9.9.9 is another proxy).
    assert scope["client"] == ("203.0.113.9", 0)
    assert scope["scheme"] == "https"


def test_anyone_else_cannot_forge_them() -> None:
    scope = _scope_after(
        "198.51.100.4", {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https"}
    )
    assert scope["client"] == ("198.51.100.4", 50000)
    assert scope["scheme"] == "http"


def test_a_forged_entry_left_of_the_proxy_chain_is_not_the_client() -> None:
    # The browser sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real peer.
    scope = _scope_after("127.0.0.1", {"X-Forwarded-For": "1.2.3.4, 198.51.100.77"})
    assert scope["client"] == ("198.51.100.77", 0)


@pytest.mark.parametrize("value", ["not-an-ip", "198.51.100.1, garbage", ""])
def test_garbled_forwarded_for_keeps_the_peer(value: str) -> None:
    scope = _scope_after("127.0.0.1", {"X-Forwarded-For": value, "X-Forwarded-Proto": "ftp"})
    assert scope["client"] == ("127.0.0.1", 50000)
    assert scope["scheme"] == "http"


def test_without_trusted_proxies_nothing_changes() -> None:
    scope = _scope_after("127.0.0.1", {"X-Forwarded-Proto": "https"}, trusted="")
    assert scope["scheme"] == "http"


def test_parse_networks_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match="'proxy'"):
        parse_networks(["10.0.0.1", "proxy"])


# --- HSTS ---------------------------------------------------------------------------------------


def _response_headers(hsts: bool) -> dict[str, str]:
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(
        SecurityHeadersMiddleware(app, hsts=hsts)({"type": "http", "path": "/"}, None, send)
    )  # type: ignore[arg-type]
    return {k.decode(): v.decode() for k, v in sent[0]["headers"]}


def test_hsts_only_when_the_public_url_is_https() -> None:
    assert _response_headers(hsts=True)["strict-transport-security"] == HSTS
    assert "strict-transport-security" not in _response_headers(hsts=False)


def test_the_app_turns_on_secure_cookies_and_hsts_for_an_https_public_url(tmp_path: Path) -> None:
    from infra.entrypoints.web.app import https_only, session_config

    for url, expected in (("https://vangnet.example", True), ("http://127.0.0.1:8000", False)):
        settings = Settings.from_env(
            {**PRODUCTION, "VANGNET_DATA_DIR": str(tmp_path), "VANGNET_PUBLIC_URL": url}
        )
        assert https_only(settings) is expected
        assert session_config(settings).secure is expected


# --- metrics of several processes ---------------------------------------------------------------


def test_live_gauges_of_dead_processes_are_forgotten(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid, alive_pid = int(dead.stdout), os.getpid()
    for name in (f"gauge_livesum_{dead_pid}.db", f"gauge_livesum_{alive_pid}.db",
                 f"counter_{dead_pid}.db", "gauge_all_1.db"):  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_processes(tmp_path) == [dead_pid]
    left = sorted(p.name for p in tmp_path.iterdir())
    # The dead process's counter stays: what it counted happened.
    assert left == sorted(
        [f"gauge_livesum_{alive_pid}.db", f"counter_{dead_pid}.db", "gauge_all_1.db"]
    )


# --- the worker's health endpoints, and the containers' probe ----------------------------------


@pytest.fixture
def worker_health() -> Iterator[tuple[WorkerHealthServer, dict[str, bool]]]:
    state = {"alive": True, "database": True}

    def database() -> bool:
        if not state["database"]:
            raise OSError("database down")
        return True

    server = WorkerHealthServer(
        host="127.0.0.1", port=0, alive=lambda: state["alive"], database=database,
        broker_url=None,
    )  # fmt: skip
    server.start()
    try:
        yield server, state
    finally:
        server.stop()


def test_worker_health_answers_live_and_ready(
    worker_health: tuple[WorkerHealthServer, dict[str, bool]],
) -> None:
    server, state = worker_health
    base = f"http://127.0.0.1:{server.port}"
    assert httpx.get(base + "/health/live").json() == {"status": "ok"}
    ready = httpx.get(base + "/health/ready")
    assert (ready.status_code, ready.json()["database"], ready.json()["broker"]) == (
        200, "ok", "in-process",
    )  # fmt: skip
    state["database"] = False
    ready = httpx.get(base + "/health/ready")
    assert (ready.status_code, ready.json()["status"]) == (503, "unavailable")
    state["alive"] = False
    assert httpx.get(base + "/health/live").status_code == 503
    assert httpx.get(base + "/elsewhere").status_code == 404
    # The probe the containers run reads the same endpoints.
    assert probe(base + "/health/live") == 1
    state["alive"] = True
    assert probe(base + "/health/live") == 0


def test_probe_refuses_non_http_and_reports_unreachable() -> None:
    assert probe("file:///etc/passwd") == 2
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as unused:
        port = unused.server_address[1]
    assert probe(f"http://127.0.0.1:{port}/health/live", timeout=1.0) == 1


def test_worker_health_reports_an_unreachable_broker() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as unused:
        port = unused.server_address[1]
    server = WorkerHealthServer(
        host="127.0.0.1", port=0, alive=lambda: True, database=lambda: True,
        broker_url=f"amqp://guest:guest@127.0.0.1:{port}/",
    )  # fmt: skip
    server.start()
    try:
        ready = httpx.get(f"http://127.0.0.1:{server.port}/health/ready")
        assert (ready.status_code, ready.json()["broker"]) == (503, "down")
        assert "guest" not in json.dumps(ready.json())
    finally:
        server.stop()


def test_the_operators_metrics_directory_starts_empty(tmp_path: Path) -> None:
    from infra.entrypoints.web.server import metrics_directory

    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not a metrics file")
    settings = Settings.from_env(
        {**PRODUCTION, "VANGNET_DATA_DIR": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    )
    with metrics_directory(settings) as directory:
        assert directory == tmp_path
        assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    # Without one, the workers get a fresh directory, removed afterwards.
    settings = Settings.from_env({**PRODUCTION, "VANGNET_DATA_DIR": str(tmp_path)})
    with metrics_directory(settings) as directory:
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)
        assert directory.is_dir()
    assert not directory.exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
