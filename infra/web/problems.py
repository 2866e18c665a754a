"""Errors as problem details (RFC 9457) for the API, and as a Dutch page for the browser.

Every domain error has a stable ``code``; the HTTP status follows from its class. The API answer
carries the domain's message (English, names what is wrong, never personal data); the page shows a
Dutch sentence for the code. Unexpected errors are logged with their class only (a message could
quote case text) and answered without details.
"""

from __future__ import annotations

import logging
from typing import Any

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
)

from infra.web.edge import Refused
from services.shared.errors import (
    ConcurrencyConflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
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
    "validation": "Het formulier is niet volledig of niet juist ingevuld.",
    "invalid_body": "De verzonden gegevens konden niet worden gelezen.",
    "unsupported_media": "Dit soort gegevens kan hier niet worden verzonden.",
    "too_large": "De verzonden gegevens zijn te groot.",
    "method_not_allowed": "Deze handeling kan hier niet.",
    "server_error": "Er ging iets mis. Probeer het later opnieuw.",
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


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = status_for(exc)
    if is_api(request):
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInput) and exc.field is not None:
            extra["errors"] = [{"field": exc.field, "reason": exc.reason, "message": str(exc)}]
        return problem(status, exc.code, exc.code.replace("_", " "), str(exc), **extra)
    return error_page(status, exc.code)


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    if is_api(request):
        from infra.web.validation import field_errors

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
        code = "permission_denied"
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
    # The class name only: an exception's message may quote case content.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.scope["path"])
    if is_api(request):
        return problem(
            HTTP_500_INTERNAL_SERVER_ERROR, "server_error", "server error", "unexpected error"
        )
    return error_page(HTTP_500_INTERNAL_SERVER_ERROR, "server_error")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: on_unexpected,
}
