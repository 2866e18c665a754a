"""The API keeps the promises of its OpenAPI document (schemathesis, bounded, reproducible).

The app is served by uvicorn on a free port on the test database (real PostgreSQL) with the
in-process worker, exactly as ``vangnet serve`` runs it; schemathesis (``st run``, in a child
process) reads ``/schema/openapi.json`` and runs every phase against every operation — the
documented examples, the coverage phase's edge values, random valid and invalid requests, and
stateful sequences along the links it infers (a reported case's id feeding the case actions) —
as staff of one school (the contact person, and for the operations that need another role, that
role). The attachment upload is scanned by a real clamd (``tests/integration/clamav.py``: the
test fails in CI without it and is skipped elsewhere). Its configuration (seed, example budget,
checks) is
``tests/integration/schemathesis.toml``. Any server error or answer outside the document fails
the test, with schemathesis's report (each failure with a ``curl`` line to reproduce it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.web.app import create_app
from infra.entrypoints.worker.inprocess import start_inprocess_worker
from services.access.roles import Role
from tests.integration.clamav import clamd_address  # noqa: F401 (fixture)
from tests.integration.web import (
    FakeIssuer,
    configure_fake_login,
    make_world,
    school_group,
    web_settings,
)

CONFIG = Path(__file__).with_name("schemathesis.toml")
#: The roles of the token: contact person by default, the others where the configuration's
#: operations ask for them (X-Vangnet-Role), so that every operation can succeed.
FUZZ_ROLES = (
    Role.CONTACT_PERSON,
    Role.COORDINATOR,
    Role.BOARD,
    Role.AUDITOR,
    Role.SCHOOL_CONTACT,
    Role.MANAGEMENT,
)
#: Generous: the run takes one to two minutes here; this only stops a hung run.
RUN_TIMEOUT = 900


@dataclass(frozen=True)
class Served:
    url: str
    token: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def scanned(test_settings: Settings, clamd_address: str) -> Iterator[Container]:  # noqa: F811
    """The test container with a real clamd, so the upload operation runs to its end."""
    with Container.open(dataclasses.replace(test_settings, clamd_address=clamd_address)) as c:
        yield c


@pytest.fixture
def served(scanned: Container) -> Iterator[Served]:
    container = scanned
    world = make_world(container, "fuzz")
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    worker = start_inprocess_worker(container)
    app = create_app(web_settings(container), container=container, http_transport=issuer.transport)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="fuzz-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            time.sleep(0.05)
        token = issuer.token(
            "test-fuzz-staff",
            [school_group(world.school_a, role) for role in FUZZ_ROLES],
            ttl=2 * RUN_TIMEOUT,
        )
        yield Served(url=f"http://127.0.0.1:{port}", token=token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        worker.wait_until_idle()
        worker.stop()


def pairs(ndjson: Path) -> tuple[int, dict[tuple[str, str], set[str]]]:
    """From schemathesis's event stream: how many (operation, check) pairs ran, and for each
    pair that failed at least once, the failure codes."""
    ran: set[tuple[str, str]] = set()
    failed: dict[tuple[str, str], set[str]] = {}
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario["recorder"]
        for results in recorder.get("checks", {}).values():
            for check in results:
                pair = (recorder["label"], check["name"])
                ran.add(pair)
                if check["status"] == "failure":
                    code = check["failure_info"]["failure"]["code"]
                    failed.setdefault(pair, set()).add(code)
    return len(ran), failed


def test_the_api_keeps_the_promises_of_its_openapi_document(served: Served, tmp_path: Path) -> None:
    ndjson = tmp_path / "events.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{served.url}/schema/openapi.json",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(ndjson),
    ]
    env = os.environ | {"VANGNET_FUZZ_TOKEN": served.token}
    # Run in tmp_path: schemathesis keeps its crash records in ./.schemathesis.
    result = subprocess.run(
        command,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    total, failed = pairs(ndjson)
    summary = f"{len(failed)} of {total} operation x check pairs failed: {sorted(failed)}"
    # Shown with -s (short when it passes: phases, links covered, warnings, counts).
    print(summary, result.stdout[-8_000:], sep="\n")
    assert result.returncode == 0, summary + "\n" + result.stdout[-25_000:] + result.stderr[-5_000:]
    assert total > 0, "schemathesis ran no checks"
