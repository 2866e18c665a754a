"""The error answers of the API as its OpenAPI document states them.

Every error is problem details (RFC 9457, built by :func:`infra.entrypoints.web.problems.problem`),
declared
once here as :class:`ProblemDetails`. Each route states the answers it gives with
``responses=problems(...)``: the ones every API operation can give are always there, so a route
names only what its own work adds (404 for a case that is not found, 409 and 422 for a command
the case refuses).
"""

from __future__ import annotations

import dataclasses

from litestar.openapi import ResponseSpec

from infra.entrypoints.web.problems import PROBLEM_JSON


@dataclasses.dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field of the request (``field``: as the client sent it, e.g.
    ``forms[1]``; ``reason``: a stable word such as ``required``, ``too_long``,
    ``not_allowed``, ``wrong_type``, ``out_of_range``, ``invalid_format``)."""

    field: str
    reason: str | None
    message: str


@dataclasses.dataclass(frozen=True)
class ProblemDetails:
    """An error (RFC 9457). ``code`` is stable and machine-readable (``validation``,
    ``case_not_found``, ``consent_missing``, ``stale_version``, ...); ``detail`` says in a
    sentence what is wrong, never with personal data; ``errors`` names the refused fields."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] | None = None


#: What each answer means, as the document says it.
MEANINGS: dict[int, str] = {
    400: "The parameters or the body do not match this document (see ``errors``), or the "
    "request is not UTF-8 or its JSON is malformed or nested too deeply.",
    401: "No bearer access token, or one that is not valid (expired, wrong issuer, audience "
    "or signature).",
    403: "The token's role may not do this.",
    404: "Not found at the caller's school (another school's case is not found either).",
    409: "The case (or record) changed in the meantime: the command was made against an older "
    "version. Reload and decide again.",
    413: "The body is larger than the limit (1 MiB).",
    415: "The body is not sent as application/json.",
    422: "Well formed, but refused by the rules in the current state (e.g. no consent that "
    "covers the step, a complaint level that does not rise, text with control characters).",
    503: "The identity provider's keys cannot be fetched now; try again later.",
}
#: The answers every API operation can give.
ALWAYS = (400, 401, 403, 503)
#: ... and every operation that takes a body.
WITH_BODY = (413, 415)


def problems(*statuses: int, body: bool = False) -> dict[int, ResponseSpec]:
    """The problem answers of an API operation: :data:`ALWAYS`, :data:`WITH_BODY` when it
    takes a body, and ``statuses``."""
    codes = sorted({*ALWAYS, *(WITH_BODY if body else ()), *statuses})
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            description=MEANINGS[code],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in codes
    }
