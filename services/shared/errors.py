"""Domain errors: every refused command raises one of these, before any event is stored.

Each error has a stable ``code`` (for the API and for Dutch UI texts) and a message in plain
English that names what is missing. Messages never contain personal data or free text from a
case: they name identifiers and kinds only.

Besides the message, an error carries the same facts in a structured form, so the web pages can
say in Dutch exactly what is missing (``infra.entrypoints.web.refusals``) and API clients need not
parse
English:

- ``reason``: a stable word for which variant of a rule refused (e.g. ``withdrawn``,
  ``skips_level``, ``intake_recorded``; for :class:`InvalidInput` what is wrong with the field);
- ``field``: the input field to blame, when there is one;
- ``missing``: what has to be recorded first, as stable words (e.g. ``evaluation``);
- ``details``: the identifiers, kinds and levels the message names (JSON values; never free
  text or personal data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A command was refused. Nothing was stored (the one exception: :class:`ErasureIncomplete`,
    which says what was)."""

    code = "domain_error"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        field: str | None = None,
        missing: tuple[str, ...] = (),
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.field = field
        self.missing = tuple(missing)
        self.details: dict[str, Any] = dict(details or {})


class InvalidInput(DomainError):
    """Input that is not acceptable. ``field`` names the input field when one is to blame
    (the API's problem details and the forms show it there); ``reason`` is a stable word for
    what is wrong with it (e.g. ``required``, ``too_long``, ``unsafe_characters``)."""

    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class SchoolNotFound(NotFound):
    code = "school_not_found"


class CaseNotFound(NotFound):
    code = "case_not_found"


class NotYetReported(NotFound):
    """The case did not exist yet at the moment asked for (its history starts later)."""

    code = "not_yet_reported"


class PermissionDenied(DomainError):
    code = "permission_denied"


class ConcurrencyConflict(DomainError):
    """Someone else changed the case at the same time; reload and try again."""

    code = "conflict"


class StaleVersion(ConcurrencyConflict):
    """The command was made against an older version of the case than the stored one."""

    code = "stale_version"


class RuleViolation(DomainError):
    """One of the case's invariants (DESIGN.md §3) refused the command."""

    code = "rule_violation"


class ConsentMissing(RuleViolation):
    code = "consent_missing"


class OffenceNotFlagged(RuleViolation):
    code = "offence_not_flagged"


class ComplaintLevelError(RuleViolation):
    code = "complaint_level"


class CloseNotAllowed(RuleViolation):
    code = "close_not_allowed"


class CaseClosed(RuleViolation):
    code = "case_closed"


class WrongState(RuleViolation):
    code = "wrong_state"


class IntegrityViolation(DomainError):
    """A stored event fails its integrity check: its bytes were changed, or it was moved there
    from another case, version, type or log (by someone writing to the database directly).
    Never the user's fault; the message names ids only (notification, case, version)."""

    code = "integrity_error"

    def __init__(
        self,
        message: str,
        *,
        notification_id: int | None = None,
        originator_id: object = None,
        originator_version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.notification_id = notification_id
        self.originator_id = originator_id
        self.originator_version = originator_version


class Unavailable(DomainError):
    """The command could not be carried out now (it was not refused): try again shortly."""

    code = "unavailable"


class ErasureUnavailable(Unavailable):
    """An erasure could not be prepared (the school's views could not be locked or reached):
    nothing was stored and nothing was erased."""

    code = "erasure_unavailable"


class ErasureIncomplete(Unavailable):
    """The erasure request IS recorded, but a step after it failed (the views' purge could not
    be committed, or the pupils' keys could not be destroyed). The recorded request still purges
    the views when they apply it; repeating the erasure finishes the rest. The one error raised
    after something was stored."""

    code = "erasure_incomplete"
