"""The JSON API under ``/api/`` (OpenAPI at ``/schema/openapi.json``)."""

from __future__ import annotations

from typing import Any

from litestar import Router

from infra.entrypoints.web.api.attachments import ATTACHMENT_API_ROUTES
from infra.entrypoints.web.api.audit import AUDIT_ROUTES
from infra.entrypoints.web.api.cases import CASE_ROUTES
from infra.entrypoints.web.api.complaints_procedure import COMPLAINTS_PROCEDURE_ROUTES
from infra.entrypoints.web.api.exports import EXPORT_ROUTES
from infra.entrypoints.web.api.handover import HANDOVER_ROUTES
from infra.entrypoints.web.api.handover_export import HANDOVER_EXPORT_ROUTES
from infra.entrypoints.web.api.monitor import MONITOR_ROUTES
from infra.entrypoints.web.api.openapi import BEARER
from infra.entrypoints.web.api.operator import OPERATOR_ROUTES
from infra.entrypoints.web.api.people import PEOPLE_ROUTES
from infra.entrypoints.web.api.pupils import PUPIL_ROUTES
from infra.entrypoints.web.api.school import SCHOOL_ROUTES
from infra.entrypoints.web.api.yearly import YEARLY_ROUTES

#: Every API route, behind bearer tokens (the document says so for each operation).
API_ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            *CASE_ROUTES,
            *ATTACHMENT_API_ROUTES,
            *AUDIT_ROUTES,
            *EXPORT_ROUTES,
            *SCHOOL_ROUTES,
            *MONITOR_ROUTES,
            *YEARLY_ROUTES,
            *COMPLAINTS_PROCEDURE_ROUTES,
            *PUPIL_ROUTES,
            *OPERATOR_ROUTES,
            *PEOPLE_ROUTES,
            *HANDOVER_ROUTES,
            *HANDOVER_EXPORT_ROUTES,
        ],
        security=[{BEARER: []}],
    )
]
