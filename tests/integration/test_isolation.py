"""Tenant isolation over EVERY route: a user of school A reads or changes nothing of school B.

The routes come from the app's own route table, so a new route cannot be forgotten: it is either
checked here or listed in ``NOT_SCHOOL_BOUND`` with the reason. Every path parameter a route can
have must have values in ``PARAM_VALUES`` (a new parameter fails the test until it does).

School B has a case with a secret marker in its summary. As each of several roles of school A,
over the API (bearer tokens) and the pages (session), every route is called with B's ids:
anything that names B's case answers exactly as for a case that exists nowhere (no hint that it
exists): 404, or 403 when the route's guard refuses the role before any case is looked up;
nothing shows the marker or B's case id, and afterwards B's event log is exactly as it was.
"""

from __future__ import annotations

import dataclasses
import re
import typing
import uuid
from collections.abc import Iterator
from datetime import date
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from infra.bootstrap.container import Container
from infra.entrypoints.web.actions import ACTIONS
from infra.entrypoints.web.edge import UPLOAD_PATH
from infra.entrypoints.web.scim import rotate_token
from services.access.roles import Role
from services.attachments.scanning import UnscannedDemo
from services.casework.application import register_of
from services.casework.commands import AddParticipant, ReportCase
from services.casework.handlers import CaseService
from services.pupils.domain import PupilDetails
from services.shared.actor import SYSTEM, Actor
from tests.documents import pdf
from tests.integration.handover import stored_handover
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    staff,
    web_client,
)

#: Routes no school user's data passes through, with the reason.
NOT_SCHOOL_BOUND = {
    "/health/live": "liveness, no data",
    "/health/ready": "readiness, no data",
    "/metrics": "route templates and counts only",
    "/schema": "the API description",
    "/static/{file_path:path}": "CSS and script files",
    "/login": "the school chooser (public school names only)",
    "/login/{slug:str}": "redirects to the school's identity provider",
    "/login/operator": "redirects to the operator's identity provider",
    "/auth/callback": "completes a login (state checked; tested in test_oidc_devidp)",
    "/logout": "ends the own session",
    "/rol": "switches among the own roles",
    "/melden/{slug:str}": "the public report form: anyone may report to any school; shows the "
    "school's name only (tests/integration/test_public_report.py)",
    "/melden/{slug:str}/volgen": "the reporter's follow-up: opens one case's status and messages "
    "only with its code, of that school only (tests/integration/test_public_report.py)",
    "/overdracht/{token:str}": "a hand-over export's receipt link: opens one export only with its "
    "token, whose school is in it (tests/integration/test_handover_export.py)",
    "/overdracht/{token:str}/bestand": "the encrypted PDF of that link, with its token only "
    "(tests/integration/test_handover_export.py)",
}

SCHOOL_ROLES = (Role.CONTACT_PERSON, Role.COORDINATOR, Role.BOARD, Role.AUDITOR)


@dataclasses.dataclass
class Setup:
    app: Litestar
    client: Any
    container: Container
    issuer_a: FakeIssuer
    school_a: Any
    school_b: Any
    case_b: UUID
    marker: str
    person_b: str
    scim_token_a: str
    pupil_b: UUID
    attachment_b: UUID
    handover_b: UUID
    received_b: UUID


@pytest.fixture
def setup(container: Container) -> Iterator[Setup]:
    world = make_world(container, "iso")
    issuer_a = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    issuer_b = FakeIssuer(f"https://idp.test/{world.school_b.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer_a)
    configure_fake_login(container, world.school_b, issuer_b)
    marker = f"GEHEIM-B-{uuid.uuid4().hex[:8]}"
    service_b = CaseService(container.schools.get(world.school_b.id), world.school_b.id)
    case_b = service_b.report(
        Actor(user_id="test-b-contact", role=Role.CONTACT_PERSON),
        ReportCase(reporter_kind="target_pupil", summary=f"Fictieve melding {marker}"),
    )
    # School B's staff directory has a person with the marker in their name; both schools have
    # SCIM tokens.
    person_b = staff(container, world.school_b, Role.TEACHER, f"Medewerker {marker}")
    # ... and its pupil register a pupil with the marker in their name, in B's case.
    pupil_b = register_of(service_b.app, world.school_b.id).register(
        Actor(user_id="test-b-contact", role=Role.CONTACT_PERSON),
        PupilDetails(f"B-{marker}", f"Leerling {marker}", "groep B"),
    )
    service_b.handle(
        Actor(user_id="test-b-contact", role=Role.CONTACT_PERSON),
        AddParticipant(case_id=case_b, pupil_id=str(pupil_b.id), role="target"),
    )
    # ... and an evidence file with the marker inside, on B's case.
    attachment_b = (
        container.attachment_service(world.school_b, scanner=UnscannedDemo())
        .add(
            Actor(user_id="test-b-contact", role=Role.CONTACT_PERSON),
            case_b,
            file_name="bewijs.pdf",
            content=pdf(marker),
            caption=f"Fictief {marker}",
        )
        .attachment_id
    )
    # ... and a hand-over it sent and a file it received, both with the marker.
    handover_b, received_b = stored_handover(service_b.app, world.school_b.id, marker)
    rotate_token(container.registry, world.school_b.id, actor=SYSTEM)
    scim_token_a = rotate_token(container.registry, world.school_a.id, actor=SYSTEM)
    with web_client(container, http_transport=Issuers(issuer_a, issuer_b).transport) as client:
        yield Setup(
            app=client.app,
            client=client,
            container=container,
            issuer_a=issuer_a,
            school_a=world.school_a,
            school_b=world.school_b,
            case_b=case_b,
            marker=marker,
            person_b=person_b,
            scim_token_a=scim_token_a,
            pupil_b=pupil_b.id,
            attachment_b=attachment_b,
            handover_b=handover_b,
            received_b=received_b,
        )


def _param_values(s: Setup) -> dict[str, list[str]]:
    return {
        "case_id": [str(s.case_b)],
        "pupil_id": [str(s.pupil_b)],
        "attachment_id": [str(s.attachment_b)],
        "handover_id": [str(s.handover_b)],
        "file_id": [str(s.received_b)],
        "action_name": list(ACTIONS),
        "school_id": [str(s.school_b.id)],
        # SCIM: school B's endpoint, its people (by id and by filter).
        "slug": [s.school_b.slug],
        "token": ["not-a-token"],
        "school_year": ["2025-2026"],
        "path": ["Users", f"Users/{s.person_b}", "ServiceProviderConfig"],
    }


def routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path template) of every route handler, OPTIONS and HEAD aside."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method not in ("OPTIONS", "HEAD"):
                    found.append((method, route.path))
    return sorted(set(found))


def _checked(path: str) -> bool:
    return not any(
        path == p or (p == "/schema" and path.startswith("/schema")) for p in NOT_SCHOOL_BOUND
    )


def expand(path: str, values: dict[str, list[str]]) -> list[str]:
    """Every concrete path for a template (one per combination of parameter values)."""
    names = re.findall(r"{(\w+):\w+}", path)
    paths = [path]
    for name in names:
        assert name in values, f"path parameter '{name}' of {path} has no values in this test"
        paths = [re.sub(r"{" + name + r":\w+}", value, p) for p in paths for value in values[name]]
    return paths


def _value(annotation: Any) -> Any:
    """A plausible JSON value of a body field's type (types only: the case never loads)."""
    args = typing.get_args(annotation)
    if type(None) in args:
        annotation = next(a for a in args if a is not type(None))
    if annotation is UUID:
        return str(uuid.uuid4())
    if annotation is date:
        return "2026-11-20"
    if annotation is bool:
        return False
    if annotation is int:
        return 1
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation)).value
    if typing.get_origin(annotation) is list:
        return [_value(typing.get_args(annotation)[0])]
    return "other"


def api_body(path: str) -> dict[str, Any]:
    name = path.rsplit("/", 1)[-1]
    if path.startswith(("/api/pupils/", "/leerlingen/")) and name in {"erasure", "wissen"}:
        return {"reason": "Fictieve reden"}  # a valid body: only the pupil can be refused
    if path.startswith("/api/pupils/") and name == "handover-export":
        return {  # a valid body: only the pupil can be refused
            "to_school_name": "Fictieve school elders",
            "pupil_consent_on": "2026-11-01",
            "parents_consent_by": "Fictieve ouder",
            "parents_consent_on": "2026-11-01",
        }
    if path.startswith("/api/handovers/received/") and name == "erase":
        return {"reason": "not_enrolled"}  # a valid body: only the file can be refused
    if path.startswith("/api/pupils/") and (
        name == "handover" or path.endswith("/handover/preview")
    ):
        return {  # a valid body: only the pupil can be refused
            "to_school": "fictieve-andere-school",
            "pupil_consent_on": "2026-11-01",
            "parents_consent_by": "Fictieve ouder",
            "parents_consent_on": "2026-11-01",
        }
    action = ACTIONS.get(name)
    if action is None:
        return {}
    hints = typing.get_type_hints(action.body)
    return {
        f.name: _value(hints[f.name])
        for f in dataclasses.fields(action.body)
        if f.name != "expected_version"
    }


def form_body(path: str) -> dict[str, Any]:
    body = api_body(path)
    return {k: ("false" if v is False else v) for k, v in body.items()}


def _events(s: Setup) -> list[tuple[Any, ...]]:
    with s.container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, md5(state) AS state"
            f' FROM "{s.school_b.schema_name}".casework_events'
            " ORDER BY originator_id, originator_version"
        ).fetchall()
    return [(r["originator_id"], r["originator_version"], r["state"]) for r in rows]


#: A case id that exists in no school.
NOWHERE = uuid.uuid4()


def _check(
    s: Setup, method: str, template: str, path: str, response: Any, unknown: Any = None
) -> None:
    """``unknown``: the same request for :data:`NOWHERE` instead of B's case."""
    where = f"{method} {path} ({template})"
    assert s.marker not in response.text, f"{where} shows school B's case content"
    assert str(s.case_b) not in response.text or response.status_code == 404, where
    assert str(s.pupil_b) not in response.text or response.status_code == 404, where
    if "{pupil_id" in template:
        assert response.status_code in (403, 404), f"{where}: {response.status_code}"
    if "{case_id" in template:
        assert response.status_code in (403, 404), f"{where}: {response.status_code}"
        assert unknown is not None
        assert unknown.status_code == response.status_code, f"{where}: a hint that it exists"


def _nowhere(s: Setup, path: str) -> str:
    return path.replace(str(s.case_b), str(NOWHERE))


def test_every_route_is_checked_or_listed(setup: Setup) -> None:
    listed = {p for _, p in routes(setup.app) if not _checked(p)}
    missing = set(NOT_SCHOOL_BOUND) - listed - {"/schema"}
    assert not missing, f"listed but no longer routes: {missing}"
    checked = [r for r in routes(setup.app) if _checked(r[1])]
    assert any(p.startswith("/api/") for _, p in checked)
    assert any(not p.startswith("/api/") for _, p in checked)


@pytest.mark.parametrize("role", SCHOOL_ROLES)
def test_api_routes_do_not_cross_schools(setup: Setup, role: Role) -> None:
    before = _events(setup)
    headers = bearer(setup.issuer_a, setup.school_a, role)
    values = _param_values(setup)
    for method, template in routes(setup.app):
        if not template.startswith("/api/") or not _checked(template):
            continue
        for path in expand(template, values):
            responses = [
                # The upload route takes multipart only (the edge refuses anything else before
                # any school is read): a file, so the case is what is refused.
                setup.client.post(
                    target,
                    headers=headers,
                    data={"caption": "x"},
                    files={"file": ("x.pdf", pdf(), "application/pdf")},
                )
                if method == "POST" and UPLOAD_PATH.match(target)
                else setup.client.request(
                    method,
                    target,
                    headers=headers,
                    json=api_body(path) if method in ("POST", "PUT") else None,
                )
                for target in (path, _nowhere(setup, path))
            ]
            _check(setup, method, template, path, *responses)
    assert _events(setup) == before, "school B's log changed"


def test_scim_does_not_cross_schools(setup: Setup) -> None:
    """School A's SCIM token on school B's SCIM endpoint: 401 for every method and path, no
    name shown, school B's log unchanged."""
    before = _events(setup)
    headers = {
        "Authorization": f"Bearer {setup.scim_token_a}",
        "Content-Type": "application/scim+json",
    }
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@b.test"}
    refused: set[tuple[str, str]] = set()
    for method, template in routes(setup.app):
        if not template.startswith("/scim/"):
            continue
        for path in expand(template, _param_values(setup)):
            if path.endswith("/ServiceProviderConfig"):
                continue  # RFC 7643 §5: answers anyone, and holds nothing of the school
            response = setup.client.request(
                method, path, headers=headers, json=body if method in ("POST", "PUT") else None
            )
            # Refused for the token; a method SCIM has not for the path is 405 before any
            # school is read.
            assert response.status_code in (401, 405), (method, path, response.status_code)
            assert setup.marker not in response.text
            assert setup.person_b not in response.text
            if response.status_code == 401:
                refused.add((method, path.rsplit(setup.school_b.slug, 1)[-1]))
    user = f"/Users/{setup.person_b}"
    wanted = {("GET", "/Users"), ("POST", "/Users")} | {
        (m, user) for m in ("GET", "PUT", "PATCH", "DELETE")
    }
    assert wanted <= refused, wanted - refused
    assert _events(setup) == before, "school B's log changed"


#: Page routes that take a file (multipart/form-data), and the file they are sent.
UPLOAD_ROUTES = {"/zaken/{case_id:uuid}/bijlagen"}
UPLOAD_FILES = {"bestand": ("bewijs.pdf", pdf(), "application/pdf")}


def _csrf(client: Any) -> str:
    page = client.get("/", follow_redirects=True).text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the home page"
    return match.group(1)


@pytest.mark.parametrize("role", SCHOOL_ROLES)
def test_pages_do_not_cross_schools(setup: Setup, role: Role) -> None:
    before = _events(setup)
    log_in(setup.client, principal(setup.school_a, role))
    token = _csrf(setup.client)
    values = _param_values(setup)
    for method, template in routes(setup.app):
        if template.startswith("/api/") or not _checked(template):
            continue
        for path in expand(template, values):
            responses = []
            for target in (path, _nowhere(setup, path)):
                if method == "GET":
                    responses.append(setup.client.get(target, follow_redirects=True))
                elif UPLOAD_PATH.match(target):
                    # The upload route takes multipart only (the edge refuses anything else
                    # before any school is read): a file, so the case is what is refused.
                    responses.append(
                        setup.client.post(
                            target,
                            data={"_csrf_token": token, "bijschrift": "x"},
                            files={"bestand": ("x.png", b"not really a png", "image/png")},
                            follow_redirects=True,
                        )
                    )
                else:
                    data = form_body(path) | {"_csrf_token": token}
                    # An upload form takes multipart (anything else is 415 at the edge).
                    files = UPLOAD_FILES if template in UPLOAD_ROUTES else None
                    responses.append(
                        setup.client.request(
                            method, target, data=data, files=files, follow_redirects=True
                        )
                    )
            _check(setup, method, template, path, *responses)
    assert _events(setup) == before, "school B's log changed"
