"""A real ClamAV ``clamd`` for the tests, started offline.

``freshclam`` cannot reach its mirrors here (CI reaches package registries only), and clamd
refuses to start without a signature database. So the fixture writes a one-line database of its
own: an ``.hdb`` line (MD5 of the EICAR test file, its size, a name: what ``sigtool --md5``
prints) in a directory of the test session, and starts clamd (Debian's ``clamav-daemon``, which
``.ci/run`` installs) with a config of its own on a Unix socket there. A production clamd loads
the official databases, which detect EICAR as well.

``VANGNET_TEST_CLAMD_ADDRESS`` points the tests at a running clamd instead. When neither works
the tests that need it are skipped with the reason, or fail loudly when ``CI`` is set.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.adapters.attachments.clamd import ClamdScanner

#: The EICAR anti-virus test file (not a virus; every scanner detects it). Built from two parts
#: so that this source file itself is not taken for the test file by a scanner on a laptop.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE_NAME = "Vangnet-Test-EICAR"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"clamd unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _wait_for(scanner: ClamdScanner, process: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if scanner.ping():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def clamd_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a clamd that knows the EICAR signature (``unix:///...``)."""
    external = os.environ.get("VANGNET_TEST_CLAMD_ADDRESS")
    if external:
        if not ClamdScanner(external).ping():
            _unavailable(f"VANGNET_TEST_CLAMD_ADDRESS={external} does not answer PING")
        yield external
        return
    binary = shutil.which("clamd") or (
        "/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None
    )
    if binary is None:
        _unavailable("clamd is not installed (Debian package clamav-daemon)")
        return
    home = tmp_path_factory.mktemp("clamd")
    database = home / "db"
    database.mkdir()
    md5 = hashlib.md5(EICAR).hexdigest()
    (database / "vangnet-test.hdb").write_text(f"{md5}:{len(EICAR)}:{SIGNATURE_NAME}\n")
    socket = home / "clamd.sock"
    lines = [
        f"DatabaseDirectory {database}",
        f"LocalSocket {socket}",
        f"PidFile {home / 'clamd.pid'}",
        f"LogFile {home / 'clamd.log'}",
        "Foreground yes",
        "StreamMaxLength 64M",
    ]
    if os.geteuid() == 0:
        lines.append("User root")  # clamd would otherwise switch to the clamav user
    config = home / "clamd.conf"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    address = f"unix://{socket}"
    try:
        if not _wait_for(ClamdScanner(address), process, 60):
            log = (home / "clamd.log").read_text() if (home / "clamd.log").exists() else ""
            _unavailable(f"clamd did not start: {log[-500:]}")
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
