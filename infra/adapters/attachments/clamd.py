"""The virus scanner: ClamAV's ``clamd`` over its socket (``INSTREAM``), through the maintained
``clamav-client`` package. Which scanner a process uses follows the settings
(:func:`scanner_from_settings`)."""

from __future__ import annotations

import io
import logging
from urllib.parse import urlparse

from clamav_client.clamd import (
    BufferTooLongError,
    ClamdError,
    ClamdNetworkSocket,
    ClamdUnixSocket,
)

from infra.config.settings import Settings
from services.attachments.scanning import (
    NoScanner,
    ScannerUnavailable,
    UnscannedDemo,
    VirusScanner,
)

log = logging.getLogger(__name__)

#: Seconds one scan may take (a 20 MB office document takes well under a second).
TIMEOUT_SECONDS = 60


class ClamdScanner:
    """:class:`~services.attachments.scanning.VirusScanner` on a clamd at ``address``
    (``unix:///path``, ``/path`` or ``tcp://host:port``)."""

    def __init__(self, address: str, timeout: float = TIMEOUT_SECONDS) -> None:
        parsed = urlparse(address)
        self.address = address
        self._client: ClamdNetworkSocket
        if parsed.scheme == "tcp":
            if parsed.hostname is None or parsed.port is None:
                msg = "VANGNET_CLAMD_ADDRESS: tcp:// needs a host and a port"
                raise ValueError(msg)
            self._client = ClamdNetworkSocket(parsed.hostname, parsed.port, timeout)
        elif parsed.scheme in ("unix", ""):
            path = parsed.path if parsed.scheme == "unix" else address
            self._client = ClamdUnixSocket(path, int(timeout))
        else:
            msg = "VANGNET_CLAMD_ADDRESS must be unix:///path, a socket path or tcp://host:port"
            raise ValueError(msg)

    def ping(self) -> bool:
        try:
            return self._client.ping() == "PONG"
        except (ClamdError, OSError):
            return False

    def scan(self, content: bytes) -> str | None:
        try:
            result = self._client.instream(io.BytesIO(content))
        except BufferTooLongError:
            # clamd's StreamMaxLength is below Vangnet's limit: refuse rather than store unscanned.
            msg = "the file is larger than the virus scanner takes (clamd StreamMaxLength)"
            raise ScannerUnavailable(msg) from None
        except (ClamdError, OSError) as e:
            log.warning("clamd did not answer: %s", type(e).__name__)
            msg = "the virus scanner did not answer"
            raise ScannerUnavailable(msg) from None
        status, found = result.get("stream", ("ERROR", None))
        if status == "OK":
            return None
        if status == "FOUND":
            return str(found)
        log.warning("clamd could not scan a file: %s", status)
        msg = "the virus scanner could not scan the file"
        raise ScannerUnavailable(msg)


def scanner_from_settings(settings: Settings) -> VirusScanner:
    """clamd when configured; else the embedded demo accepts files unscanned and every other
    deployment refuses them (:class:`~services.attachments.scanning.NoScanner`)."""
    if settings.clamd_address:
        return ClamdScanner(settings.clamd_address)
    if settings.embedded:
        return UnscannedDemo()
    return NoScanner()
