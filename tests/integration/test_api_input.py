"""No input gives a 500: hostile bodies and parameters get a clear 4xx problem (issue #10 §2).

Each test is one of the issue's repros (all answered 500, or stalled the server, before): a body
that is not UTF-8, JSON nested 1,000 levels deep, an offset beyond 64 bits, months out of range,
JSON sent as text/plain or without a content type, a body that is too large, and validation
errors that name the field in a sentence. The pages answer the same inputs with a Dutch page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from infra.bootstrap.container import Container
from infra.entrypoints.web.edge import MAX_BODY_BYTES, MAX_JSON_DEPTH
from services.access.roles import Role
from tests.integration.web import (
    FakeIssuer,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    web_client,
)

PROBLEM = "application/problem+json"
REPORT = {"reporter_kind": "staff", "summary": "Fictieve melding (test)"}


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    headers: dict[str, str]
    board_headers: dict[str, str]
    auditor_headers: dict[str, str]
    case_id: str
    coordinator_headers: dict[str, str]

    def post(self, url: str, content: bytes, content_type: str | None) -> httpx.Response:
        headers = dict(self.headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.client.post(url, content=content, headers=headers)


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    world = make_world(container, "input")
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    with web_client(container, http_transport=issuer.transport) as client:
        headers = bearer(issuer, world.school_a, Role.CONTACT_PERSON)
        created = client.post("/api/cases", json=REPORT, headers=headers)
        assert created.status_code == 201, created.text
        yield Api(
            client,
            headers,
            bearer(issuer, world.school_a, Role.BOARD),
            bearer(issuer, world.school_a, Role.AUDITOR),
            str(created.json()["case_id"]),
            bearer(issuer, world.school_a, Role.COORDINATOR),
        )


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


# --- bodies -----------------------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_400(api: Api) -> None:
    body = b'{"reporter_kind": "staff", "summary": "caf\xe9 \xff\xfe"}'
    problem = assert_problem(api.post("/api/cases", body, "application/json"), 400, "invalid_body")
    assert "UTF-8" in problem["detail"]


def test_json_nested_deeper_than_the_limit_is_400(api: Api) -> None:
    deep = "[" * 1000 + "]" * 1000
    body = f'{{"reporter_kind": "staff", "summary": "x", "extra": {deep}}}'.encode()
    problem = assert_problem(api.post("/api/cases", body, "application/json"), 400, "invalid_body")
    assert str(MAX_JSON_DEPTH) in problem["detail"]
    # Just within the limit is an ordinary body (the unknown field is ignored).
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    body = f'{{"reporter_kind": "staff", "summary": "x", "extra": {nested}}}'.encode()
    assert api.post("/api/cases", body, "application/json").status_code == 201


def test_json_that_does_not_parse_is_400(api: Api) -> None:
    problem = assert_problem(
        api.post("/api/cases", b'{"reporter_kind": ', "application/json"), 400, "invalid_body"
    )
    assert "JSON" in problem["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_json_without_the_json_content_type_is_415(api: Api, content_type: str | None) -> None:
    body = b'{"reporter_kind": "staff", "summary": "Fictieve melding (test)"}'
    problem = assert_problem(api.post("/api/cases", body, content_type), 415, "unsupported_media")
    assert "application/json" in problem["detail"]
    note = api.post(f"/api/cases/{api.case_id}/add-note", b'{"text": "x"}', content_type)
    assert_problem(note, 415, "unsupported_media")


def test_json_with_a_charset_parameter_is_accepted(api: Api) -> None:
    body = b'{"reporter_kind": "staff", "summary": "Fictieve melding (test)"}'
    assert api.post("/api/cases", body, "application/json; charset=utf-8").status_code == 201


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    summary = "x" * MAX_BODY_BYTES
    body = f'{{"reporter_kind": "staff", "summary": "{summary}"}}'.encode()
    problem = assert_problem(api.post("/api/cases", body, "application/json"), 413, "too_large")
    assert str(MAX_BODY_BYTES) in problem["detail"]


def test_a_missing_body_names_the_body(api: Api) -> None:
    problem = assert_problem(api.post("/api/cases", b"", "application/json"), 400, "validation")
    assert problem["errors"] == [
        {"field": "body", "reason": "required", "message": "the request needs a JSON body"}
    ]


def test_a_query_string_that_is_not_utf8_is_400(api: Api) -> None:
    r = api.client.get("/api/cases?owner_id=%FF%FE", headers=api.headers)
    assert "UTF-8" in assert_problem(r, 400, "invalid_body")["detail"]


def test_an_undeclared_method_is_405_with_allow(api: Api) -> None:
    r = api.client.request("TRACE", f"/api/cases/{api.case_id}/add-note", headers=api.headers)
    assert_problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers["allow"]


# --- validation errors name the field, in a sentence -------------------------------------------


def test_a_missing_field_is_named(api: Api) -> None:
    r = api.client.post("/api/cases", json={"summary": "x"}, headers=api.headers)
    problem = assert_problem(r, 400, "validation")
    assert problem["errors"] == [
        {"field": "reporter_kind", "reason": "required", "message": "reporter_kind is required"}
    ]


def test_a_wrong_type_deep_in_the_body_is_named_by_its_path(api: Api) -> None:
    r = api.client.post(
        f"/api/cases/{api.case_id}/map-situation",
        json={"forms": ["verbal", 3], "frequency": "weekly", "impact": "low"},
        headers=api.headers,
    )
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert error["field"] == "forms[1]"
    assert error["reason"] == "wrong_type"
    assert error["message"].startswith("forms[1] must be")


def test_a_value_outside_the_vocabulary_lists_the_allowed_values(api: Api) -> None:
    r = api.client.post(
        "/api/cases", json={**REPORT, "reporter_kind": "teacher"}, headers=api.headers
    )
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert error["field"] == "reporter_kind"
    assert error["reason"] == "not_allowed"
    assert "staff" in error["message"]
    assert "parent" in error["message"]


def test_a_bad_date_uuid_and_version_are_named(api: Api) -> None:
    url = f"/api/cases/{api.case_id}"
    r = api.client.post(
        f"{url}/hold-intake", json={"held_on": "gisteren", "summary": "x"}, headers=api.headers
    )
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert (error["field"], error["reason"]) == ("held_on", "invalid_format")
    assert "date" in error["message"]
    r = api.client.post(
        f"{url}/complete-step", json={"step_id": "nope", "outcome": "x"}, headers=api.headers
    )
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert (error["field"], error["reason"]) == ("step_id", "invalid_format")
    r = api.client.post(
        f"{url}/add-note", json={"text": "x", "expected_version": 0}, headers=api.headers
    )
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert (error["field"], error["reason"]) == ("expected_version", "out_of_range")
    assert "at least 1" in error["message"]


def test_text_longer_than_the_limit_is_refused_at_the_edge(api: Api) -> None:
    from services.shared.text import MAX_TEXT

    r = api.client.post(
        f"/api/cases/{api.case_id}/add-note",
        json={"text": "x" * (MAX_TEXT + 1)},
        headers=api.headers,
    )
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert (error["field"], error["reason"]) == ("text", "too_long")


# --- parameters have documented ranges ----------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["offset=9223372036854775808", "offset=-1", "limit=0", "limit=501", "offset=x"]
)
def test_list_paging_out_of_range_is_400(api: Api, query: str) -> None:
    r = api.client.get(f"/api/cases?{query}", headers=api.headers)
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert error["field"] == query.split("=", maxsplit=1)[0]
    assert error["reason"] in {"out_of_range", "wrong_type"}


@pytest.mark.parametrize("months", ["0", "-1", "30000", "121", "300000000", "twelve"])
def test_statistics_months_out_of_range_is_400(api: Api, months: str) -> None:
    for url, headers in (
        ("/api/stats/school", api.coordinator_headers),
        ("/api/stats/board", api.board_headers),
    ):
        r = api.client.get(f"{url}?months={months}", headers=headers)
        [error] = assert_problem(r, 400, "validation")["errors"]
        assert error["field"] == "months"


def test_a_role_that_may_not_read_statistics_is_refused_before_the_query_is_read(
    api: Api,
) -> None:
    # The route's guard (infra.entrypoints.web.guards) answers before any parameter is parsed.
    r = api.client.get("/api/stats/school?months=twelve", headers=api.headers)
    assert_problem(r, 403, "permission_denied")


@pytest.mark.parametrize("months", ["1", "120"])
def test_statistics_months_at_the_bounds_are_answered(api: Api, months: str) -> None:
    r = api.client.get(f"/api/stats/board?months={months}", headers=api.board_headers)
    assert r.status_code == 200, r.text
    assert r.json()["first_month"] <= r.json()["last_month"]


def test_a_filter_outside_its_vocabulary_is_400(api: Api) -> None:
    r = api.client.get("/api/cases?status=open-ish", headers=api.headers)
    [error] = assert_problem(r, 400, "validation")["errors"]
    assert (error["field"], error["reason"]) == ("status", "not_allowed")


@pytest.mark.parametrize(
    ("query", "status", "field", "reason"),
    [
        ("as_of=gisteren", 400, "as_of", "invalid_format"),
        ("as_of=0001-01-01T00:00:00%2B01:00", 422, "as_of", "out_of_range"),
        ("as_of=9999-12-31T23:59-01:00", 422, "as_of", "out_of_range"),
        ("as_of=2026-02-30", 422, "as_of", "invalid_format"),
    ],
)
def test_moments_of_the_audit_reads_are_checked(
    api: Api, query: str, status: int, field: str, reason: str
) -> None:
    r = api.client.get(f"/api/cases/{api.case_id}/state?{query}", headers=api.auditor_headers)
    [error] = assert_problem(r, status)["errors"]
    assert (error["field"], error["reason"]) == (field, reason)


def test_the_other_moment_parameters_are_named_as_sent(api: Api) -> None:
    r = api.client.get(f"/api/cases/{api.case_id}/diff?from=x&to=y", headers=api.auditor_headers)
    fields = {e["field"] for e in assert_problem(r, 400, "validation")["errors"]}
    assert fields <= {"from", "to"}
    assert fields


# --- the pages answer a bad body with a Dutch page ----------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"text=caf\xe9\xff", "application/x-www-form-urlencoded"),
        (b'{"text": "x"}', "application/json"),
        (
            b'--x\r\nContent-Disposition: form-data; name="text"\r\n\r\n\xff\xfe',
            "multipart/form-data; boundary=x",
        ),
        (b"\x00\x01\x02", None),
    ],
)
def test_a_page_form_with_a_bad_body_is_a_dutch_400_page(
    container: Container, content: bytes, content_type: str | None
) -> None:
    world = make_world(container, "input-pg")
    with web_client(container) as client:
        log_in(client, principal(world.school_a, Role.CONTACT_PERSON))
        page = client.get("/zaken/nieuw").text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert token is not None
        headers = {"x-csrftoken": token.group(1)}
        if content_type is not None:
            headers["content-type"] = content_type
        r = client.post("/zaken", content=content, headers=headers, follow_redirects=False)
        assert r.status_code in (400, 415), r.text[:500]
        assert r.headers["content-type"].startswith("text/html")
        assert 'lang="nl"' in r.text


# --- the other bodies: protocol, boards and schools ----------------------------------------------


def test_a_protocol_body_is_checked_field_by_field(container: Container) -> None:
    world = make_world(container, "input-pr")
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    with web_client(container, worker=False, http_transport=issuer.transport) as client:
        headers = bearer(issuer, world.school_a, Role.COORDINATOR)
        step = {"key": "melding", "label": "Melding", "event_type": "CaseReported"}
        r = client.put(
            "/api/protocol", json={"steps": [{**step, "event_type": "Nope"}]}, headers=headers
        )
        [error] = assert_problem(r, 400, "validation")["errors"]
        assert (error["field"], error["reason"]) == ("steps[0].event_type", "not_allowed")
        assert "CaseReported" in error["message"]
        r = client.put(
            "/api/protocol",
            json={"steps": [{"key": "x", "event_type": "CaseReported"}]},
            headers=headers,
        )
        [error] = assert_problem(r, 400, "validation")["errors"]
        assert error == {
            "field": "steps[0].label",
            "reason": "required",
            "message": "steps[0].label is required",
        }
        r = client.put("/api/protocol", json={"steps": []}, headers=headers)
        [error] = assert_problem(r, 400, "validation")["errors"]
        assert (error["field"], error["reason"]) == ("steps", "too_few")
        r = client.put(
            "/api/protocol",
            json={"steps": [{**step, "deadline_school_days": 201}]},
            headers=headers,
        )
        [error] = assert_problem(r, 400, "validation")["errors"]
        assert (error["field"], error["reason"]) == (
            "steps[0].deadline_school_days",
            "out_of_range",
        )
        assert client.put("/api/protocol", json={"steps": [step]}, headers=headers).is_success


def test_a_board_or_school_name_follows_the_text_rule_and_leaves_nothing(
    container: Container,
) -> None:
    from services.shared.errors import InvalidInput

    world = make_world(container, "input-nm")
    board_slug = world.school_a.slug.removesuffix("-a") + "-board"
    with pytest.raises(InvalidInput) as refused:
        container.create_board("Bestuur\x00Test", slug="input-nul-board")
    assert refused.value.field == "name"
    with pytest.raises(InvalidInput):
        container.create_school(board_slug, "School\x1b", slug="input-esc-school")
    slugs = {s.slug for s in container.registry.list_schools(None)}
    assert "input-esc-school" not in slugs
    assert "input-nul-board" not in {b.slug for b in container.registry.list_boards()}


def test_options_lists_every_method_of_the_path(api: Api) -> None:
    # Litestar 2 listed only the first handler's method (litestar#4169).
    for path, methods in (("/api/cases", {"GET", "POST"}), ("/api/protocol", {"GET", "PUT"})):
        r = api.client.options(path)
        assert r.status_code == 204
        assert {m.strip() for m in r.headers["allow"].split(",")} == methods | {"OPTIONS"}
