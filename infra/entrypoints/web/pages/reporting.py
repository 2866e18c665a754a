"""The school's public report form ("Pesten melden") and the reporter's follow-up, without login
(issue 14 §3): ``/melden/{school}`` and ``/melden/{school}/volgen``.

- The school comes from the slug; an unknown (or offboarded) slug is the plain 404 page.
- A report becomes a new case (:class:`services.reporting.service.PublicReports`); the page
  that answers it shows the follow-up code once (never stored, never e-mailed, never in a URL:
  codes travel in POST bodies only, and these pages are never cached).
- CSRF: the token is bound to the session (:mod:`infra.entrypoints.web.csrf`), and an anonymous
  visitor
  has
  none, so the form page first gives the visitor a session (a redirect to itself that sets the
  cookie) and then carries its token like every other form.
- Abuse: rate limits per network address and per code (:mod:`infra.entrypoints.web.report_limits`),
  a
  honeypot field, the edge's body limit; every refusal is one log line (school slug, reason).
"""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from infra.entrypoints.web.context import Services
from infra.entrypoints.web.guards import PUBLIC
from infra.entrypoints.web.reads import access_log
from infra.entrypoints.web.report_limits import log_refusal, report_limits
from services.audit.access_log import ReadKind
from services.reporting.service import (
    REPORTER_LABELS_NL,
    CodeRefused,
    PublicReport,
    PublicReports,
    ReporterRole,
)
from services.shared.actor import PUBLIC_REPORTER
from services.shared.errors import InvalidInput, NotFound, RuleViolation
from tenants.registry import School

BASE = "/melden/{slug:str}"
#: The honeypot: a field people never see or fill in (hidden by the style sheet).
HONEYPOT = "website"
#: The public pages are never kept by a browser or a proxy (a code is on some of them).
NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
TEXT_FIELDS = ("what", "where", "since", "who", "name", "contact")

FIELD_ERRORS_NL = {
    "required": "Vul dit in.",
    "too_long": "Dit is te lang. Maak het wat korter.",
    "unsafe_characters": "Hierin staat een teken dat niet kan. Haal het weg.",
    "not_text": "Vul tekst in.",
    "unknown_choice": "Kies een van de mogelijkheden.",
}
REPORTER_OPTIONS = [(role.value, REPORTER_LABELS_NL[role]) for role in ReporterRole]


def _page(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"public/{name}.html",
        context=context,
        status_code=status_code,
        headers=NO_STORE,
    )


async def _school(request: Request[Any, Any, Any], slug: str) -> School:
    """The school of ``slug``; 404 for anything else (no more said than that)."""
    registry = Services.of(request.app.state).registry
    try:
        return await anyio.to_thread.run_sync(lambda: registry.school_by_slug(slug))
    except (NotFound, InvalidInput, ValueError):
        raise NotFoundException("not found") from None


def _reports(request: Request[Any, Any, Any], school: School) -> PublicReports:
    return Services.of(request.app.state).container.public_reports(school.id)


def _address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _limits(request: Request[Any, Any, Any]) -> Any:
    state: State = request.app.state
    return report_limits(state, Services.of(state).settings)


async def _with_session(
    request: Request[Any, Any, Any], slug: str, path: str, again: str | None
) -> Redirect | None:
    """A first visit gets a session (for the form's CSRF token) by coming back once. Sessions
    are rows in the session store: past the rate per address, the page is shown without one
    (the danger notice is always there; the form then cannot be sent)."""
    session = request.scope.get("session")
    if (isinstance(session, dict) and session) or again is not None:
        return None
    limiter = _limits(request)
    allowed = await anyio.to_thread.run_sync(
        lambda: limiter.session_allowed(slug, _address(request))
    )
    if not allowed:
        log_refusal(slug, "rate_session")
        return None
    request.set_session({"public_form": True})
    return Redirect(f"{path}?sessie=1", status_code=303, headers=NO_STORE)


@get(BASE, name="public-report-form", include_in_schema=False, opt=PUBLIC)
async def report_form(
    request: Request[Any, Any, Any], slug: FromPath[str], sessie: FromQuery[str | None] = None
) -> Template | Redirect:
    """The form, with what happens next and where to go in danger."""
    school = await _school(request, slug)
    again = await _with_session(request, school.slug, f"/melden/{school.slug}", sessie)
    if again is not None:
        return again
    return _page("report", school=school, values={}, errors={}, options=REPORTER_OPTIONS)


@post(BASE, name="public-report-submit", include_in_schema=False, opt=PUBLIC, status_code=200)
async def report_submit(request: Request[Any, Any, Any], slug: FromPath[str]) -> Template:
    school = await _school(request, slug)
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in (*TEXT_FIELDS, "reporter")}
    anonymous = form.get("anonymous") == "ja" or not values["name"].strip()
    if str(form.get(HONEYPOT) or ""):
        log_refusal(school.slug, "honeypot")
        return _page("refused", status_code=400, school=school, reason="honeypot")
    limiter = _limits(request)
    allowed = await anyio.to_thread.run_sync(
        lambda: limiter.report_allowed(school.slug, _address(request))
    )
    if not allowed:
        log_refusal(school.slug, "rate_report")
        return _page("refused", status_code=429, school=school, reason="rate")
    report = PublicReport(
        reporter=values["reporter"],
        anonymous=anonymous,
        what=values["what"],
        where=values["where"],
        since=values["since"],
        who=values["who"],
        name="" if anonymous else values["name"],
        contact="" if anonymous else values["contact"],
    )
    reports = _reports(request, school)
    try:
        filed = await anyio.to_thread.run_sync(lambda: reports.file(report))
    except InvalidInput as e:
        errors = {e.field or "what": FIELD_ERRORS_NL.get(e.reason or "", "Dit klopt niet.")}
        return _page(
            "report",
            status_code=400,
            school=school,
            values={**values, "anonymous": "ja" if anonymous else ""},
            errors=errors,
            options=REPORTER_OPTIONS,
        )
    return _page("report_done", school=school, code=filed.code)


@get(f"{BASE}/volgen", name="public-report-follow", include_in_schema=False, opt=PUBLIC)
async def follow_form(
    request: Request[Any, Any, Any], slug: FromPath[str], sessie: FromQuery[str | None] = None
) -> Template | Redirect:
    """Where the reporter types their code."""
    school = await _school(request, slug)
    again = await _with_session(request, school.slug, f"/melden/{school.slug}/volgen", sessie)
    if again is not None:
        return again
    return _page("follow", school=school)


@post(
    f"{BASE}/volgen",
    name="public-report-status",
    include_in_schema=False,
    opt=PUBLIC,
    status_code=200,
)
async def follow_status(
    request: Request[Any, Any, Any], slug: FromPath[str]
) -> Template | Response[Any]:
    """The status and the messages the code opens; with ``bericht``, the reporter writes."""
    school = await _school(request, slug)
    form = await request.form()
    code = str(form.get("code") or "").strip()
    message = str(form.get("bericht") or "")
    reports = _reports(request, school)
    parsed = reports.parse(code)
    limiter = _limits(request)
    case_ref = str(parsed.case_id) if parsed else None
    reason = await anyio.to_thread.run_sync(
        lambda: limiter.code_allowed(school.slug, _address(request), case_ref)
    )
    if reason is not None:
        log_refusal(school.slug, reason)
        return _page("refused", status_code=429, school=school, reason="rate")

    async def shown(page: str, status_code: int = 200, **context: Any) -> Template:
        # The code opened the case: the read is recorded before its status and messages are
        # shown (a failing record fails the page).
        assert parsed is not None  # a code that opened a case parsed
        await access_log(Services.of(request.app.state), school).record(
            PUBLIC_REPORTER, parsed.case_id, ReadKind.REPORTER_STATUS
        )
        return _page(page, status_code=status_code, school=school, code=code, **context)

    try:
        if message.strip():
            view = await anyio.to_thread.run_sync(lambda: reports.post(code, message))
        else:
            view = await anyio.to_thread.run_sync(lambda: reports.view(code))
    except CodeRefused as e:
        log_refusal(school.slug, e.reason)
        return _page("follow", status_code=403, school=school, wrong=True)
    except InvalidInput as e:
        view = await anyio.to_thread.run_sync(lambda: reports.view(code))
        error = FIELD_ERRORS_NL.get(e.reason or "", "Dit klopt niet.")
        return await shown("status", 400, view=view, error=error, draft=message)
    except RuleViolation:
        view = await anyio.to_thread.run_sync(lambda: reports.view(code))
        return await shown(
            "status", 409, view=view, draft="",
            error="Deze melding is afgerond. Je kunt hier geen bericht meer sturen.",
        )  # fmt: skip
    return await shown("status", view=view, sent=bool(message.strip()))


PUBLIC_REPORT_ROUTES = [report_form, report_submit, follow_form, follow_status]
