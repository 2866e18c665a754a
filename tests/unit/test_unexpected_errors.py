"""An unhandled error is logged with the route template and the error's class: never the concrete
path (it holds case ids) nor the message (it may quote case text). No database needed."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.testing import TestClient

from infra.entrypoints.web.problems import EXCEPTION_HANDLERS

TEMPLATES = Path(__file__).resolve().parents[2] / "infra" / "entrypoints" / "web" / "templates"
MESSAGE = "Fictieve melding over Leerling Test-A"


class BrokenThing(RuntimeError):
    pass


@get("/api/cases/{case_id:uuid}/broken")
async def broken_api(case_id: FromPath[UUID]) -> None:
    raise BrokenThing(f"{MESSAGE} in {case_id}")


@get("/zaken/{case_id:uuid}/broken")
async def broken_page(case_id: FromPath[UUID]) -> None:
    raise BrokenThing(f"{MESSAGE} in {case_id}")


def _client() -> TestClient[Litestar]:
    app = Litestar(
        route_handlers=[broken_api, broken_page],
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # keep pytest's log capture in place
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
    )
    return TestClient(app)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/cases/{id}/broken", "/api/cases/{case_id}/broken"),
        ("/zaken/{id}/broken", "/zaken/{case_id}/broken"),
    ],
)
def test_unhandled_error_log_names_the_route_template(
    caplog: pytest.LogCaptureFixture, path: str, template: str
) -> None:
    case_id = str(uuid4())
    with (
        _client() as client,
        caplog.at_level(logging.ERROR, logger="infra.entrypoints.web.problems"),
    ):
        response = client.get(path.format(id=case_id))
    assert response.status_code == 500
    assert case_id not in response.text
    assert MESSAGE not in response.text
    lines = [r.getMessage() for r in caplog.records if r.name == "infra.entrypoints.web.problems"]
    assert lines == [f"unhandled BrokenThing on GET {template}"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert case_id not in logged
    assert MESSAGE not in logged
