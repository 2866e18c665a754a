"""Unit-tier fixtures: one in-memory casework application per test, no database, no network."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from services.casework.application import CaseworkApplication
from services.casework.commands import ReportCase
from services.casework.handlers import CaseService
from tests.unit.support import CONTACT, new_app, new_service


@pytest.fixture
def app() -> CaseworkApplication:
    return new_app()


@pytest.fixture
def school_id() -> UUID:
    return uuid4()


@pytest.fixture
def service(app: CaseworkApplication, school_id: UUID) -> CaseService:
    return new_service(app, school_id)


@pytest.fixture
def case_id(service: CaseService) -> UUID:
    """A freshly reported case, reported by the contact person (version 1)."""
    return service.report(CONTACT, ReportCase(reporter_kind="parent", summary="Fictieve melding"))
