"""Errors as problem details (RFC 9457) for the API, and as a Dutch page for the browser.

Every domain error has a stable ``code``; the HTTP status follows from its class. The API answer
carries the domain's message (English, names what is wrong, never personal data); the page shows a
Dutch sentence for the code. Unexpected errors are logged with their class only (a message could
quote case text) and answered without details.
"""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.domain import OriginatorVersionError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from prometheus_client import Counter

from infra.entrypoints.web.logs import route_template
from infra.entrypoints.web.validation import field_errors
from services.shared.errors import (
    ConcurrencyConflict,
    DomainError,
    IntegrityViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    Unavailable,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://vangnet.invalid/problems/"

#: Dutch sentences for the browser, by error code (fallback by class below).
DUTCH_TITLES: dict[str, str] = {
    "invalid_input": "De invoer klopt niet.",
    "not_found": "Niet gevonden.",
    "school_not_found": "Deze school bestaat niet.",
    "case_not_found": "Deze zaak bestaat niet of u heeft er geen toegang toe.",
    "not_yet_reported": "Op dat moment was deze zaak nog niet gemeld.",
    "permission_denied": "U heeft geen toestemming voor deze handeling.",
    "conflict": "Iemand anders heeft de zaak intussen gewijzigd. Laad de pagina opnieuw.",
    "stale_version": "Iemand anders heeft de zaak intussen gewijzigd. Laad de pagina opnieuw.",
    "rule_violation": "Deze stap kan nu niet volgens de werkwijze.",
    "consent_missing": "Leg eerst de toestemming van leerling en ouders vast.",
    "offence_not_flagged": "Leg eerst vast dat er sprake is van een strafbaar feit.",
    "complaint_level": "Deze klacht ligt op een ander niveau.",
    "close_not_allowed": "De zaak kan nog niet worden afgesloten.",
    "case_closed": "De zaak is afgesloten.",
    "wrong_state": "Dit kan niet in de huidige fase van de zaak.",
    "unauthorized": "U bent niet (meer) ingelogd.",
    "csrf_failed": (
        "Dit formulier hoort niet bij uw huidige sessie (of is verlopen). Laad de pagina "
        "opnieuw en probeer het nog eens."
    ),
    "validation": "Het formulier is niet volledig of niet juist ingevuld.",
    "invalid_body": "De verzonden gegevens konden niet worden gelezen.",
    "unsupported_media": "Dit soort gegevens kan hier niet worden verzonden.",
    "too_large": "De verzonden gegevens zijn te groot.",
    "method_not_allowed": "Deze handeling kan hier niet.",
    "server_error": "Er ging iets mis. Probeer het later opnieuw.",
    "integrity_error": (
        "De opgeslagen geschiedenis van deze zaak is buiten Vangnet om gewijzigd of beschadigd. "
        "De beheerder is gewaarschuwd."
    ),
    "unavailable": "Dit kan nu even niet. Probeer het over een paar minuten opnieuw.",
    "erasure_unavailable": (
        "De leerlinggegevens konden nu niet worden gewist. Er is niets gewijzigd. "
        "Probeer het over een paar minuten opnieuw."
    ),
    "erasure_incomplete": (
        "Het wissen is vastgelegd, maar nog niet helemaal afgerond. "
        "Kies nogmaals 'Leerlinggegevens wissen' om het af te maken."
    ),
}


def status_for(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return HTTP_404_NOT_FOUND
    if isinstance(error, PermissionDenied):
        return HTTP_403_FORBIDDEN
    if isinstance(error, ConcurrencyConflict):
        return HTTP_409_CONFLICT
    if isinstance(error, RuleViolation | InvalidInput):
        return HTTP_422_UNPROCESSABLE_ENTITY
    if isinstance(error, Unavailable):
        return HTTP_503_SERVICE_UNAVAILABLE
    return HTTP_400_BAD_REQUEST


def dutch_title(code: str) -> str:
    return DUTCH_TITLES.get(code, DUTCH_TITLES["rule_violation"])


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def error_page(
    status: int, code: str, detail: str = "", headers: dict[str, str] | None = None
) -> Response[Any]:
    return Template(
        template_name="error.html",
        context={"status": status, "title": dutch_title(code), "detail": detail, "code": code},
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers,
    )


def refusal_facts(exc: DomainError) -> dict[str, Any]:
    """The refusal's structured facts for API clients (``reason``, ``missing``, ``details``),
    only those the error has: the same things its English message names."""
    facts: dict[str, Any] = {}
    if exc.reason is not None:
        facts["reason"] = str(exc.reason)
    if exc.missing:
        facts["missing"] = list(exc.missing)
    if exc.details:
        facts["details"] = exc.details
    return facts


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = status_for(exc)
    if is_api(request):
        extra: dict[str, Any] = refusal_facts(exc)
        if isinstance(exc, InvalidInput) and exc.field is not None:
            extra["errors"] = [{"field": exc.field, "reason": exc.reason, "message": str(exc)}]
        return problem(status, exc.code, exc.code.replace("_", " "), str(exc), **extra)
    return error_page(status, exc.code)


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    if is_api(request):
        errors = field_errors(request, exc)
        detail = "; ".join(e["message"] for e in errors) or "the request does not match the schema"
        return problem(HTTP_400_BAD_REQUEST, "validation", "invalid request", detail, errors=errors)
    return error_page(HTTP_400_BAD_REQUEST, "validation")


#: Codes of HTTP errors by status (the API's problem ``code``; the page's Dutch title).
HTTP_CODES: dict[int, str] = {
    HTTP_403_FORBIDDEN: "permission_denied",
    HTTP_404_NOT_FOUND: "not_found",
    HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: "too_large",
    HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media",
}


class Refused(HTTPException):
    """A request refused before any handler (the edge gate, :mod:`infra.entrypoints.web.edge`);
    ``code``
    is the problem's stable code."""

    code = "invalid_body"


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == HTTP_401_UNAUTHORIZED or isinstance(exc, NotAuthorizedException):
        if is_api(request):
            response = problem(HTTP_401_UNAUTHORIZED, "unauthorized", "unauthorized", exc.detail)
            response.headers["WWW-Authenticate"] = 'Bearer realm="vangnet"'
            return response
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return Redirect(f"/login?next={target}" if request.method == "GET" else "/login")
    code = HTTP_CODES.get(status, "invalid_input" if status < 500 else "server_error")
    if isinstance(exc, PermissionDeniedException):
        # A refusal may name its own code (the CSRF check: infra.entrypoints.web.csrf.CsrfRefused).
        code = getattr(exc, "problem_code", "permission_denied")
    if isinstance(exc, NotFoundException):
        code = "not_found"
    if isinstance(exc, Refused):
        code = exc.code
    # Headers of the error stay (``Allow`` of a 405, ``Retry-After`` of a 503).
    headers = dict(exc.headers or {})
    if is_api(request):
        return problem(status, code, code.replace("_", " "), exc.detail, headers=headers)
    return error_page(status, code, headers=headers)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The class name and the route template only: an exception's message may quote case
    # content, and the concrete path holds case ids.
    log.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, route_template(request.scope)
    )
    if is_api(request):
        return problem(
            HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "server error", "unexpected error"
        )
    return error_page(HTTP_500_INTERNAL_SERVER_ERROR, "server_error")


#: Stored events that failed their integrity check when read: an alert (someone changed the
#: database outside Vangnet, or moved a ciphertext). No labels: no ids in metrics.
INTEGRITY_ERRORS = Counter(
    "vangnet_integrity_errors", "Stored events that failed their integrity check when read"
)


def on_integrity_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A stored event fails its integrity check (or a case's events do not follow each other):
    a clear answer, a counter to alert on, and a log line with the school and position only."""
    if not isinstance(exc, IntegrityViolation):
        exc = IntegrityViolation(
            "the stored events of this case do not follow each other: one was deleted or "
            "moved outside Vangnet"
        )
    INTEGRITY_ERRORS.inc()
    principal = request.scope.get("state", {}).get("principal")
    log.error(
        "integrity error reading the log of school %s at notification #%s",
        getattr(principal, "school_slug", None) or "-",
        exc.notification_id if exc.notification_id is not None else "?",
    )
    if is_api(request):
        return problem(HTTP_500_INTERNAL_SERVER_ERROR, exc.code, "integrity error", str(exc))
    return error_page(HTTP_500_INTERNAL_SERVER_ERROR, exc.code)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    IntegrityViolation: on_integrity_error,
    OriginatorVersionError: on_integrity_error,
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: on_unexpected,
}
