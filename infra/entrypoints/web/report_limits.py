"""Rate limits of the public report form and the follow-up with a code (issue 14 §3).

Counted by the ``limits`` library (moving window) in the storage the settings name: memory in
one process (the embedded demo) or Redis shared by every web process. Keys never hold a code or
an address in the clear: the address and the case a code names are hashed (SHA-256, truncated)
with the school's slug. Only refusals are logged, one line each: school slug and reason (never
the code, the address or anything typed).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import limits
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from infra.config.settings import Settings

log = logging.getLogger("vangnet.public_report")

_STATE_KEY = "report_limits"


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def log_refusal(slug: str, reason: str) -> None:
    """The one log line of a refused public request (slug and reason only)."""
    log.warning("public report refused: school=%s reason=%s", slug, reason)


@dataclass
class ReportLimits:
    """The form's three limits over one storage."""

    storage: Storage
    per_address: Any
    code_per_address: Any
    code_per_code: Any

    @classmethod
    def from_settings(cls, settings: Settings) -> ReportLimits:
        storage = storage_from_string(settings.report_rate_storage)
        assert isinstance(storage, Storage)  # memory:// and redis:// are synchronous
        return cls(
            storage=storage,
            per_address=limits.parse(settings.report_rate_per_address),
            code_per_address=limits.parse(settings.code_rate_per_address),
            code_per_code=limits.parse(settings.code_rate_per_code),
        )

    @property
    def _limiter(self) -> MovingWindowRateLimiter:
        return MovingWindowRateLimiter(self.storage)

    def report_allowed(self, slug: str, address: str) -> bool:
        """Count one report from ``address``; False when over the limit."""
        return self._limiter.hit(self.per_address, "report", _key(slug, address))

    def session_allowed(self, slug: str, address: str) -> bool:
        """Count one new session of a visitor without one (a row in the session store each):
        at the follow-up attempts' rate per address, in a count of its own."""
        return self._limiter.hit(self.code_per_address, "session", _key(slug, address))

    def receipt_allowed(self, address: str) -> bool:
        """Count one request to a hand-over receipt link (``/overdracht/...``, issue 15 §5) from
        ``address``, at the follow-up attempts' rate, in a count of its own."""
        return self._limiter.hit(self.code_per_address, "receipt", _key("overdracht", address))

    def code_allowed(self, slug: str, address: str, case_ref: str | None) -> str | None:
        """Count one follow-up attempt; the reason it is refused (``None``: go ahead). Both
        counts are taken, so a refused burst keeps counting against the address and the case.
        ``case_ref``: the case the code names (``None`` for something not shaped like a code:
        it counts against the address only, so nonsense cannot use up a shared count)."""
        by_address = self._limiter.hit(self.code_per_address, "code-address", _key(slug, address))
        by_code = case_ref is None or self._limiter.hit(
            self.code_per_code, "code", _key(slug, case_ref)
        )
        if not by_address:
            return "rate_address"
        if not by_code:
            return "rate_code"
        return None


def report_limits(state: Any, settings: Settings) -> ReportLimits:
    """The app's limits (made on first use and kept on ``app.state``)."""
    found = state.get(_STATE_KEY)
    if isinstance(found, ReportLimits):
        return found
    made = ReportLimits.from_settings(settings)
    state[_STATE_KEY] = made
    return made
