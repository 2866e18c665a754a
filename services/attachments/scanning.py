"""The virus scan every attachment passes before it is stored (ClamAV's ``clamd`` in production:
``infra.adapters.attachments.clamd``). A port, so the rules here know nothing of sockets."""

from __future__ import annotations

from typing import Protocol

from services.shared.errors import InvalidInput, Unavailable


class ScannerMissing(Unavailable):
    """No virus scanner is configured: attachments are refused (except in the embedded demo)."""

    code = "scanner_missing"


class ScannerUnavailable(Unavailable):
    """The configured scanner did not answer (or could not finish the scan): nothing stored."""

    code = "scanner_unavailable"


class VirusScanner(Protocol):
    """Scans bytes. Returns ``None`` when clean, else the name of what was found; raises
    :class:`ScannerUnavailable` when it could not tell."""

    def scan(self, content: bytes) -> str | None: ...


class NoScanner:
    """No scanner configured: every upload is refused with :class:`ScannerMissing`."""

    def scan(self, content: bytes) -> str | None:  # noqa: ARG002
        msg = "no virus scanner is configured (VANGNET_CLAMD_ADDRESS): attachments are refused"
        raise ScannerMissing(msg)


class UnscannedDemo:
    """The embedded demo's stand-in: accepts every file unscanned (README says so)."""

    def scan(self, content: bytes) -> str | None:  # noqa: ARG002
        return None


def must_be_clean(scanner: VirusScanner, content: bytes) -> None:
    """Refuse content in which the scanner found something (the finding's name is not personal
    data: it names a signature)."""
    found = scanner.scan(content)
    if found is not None:
        msg = f"the virus scanner refused the file ({found})"
        raise InvalidInput(msg, field="file", reason="virus_found")
