"""End-to-end harness: a real OpenID provider (npm ``oidc-provider``), Chromium via Playwright,
and the web app started as a subprocess.

Fixtures:

- ``idp`` (session): the test identity provider in ``tests/e2e/idp`` with the users of
  ``E2E_USERS`` and one client ``vangnet-e2e`` whose redirect URI is
  ``http://127.0.0.1:<idp.web_port>/auth/callback``. Yields an :class:`Idp`.
- ``browser`` (session): headless Debian Chromium (``/usr/bin/chromium``) via Playwright.
- ``context`` / ``page`` (per test): a fresh browser context (no cookies) and a page in it.
- ``web_database_url`` (per test): a fresh, empty database next to the session's
  ``database_url`` (``tests/conftest.py``), dropped afterwards.
- ``web_server_factory`` (per test): ``start(extra_env=None) -> WebServer`` runs
  ``python -m infra.entrypoints.cli serve`` on ``idp.web_port`` against ``web_database_url``;
  ``web_server`` is ``start()`` with no extra environment.

Policy: without ``/usr/bin/chromium``, ``node`` or ``npm`` these tests are skipped with the
reason — but when ``CI`` is set they fail, so CI can never pass on skipped browser tests.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from tests.conftest import TEST_MASTER_KEY_B64

REPO_ROOT = Path(__file__).resolve().parents[2]
IDP_DIR = Path(__file__).resolve().parent / "idp"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Audience (resource indicator) of the IdP's access tokens: RFC 9068 ``at+jwt`` for the API.
API_AUDIENCE = "urn:vangnet:api"
E2E_CLIENT_ID = "vangnet-e2e"
#: Test-only client secret (not a secret: it only opens the test IdP).
E2E_CLIENT_SECRET = "vangnet-e2e-client-secret-for-tests-only"
#: Test-only signing key for the web app (base64 of 32 bytes; never used outside tests).
E2E_SECRET_KEY_B64 = base64.b64encode(bytes(range(32, 64))).decode("ascii")
#: Path of the web app's OpenID callback (the client's only redirect URI, on ``idp.web_port``).
CALLBACK_PATH = "/auth/callback"
#: Where the IdP may send the browser after logout (paths on the web app).
POST_LOGOUT_PATHS = ("/", "/auth/logged-out")

IDP_START_TIMEOUT = 30.0
WEB_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class E2EUser:
    """A clearly fake person known to the test IdP; log in with ``login_hint=<sub>``."""

    sub: str
    name: str
    email: str
    groups: tuple[str, ...]
    email_verified: bool = True

    def as_config(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "name": self.name,
            "email": self.email,
            "email_verified": self.email_verified,
            "groups": list(self.groups),
        }


#: The IdP's users, by role. Fake names and ``example.org`` addresses only.
E2E_USERS: dict[str, E2EUser] = {
    "contact_person": E2EUser(
        sub="e2e-contact-person",
        name="Test Aanspreekpunt",
        email="aanspreekpunt@example.org",
        groups=("vangnet-contact_person",),
    ),
    "contact_person_b": E2EUser(
        sub="e2e-contact-person-b",
        name="Test Aanspreekpunt Nieuweschool",
        email="aanspreekpunt-b@example.org",
        groups=("vangnet-contact_person",),
    ),
    "coordinator": E2EUser(
        sub="e2e-coordinator",
        name="Test Coördinator",
        email="coordinator@example.org",
        groups=("vangnet-coordinator",),
    ),
    "board": E2EUser(
        sub="e2e-board",
        name="Test Bestuurder",
        email="bestuurder@example.org",
        groups=("vangnet-board",),
    ),
    "safety_coordinator": E2EUser(
        sub="e2e-safety-coordinator",
        name="Test Veiligheidscoördinator",
        email="veiligheid@example.org",
        groups=("vangnet-safety_coordinator",),
    ),
    "domestic_violence_officer": E2EUser(
        sub="e2e-domestic-violence-officer",
        name="Test Aandachtsfunctionaris",
        email="aandachtsfunctionaris@example.org",
        groups=("vangnet-domestic_violence_officer",),
    ),
    "operator": E2EUser(
        sub="e2e-operator",
        name="Test Beheerder",
        email="beheerder@example.org",
        groups=("vangnet-operators",),
    ),
}


# --- skip / fail policy ------------------------------------------------------------------------


def unavailable(reason: str) -> NoReturn:
    """Skip outside CI; fail loudly in CI (``CI`` set), so CI can't go green on skips."""
    if os.environ.get("CI"):
        pytest.fail(f"end-to-end tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"end-to-end tests need {reason}")


def require_node() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        unavailable(f"{missing} (Node.js) on PATH for the test identity provider")
    return node, npm


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        unavailable(f"Debian chromium at {CHROMIUM} (apt-get install -y chromium)")
    return CHROMIUM


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- identity provider -------------------------------------------------------------------------


def ensure_idp_installed() -> None:
    """``npm ci`` in tests/e2e/idp unless its node_modules already has oidc-provider and
    axe-core (the accessibility checks)."""
    _, npm = require_node()
    modules = IDP_DIR / "node_modules"
    if all((modules / name / "package.json").exists() for name in ("oidc-provider", "axe-core")):
        return
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=IDP_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        unavailable("npm ci in tests/e2e/idp to finish (timed out after 300 s)")
    if result.returncode != 0:
        unavailable(f"npm ci in tests/e2e/idp to succeed; it said:\n{result.stderr[-2000:]}")


@dataclass
class Idp:
    """A running test OpenID provider."""

    issuer: str
    client_id: str
    client_secret: str
    api_audience: str
    #: The port the web app must listen on (the client's redirect URI points there).
    web_port: int
    redirect_uri: str
    users: dict[str, E2EUser] = field(repr=False)
    process: subprocess.Popen[str] = field(repr=False)
    log_path: Path = field(repr=False)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/auth"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.issuer}/session/end"

    def log(self) -> str:
        """What the IdP wrote to stderr so far (warnings, server errors)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_idp(config: Mapping[str, Any], workdir: Path) -> tuple[str, subprocess.Popen[str], Path]:
    """Start ``node server.mjs`` with ``config`` on a free port; return (issuer, process, log).

    Waits for its ``READY <issuer>`` line; fails the test with its stderr if it doesn't come.
    The caller stops it with :func:`stop_process`.
    """
    node, _ = require_node()
    ensure_idp_installed()
    config_path = workdir / "idp-config.json"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    log_path = workdir / "idp.log"
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [node, "server.mjs", str(config_path), "--port", "0"],
        cwd=IDP_DIR,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    lines: list[str] = []

    def read_first_line() -> None:
        assert process.stdout is not None
        lines.append(process.stdout.readline())

    reader = threading.Thread(target=read_first_line, daemon=True)
    reader.start()
    reader.join(IDP_START_TIMEOUT)
    first = lines[0].strip() if lines else ""
    if not first.startswith("READY "):
        stop_process(process)
        stderr = log_path.read_text(encoding="utf-8", errors="replace")
        pytest.fail(
            f"test IdP did not become ready (exit code {process.returncode}, "
            f"stdout {first!r}); its stderr:\n{stderr}",
            pytrace=False,
        )
    return first.removeprefix("READY "), process, log_path


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    """The test OpenID provider for the whole session (see the module docstring)."""
    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    config = {
        "api_audience": API_AUDIENCE,
        "clients": [
            {
                "client_id": E2E_CLIENT_ID,
                "client_secret": E2E_CLIENT_SECRET,
                "redirect_uris": [base + CALLBACK_PATH],
                "post_logout_redirect_uris": [base + p for p in POST_LOGOUT_PATHS],
            }
        ],
        "users": [u.as_config() for u in E2E_USERS.values()],
    }
    workdir = tmp_path_factory.mktemp("idp")
    issuer, process, log_path = start_idp(config, workdir)
    server = Idp(
        issuer=issuer,
        client_id=E2E_CLIENT_ID,
        client_secret=E2E_CLIENT_SECRET,
        api_audience=API_AUDIENCE,
        web_port=web_port,
        redirect_uri=base + CALLBACK_PATH,
        users=dict(E2E_USERS),
        process=process,
        log_path=log_path,
    )
    try:
        yield server
    finally:
        died = process.poll()
        stop_process(process)
        if died is not None:
            sys.stderr.write(f"\ntest IdP exited early ({died}); its stderr:\n{server.log()}\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the IdP's stderr to the report of a failed test that used it."""
    report = yield
    server = getattr(item, "funcargs", {}).get("idp")
    if report.failed and isinstance(server, Idp):
        report.sections.append(("test IdP stderr", server.log()))
    return report


@pytest.hookimpl
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e carries the ``e2e`` marker (``-m "not e2e"`` leaves them out)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# --- browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, launched once per session (no ``playwright install``)."""
    executable = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        unavailable(f"the playwright Python package ({e})")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context per test: no cookies, no storage."""
    ctx = browser.new_context(locale="nl-NL", timezone_id="Europe/Amsterdam")
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


# --- web app -----------------------------------------------------------------------------------


def start_web(
    env: Mapping[str, str], port: int, *, log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m infra.entrypoints.cli serve`` on 127.0.0.1:``port`` with ``env`` added to
    ours.

    Waits up to 60 s for ``GET /health/ready`` to answer 200. Raises RuntimeError (with the
    server's output) when it exits or doesn't get ready; the caller stops it with
    :func:`stop_process`.
    """
    full_env = {
        **os.environ,
        **env,
        "VANGNET_HOST": "127.0.0.1",
        "VANGNET_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    if log_path is None:
        log_path = Path(tempfile.mkstemp(prefix="vangnet-web-", suffix=".log")[1])
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.entrypoints.cli", "serve"],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/health/ready"
    deadline = time.monotonic() + WEB_START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return process
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.2)
    stop_process(process)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    msg = (
        f"web app not ready on {url} (exit code {process.returncode}, last: {last}); "
        f"its output:\n{output[-5000:]}"
    )
    raise RuntimeError(msg)


@pytest.fixture
def web_database_url(database_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's test server; dropped after the test."""
    name = f"vangnet_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    try:
        yield make_conninfo(database_url, dbname=name)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))


@dataclass
class WebServer:
    url: str
    port: int
    database_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def web_server_factory(
    idp: Idp, web_database_url: str, tmp_path: Path
) -> Iterator[Callable[..., WebServer]]:
    """``start(extra_env=None) -> WebServer``: the web app on ``idp.web_port``, fresh database.

    One server per test at a time (the IdP's redirect URI fixes the port); stopped afterwards.
    """
    started: list[WebServer] = []

    def start(extra_env: Mapping[str, str] | None = None) -> WebServer:
        if started:
            msg = "one web server per test: the IdP's redirect URI fixes its port"
            raise RuntimeError(msg)
        url = f"http://127.0.0.1:{idp.web_port}"
        env = {
            "DATABASE_URL": web_database_url,
            "VANGNET_DATA_DIR": str(tmp_path / "vangnet-data"),
            "VANGNET_MASTER_KEY": TEST_MASTER_KEY_B64,
            "VANGNET_SECRET_KEY": E2E_SECRET_KEY_B64,
            "VANGNET_PUBLIC_URL": url,
            "VANGNET_OPERATOR_ISSUER": idp.issuer,
            "VANGNET_OPERATOR_CLIENT_ID": idp.client_id,
            "VANGNET_OPERATOR_SECRET_REF": "env:VANGNET_IDP_SECRET_E2E",
            "VANGNET_IDP_SECRET_E2E": idp.client_secret,
            # The test IdP runs on http://127.0.0.1:<port>.
            "VANGNET_LOOPBACK_ISSUERS": "1",
            **(extra_env or {}),
        }
        log_path = tmp_path / "web.log"
        process = start_web(env, idp.web_port, log_path=log_path)
        server = WebServer(
            url=url,
            port=idp.web_port,
            database_url=web_database_url,
            env=env,
            process=process,
            log_path=log_path,
        )
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_process(server.process)


@pytest.fixture
def web_server(web_server_factory: Callable[..., WebServer]) -> WebServer:
    """The web app with the default test environment (see ``web_server_factory``)."""
    return web_server_factory()
