"""The web and worker processes under test, started as an operator would start them.

``vangnet serve`` and ``vangnet worker`` each run in their own process (``python -m
infra.entrypoints.cli``),
configured only through the environment; their output goes to log files that are printed when
something fails. Only processes started here are ever signalled, by their own pid.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from bench.stats import memory_mb, process_cpu_seconds


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Started:
    """A process started by the benchmark."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def memory(self) -> dict[str, float]:
        return memory_mb(self.pid)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Started:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(  # the interpreter of this venv, fixed arguments
        [sys.executable, *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    return Started(name=name, process=process, log_path=log_path, _log=log)


def start_web(env: dict[str, str], log_dir: Path) -> Started:
    return start("web", ["-m", "infra.entrypoints.cli", "serve"], env, log_dir)


def start_worker(env: dict[str, str], log_dir: Path, threads: int) -> Started:
    return start(
        "worker", ["-m", "infra.entrypoints.cli", "worker", "--threads", str(threads)], env, log_dir
    )


def wait_ready(base_url: str, web: Started, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not web.alive():
            msg = f"the web process exited ({web.process.returncode}):\n{web.log_tail()}"
            raise RuntimeError(msg)
        try:
            response = httpx.get(base_url + "/health/ready", timeout=2.0)
            if response.status_code == 200:
                return
            last = response.text[:200]
        except httpx.HTTPError as e:
            last = type(e).__name__
        time.sleep(0.2)
    msg = f"the web process is not ready after {timeout:.0f} s ({last}):\n{web.log_tail()}"
    raise RuntimeError(msg)


def process_env(
    *,
    database_url: str,
    master_key: bytes,
    secret_key: bytes,
    port: int,
    pool_size: int,
    broker_url: str | None,
    namespace: str,
    data_dir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a web or worker process: only what an operator would set."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "DATABASE_URL": database_url,
            "VANGNET_MASTER_KEY": base64.b64encode(master_key).decode(),
            "VANGNET_SECRET_KEY": base64.b64encode(secret_key).decode(),
            "VANGNET_HOST": "127.0.0.1",
            "VANGNET_PORT": str(port),
            "VANGNET_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "VANGNET_POOL_SIZE": str(pool_size),
            "VANGNET_QUEUE_NAMESPACE": namespace,
            "VANGNET_DATA_DIR": str(data_dir),
            "VANGNET_LOG_LEVEL": "WARNING",
            # The benchmark's identity provider runs on 127.0.0.1 (bench.issuer).
            "VANGNET_LOOPBACK_ISSUERS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if broker_url:
        env["BROKER_URL"] = broker_url
    env.update(extra or {})
    return env
