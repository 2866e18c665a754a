"""The platform operator: boards and schools (onboarding), a school's protocol checklist and its
login settings. Never case content: nothing here reads a school's cases."""

# Real annotation objects for Litestar's signature parsing (see pages/cases.py).

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from infra.bootstrap.views import ensure_school_views
from infra.entrypoints.web.context import Services
from infra.entrypoints.web.forms import REQUIRED_NL, FieldSpec, FormSpec, Option
from infra.entrypoints.web.guards import requires
from infra.entrypoints.web.pages.common import Viewer, render, viewer_of
from infra.entrypoints.web.pages.protocol import parse_protocol, protocol_form
from infra.entrypoints.web.scim import PREFIX, rotate_token
from projections.quarantine import degraded_schools_async
from services.access.roles import Permission, Role
from services.casework.protocol import InvalidProtocol
from services.shared.errors import InvalidInput
from tenants.login import InvalidLoginConfig, LoginPolicy, parse_rule, validate_login
from tenants.registry import Board, School

DUPLICATE_SLUG_NL = "Deze korte naam is al in gebruik. Kies een andere."
INVALID_SLUG_NL = (
    "Gebruik 2 tot 63 kleine letters, cijfers en losse streepjes (-), bijvoorbeeld "
    "de-regenboog-utrecht. Leeg laten mag: dan wordt hij afgeleid van de naam."
)
SLUG_HINT_NL = "Leeg laten leidt hem af van de naam. Kan later niet worden gewijzigd."


def _board_form(
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> FormSpec:
    return FormSpec(
        action="bestuur",
        label="Bestuur toevoegen",
        url="/beheer/besturen",
        fields=[
            FieldSpec("name", "Naam van het bestuur", "text", True, "bestuur-name"),
            FieldSpec(
                "slug", "Korte naam (in adressen)", "text", False, "bestuur-slug", hint=SLUG_HINT_NL
            ),
        ],
        values=values or {},
        errors=errors or {},
    )


def _school_form(
    boards: list[Board], values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> FormSpec:
    return FormSpec(
        action="school",
        label="School toevoegen",
        url="/beheer/scholen",
        fields=[
            FieldSpec(
                "board_slug",
                "Bestuur",
                "select",
                True,
                "school-board-slug",
                options=tuple(Option(b.slug, b.name) for b in boards),
            ),
            FieldSpec("name", "Naam van de school", "text", True, "school-name"),
            FieldSpec(
                "slug", "Korte naam (in adressen)", "text", False, "school-slug", hint=SLUG_HINT_NL
            ),
        ],
        values=values or {},
        errors=errors or {},
    )


def _load_overview(services: Services) -> tuple[list[Board], list[School]]:
    return services.registry.list_boards(), services.registry.list_schools()


#: The views in the operator's words (Dutch).
VIEW_LABELS_NL = {
    "case_view": "zaken en tijdlijn",
    "escalation": "signalen en klachtniveau",
    "board_stats": "bestuursstatistiek",
    "incident_stats": "incidentstatistiek",
    "lessons": "leerpunten",
    "notifications": "e-mails en herinneringen",
}


@dataclass(frozen=True)
class DegradedRow:
    """A degraded view of a school, for the operator (counts and kinds, never case content)."""

    school: School
    view: str
    error_class: str
    failing: int
    quarantined: int
    since: datetime


async def _degraded(services: Services, schools: list[School]) -> list[DegradedRow]:
    by_id = {s.id: s for s in schools}
    async with services.read_pool.acquire() as conn:
        found = await degraded_schools_async(conn)
    return [
        DegradedRow(
            school=by_id[d.school_id],
            view=VIEW_LABELS_NL.get(d.view, d.view),
            error_class=d.error_class,
            failing=d.failing,
            quarantined=d.quarantined,
            since=d.since,
        )
        for d in found
        if d.school_id in by_id  # an offboarded school is not listed
    ]


async def _overview(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    *,
    board_form: FormSpec | None = None,
    school_form: FormSpec | None = None,
    status: int = 200,
    created: str | None = None,
) -> Template:
    services = Services.of(request.app.state)
    boards, schools = await anyio.to_thread.run_sync(_load_overview, services)
    names = {b.id: b.name for b in boards}
    return render(
        viewer,
        "operator/overview.html",
        active="beheer",
        boards=boards,
        schools=[(s, names.get(s.board_id, "")) for s in schools],
        degraded=await _degraded(services, schools),
        board_form=board_form or _board_form(),
        school_form=school_form or _school_form(boards),
        created=created,
        status=status,
    )


@get(
    "/beheer",
    name="page-operator",
    include_in_schema=False,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def operator_page(
    request: Request[Any, Any, Any], aangemaakt: FromQuery[str | None] = None
) -> Template:
    viewer = await viewer_of(request)
    created = {"bestuur": "Het bestuur is toegevoegd.", "school": "De school is toegevoegd."}
    return await _overview(request, viewer, created=created.get(aangemaakt or ""))


def _form_values(form: dict[str, list[Any]], names: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for name in names:
        raw = (form.get(name) or [""])[0]
        values[name] = raw.strip() if isinstance(raw, str) else ""
    return values


def _slug_error(e: InvalidInput) -> str:
    return DUPLICATE_SLUG_NL if e.code == "duplicate_slug" else INVALID_SLUG_NL


@post(
    "/beheer/besturen",
    name="page-operator-board-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def create_board_post(request: Request[Any, Any, Any]) -> Template | Redirect:
    viewer = await viewer_of(request)
    values = _form_values((await request.form()).dict(), ("name", "slug"))
    if not values["name"]:
        form = _board_form(values, {"name": REQUIRED_NL})
        return await _overview(request, viewer, board_form=form, status=422)
    container = Services.of(request.app.state).container
    try:
        await anyio.to_thread.run_sync(
            lambda: container.create_board(
                values["name"], slug=values["slug"] or None, actor=viewer.principal.actor
            )
        )
    except InvalidInput as e:
        form = _board_form(values, {"slug": _slug_error(e)})
        return await _overview(request, viewer, board_form=form, status=422)
    return Redirect("/beheer?aangemaakt=bestuur", status_code=303)


@post(
    "/beheer/scholen",
    name="page-operator-school-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def create_school_post(request: Request[Any, Any, Any]) -> Template | Redirect:
    viewer = await viewer_of(request)
    services = Services.of(request.app.state)
    values = _form_values((await request.form()).dict(), ("board_slug", "name", "slug"))
    boards = await anyio.to_thread.run_sync(services.registry.list_boards)
    errors = {}
    if values["board_slug"] not in {b.slug for b in boards}:
        errors["board_slug"] = "Kies het bestuur van de school."
    if not values["name"]:
        errors["name"] = REQUIRED_NL
    if not errors:

        def provision() -> School:
            school = services.container.create_school(
                values["board_slug"],
                values["name"],
                slug=values["slug"] or None,
                actor=viewer.principal.actor,
            )
            ensure_school_views(services.container, school.id)
            return school

        try:
            await anyio.to_thread.run_sync(provision)
        except InvalidInput as e:
            errors["slug"] = _slug_error(e)
        else:
            return Redirect("/beheer?aangemaakt=school", status_code=303)
    form = _school_form(boards, values, errors)
    return await _overview(request, viewer, school_form=form, status=422)


def _school_url(school_id: UUID) -> str:
    return f"/beheer/scholen/{school_id}"


async def _school(request: Request[Any, Any, Any], school_id: UUID) -> School:
    registry = Services.of(request.app.state).registry
    return await anyio.to_thread.run_sync(registry.school, school_id)


@get(
    "/beheer/scholen/{school_id:uuid}",
    name="page-operator-school",
    include_in_schema=False,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def operator_school_page(
    request: Request[Any, Any, Any],
    school_id: FromPath[UUID],
    opgeslagen: FromQuery[bool] = False,
    inloggen_opgeslagen: FromQuery[bool] = False,
    scim_uit: FromQuery[bool] = False,
) -> Template:
    """One school's configuration: its protocol checklist, its login settings and the link
    with its staff directory (SCIM)."""
    viewer = await viewer_of(request)
    school = await _school(request, school_id)
    url = f"{_school_url(school.id)}/protocol"
    form = protocol_form(school.protocol, is_default=school.protocol_is_default, url=url)
    return render(
        viewer,
        "operator/school.html",
        active="beheer",
        school=school,
        form=form,
        saved=opgeslagen,
        login_form=login_form(school, policy=Services.of(request.app.state).settings.login_policy),
        login_saved=inloggen_opgeslagen,
        role_names=SCHOOL_ROLE_NAMES,
        scim=_scim_state(request, school),
        scim_off=scim_uit,
    )


def _scim_state(
    request: Request[Any, Any, Any], school: School, token: str | None = None
) -> dict[str, Any]:
    """What the school page says of SCIM: on or off, the URL to give the school's directory,
    and a new token (shown once, right after it was made)."""
    base = Services.of(request.app.state).settings.public_url.rstrip("/")
    return {
        "enabled": getattr(school, "scim_token_sha256", None) is not None,
        "url": f"{base}{PREFIX}/{school.slug}",
        "token": token,
    }


@post(
    "/beheer/scholen/{school_id:uuid}/scim-token",
    name="page-operator-scim-token-post",
    include_in_schema=False,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def operator_scim_token_post(
    request: Request[Any, Any, Any], school_id: FromPath[UUID]
) -> Template:
    """A new SCIM token for the school (the old one stops working): shown on this answer only,
    never stored in the clear, never redirected to (a reload does not show it again)."""
    viewer = await viewer_of(request)
    services = Services.of(request.app.state)
    school = await _school(request, school_id)
    token = await anyio.to_thread.run_sync(
        lambda: rotate_token(services.registry, school.id, actor=viewer.principal.actor)
    )
    school = await _school(request, school_id)
    url = f"{_school_url(school.id)}/protocol"
    page = render(
        viewer,
        "operator/school.html",
        active="beheer",
        school=school,
        form=protocol_form(school.protocol, is_default=school.protocol_is_default, url=url),
        login_form=login_form(school, policy=services.settings.login_policy),
        role_names=SCHOOL_ROLE_NAMES,
        scim=_scim_state(request, school, token),
    )
    page.headers["Cache-Control"] = "no-store"
    return page


@post(
    "/beheer/scholen/{school_id:uuid}/scim-token/uit",
    name="page-operator-scim-off-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def operator_scim_off_post(
    request: Request[Any, Any, Any], school_id: FromPath[UUID]
) -> Redirect:
    """Turn SCIM off for the school (its token stops working)."""
    viewer = await viewer_of(request)
    registry = Services.of(request.app.state).registry
    school = await _school(request, school_id)
    await anyio.to_thread.run_sync(
        lambda: registry.set_scim_token(school.id, None, actor=viewer.principal.actor)
    )
    return Redirect(f"{_school_url(school.id)}?scim_uit=true#scim", status_code=303)


#: Roles a school's rules may grant (never the operator).
SCHOOL_ROLE_NAMES = [str(r) for r in Role if r is not Role.OPERATOR]
LOGIN_FIELDS = ("issuer", "client_id", "secret_ref", "api_audience", "scopes", "rules")


#: Dutch sentences for a refused issuer or secret reference, by (field, reason) of the
#: InvalidLoginConfig (tenants.login.LoginPolicy); ``{prefix}`` and ``{dir}`` are the policy's.
DUTCH_LOGIN_REFUSALS: dict[tuple[str, str], str] = {
    ("issuer", "malformed"): "De issuer moet een webadres zijn, zonder vraagteken, # of inlognaam.",
    ("issuer", "not_https"): "De issuer moet een https://-adres zijn.",
    ("issuer", "loopback_not_allowed"): (
        "De issuer mag niet naar deze machine wijzen (127.0.0.1 of localhost is alleen voor "
        "ontwikkelen en testen)."
    ),
    ("issuer", "internal_address"): "De issuer mag niet naar een intern netwerkadres wijzen.",
    ("secret_ref", "malformed"): (
        "Vul een verwijzing naar het geheim in (env:NAAM, file:/pad of dev:), nooit het geheim "
        "zelf."
    ),
    ("secret_ref", "env_outside_prefix"): (
        "Een verwijzing env: moet een omgevingsvariabele noemen die begint met {prefix}, "
        "gevolgd door een eigen naam."
    ),
    ("secret_ref", "env_reserved"): (
        "Een verwijzing env: mag niet naar een instelling van Vangnet zelf wijzen."
    ),
    ("secret_ref", "file_not_allowed"): (
        "Verwijzingen file: zijn hier niet toegestaan (er is geen map met geheimen ingesteld). "
        "Gebruik env:."
    ),
    (
        "secret_ref",
        "relative_path",
    ): "Een verwijzing file: moet een volledig pad zijn (met / vooraan).",
    ("secret_ref", "not_normalized"): "Het pad mag geen '.', '..' of lege delen bevatten.",
    ("secret_ref", "file_outside_dir"): "Het bestand moet in de map met geheimen staan: {dir}.",
    ("secret_ref", "protected_path"): (
        "Dit pad hoort bij de eigen gegevens van Vangnet (de hoofdsleutel) en is nooit toegestaan."
    ),
    ("secret_ref", "not_regular_file"): "Dit pad is geen gewoon bestand.",
    ("secret_ref", "dev_not_running"): (
        "dev: werkt alleen met de ontwikkel-inlogvoorziening, die hier niet draait."
    ),
}


def login_error_text(error: InvalidInput, policy: LoginPolicy) -> str:
    """A refused login setting in Dutch when it is about where the issuer or the secret
    reference points; otherwise the (English) message, which names the field."""
    if isinstance(error, InvalidLoginConfig) and error.field and error.reason:
        text = DUTCH_LOGIN_REFUSALS.get((error.field, error.reason))
        if text is not None:
            return text.format(prefix=policy.secret_env_prefix, dir=policy.secrets_dir or "")
    return str(error)


def login_form(
    school: School,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    *,
    policy: LoginPolicy,
) -> dict[str, Any]:
    """The login settings form: submitted ``values``, else the school's current settings;
    ``policy`` says (in the hint) where a secret reference may point."""
    if values is None:
        current = school.login
        values = {
            "issuer": current.issuer if current else "",
            "client_id": current.client_id if current else "",
            "secret_ref": current.secret_ref if current else "",
            "api_audience": current.api_audience if current else "",
            "scopes": " ".join(current.scopes) if current else "openid profile email",
            "rules": "\n".join(r.to_text() for r in current.rules) if current else "",
        }
    return {
        "values": values,
        "errors": errors or [],
        "secret_prefix": policy.secret_env_prefix,
        "secrets_dir": policy.secrets_dir,
    }


@post(
    "/beheer/scholen/{school_id:uuid}/login",
    name="page-operator-login-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def operator_login_post(
    request: Request[Any, Any, Any], school_id: FromPath[UUID]
) -> Template | Redirect:
    """Replace the school's login settings (provider and claim rules)."""
    viewer = await viewer_of(request)
    services = Services.of(request.app.state)
    school = await _school(request, school_id)
    form = (await request.form()).dict()
    values = {name: str((form.get(name) or [""])[0]).strip() for name in LOGIN_FIELDS}
    errors: list[str] = []
    rules = []
    for n, line in enumerate(values["rules"].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rules.append(parse_rule(line))
        except InvalidInput as e:
            errors.append(f"Regel {n}: {e}")
    if not errors:
        try:
            config = validate_login(
                issuer=values["issuer"],
                client_id=values["client_id"],
                secret_ref=values["secret_ref"],
                policy=services.settings.login_policy,
                api_audience=values["api_audience"] or None,
                scopes=values["scopes"].split() or ("openid",),
                rules=rules,
            )
            await anyio.to_thread.run_sync(
                lambda: services.registry.configure_login(
                    school.id,
                    config,
                    policy=services.settings.login_policy,
                    actor=viewer.principal.actor,
                )
            )
        except InvalidInput as e:
            errors.append(login_error_text(e, services.settings.login_policy))
        else:
            services.directory.evict(school.id)
            return Redirect(f"{_school_url(school.id)}?inloggen_opgeslagen=true", status_code=303)
    form_state = protocol_form(
        school.protocol,
        is_default=school.protocol_is_default,
        url=f"{_school_url(school.id)}/protocol",
    )
    return render(
        viewer,
        "operator/school.html",
        active="beheer",
        school=school,
        form=form_state,
        login_form=login_form(school, values, errors, policy=services.settings.login_policy),
        role_names=SCHOOL_ROLE_NAMES,
        scim=_scim_state(request, school),
        status=422,
    )


@post(
    "/beheer/scholen/{school_id:uuid}/protocol",
    name="page-operator-protocol-post",
    include_in_schema=False,
    status_code=303,
    guards=[requires(Permission.TENANTS_MANAGE)],
)
async def operator_protocol_post(
    request: Request[Any, Any, Any], school_id: FromPath[UUID]
) -> Template | Redirect:
    viewer = await viewer_of(request)
    services = Services.of(request.app.state)
    school = await _school(request, school_id)
    url = f"{_school_url(school.id)}/protocol"
    steps, form = parse_protocol(
        (await request.form()).dict(), is_default=school.protocol_is_default, url=url
    )
    if steps is not None:
        try:
            await anyio.to_thread.run_sync(
                lambda: services.registry.configure_protocol(
                    school.id, steps, actor=viewer.principal.actor
                )
            )
        except InvalidProtocol:
            form.errors.append("Het protocol is niet opgeslagen: controleer de stappen.")
        else:
            services.directory.evict(school.id)
            return Redirect(f"{_school_url(school.id)}?opgeslagen=true", status_code=303)
    return render(
        viewer,
        "operator/school.html",
        active="beheer",
        school=school,
        form=form,
        login_form=login_form(school, policy=Services.of(request.app.state).settings.login_policy),
        role_names=SCHOOL_ROLE_NAMES,
        scim=_scim_state(request, school),
        status=422,
    )


OPERATOR_PAGE_ROUTES: list[Any] = [
    operator_page,
    create_board_post,
    create_school_post,
    operator_school_page,
    operator_protocol_post,
    operator_login_post,
    operator_scim_token_post,
    operator_scim_off_post,
]
