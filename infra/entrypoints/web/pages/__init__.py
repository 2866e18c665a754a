"""The server-rendered Dutch web UI (Jinja templates in ``infra/entrypoints/web/templates``, a
little
HTMX).

One module per resource: ``cases`` (my cases, all cases, a new report, the case page and one
form per case action), ``audit`` (a case's history, state as of a moment, differences and access
log, for auditors), ``exports`` (the case file as PDF or JSON), ``school`` (signals, lessons,
protocol, school statistics), ``pupils`` (the pupil register and a pupil's chronology),
``board`` (statistics across the board's schools), ``operator`` (boards, schools, their
configuration), ``attachments`` (evidence files: upload and open), ``reporting`` (the public
report form and the reporter's follow-up, without login).
Handlers are thin: who is looking, may they, one query or service call, a template.
"""

from __future__ import annotations

from typing import Any

from infra.entrypoints.web.pages.attachments import ATTACHMENT_ROUTES
from infra.entrypoints.web.pages.audit import AUDIT_PAGE_ROUTES
from infra.entrypoints.web.pages.board import BOARD_PAGE_ROUTES
from infra.entrypoints.web.pages.cases import CASE_PAGE_ROUTES
from infra.entrypoints.web.pages.complaints_procedure import COMPLAINTS_PROCEDURE_PAGE_ROUTES
from infra.entrypoints.web.pages.exports import EXPORT_PAGE_ROUTES
from infra.entrypoints.web.pages.handover import HANDOVER_PAGE_ROUTES
from infra.entrypoints.web.pages.handover_receipt import HANDOVER_RECEIPT_PAGE_ROUTES
from infra.entrypoints.web.pages.operator import OPERATOR_PAGE_ROUTES
from infra.entrypoints.web.pages.pupils import PUPIL_PAGE_ROUTES
from infra.entrypoints.web.pages.reporting import PUBLIC_REPORT_ROUTES
from infra.entrypoints.web.pages.school import SCHOOL_PAGE_ROUTES
from infra.entrypoints.web.pages.yearly import YEARLY_PAGE_ROUTES

PAGE_ROUTES: list[Any] = [
    *ATTACHMENT_ROUTES,
    *COMPLAINTS_PROCEDURE_PAGE_ROUTES,
    *CASE_PAGE_ROUTES,
    *AUDIT_PAGE_ROUTES,
    *EXPORT_PAGE_ROUTES,
    *SCHOOL_PAGE_ROUTES,
    *PUPIL_PAGE_ROUTES,
    *HANDOVER_PAGE_ROUTES,
    *HANDOVER_RECEIPT_PAGE_ROUTES,
    *BOARD_PAGE_ROUTES,
    *YEARLY_PAGE_ROUTES,
    *OPERATOR_PAGE_ROUTES,
    *PUBLIC_REPORT_ROUTES,
]
