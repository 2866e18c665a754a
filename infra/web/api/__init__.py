"""The JSON API under ``/api/`` (OpenAPI at ``/schema/openapi.json``)."""

from __future__ import annotations

from typing import Any

from infra.web.api.audit import AUDIT_ROUTES
from infra.web.api.cases import CASE_ROUTES
from infra.web.api.exports import EXPORT_ROUTES
from infra.web.api.operator import OPERATOR_ROUTES
from infra.web.api.school import SCHOOL_ROUTES

API_ROUTES: list[Any] = [
    *CASE_ROUTES,
    *AUDIT_ROUTES,
    *EXPORT_ROUTES,
    *SCHOOL_ROUTES,
    *OPERATOR_ROUTES,
]
