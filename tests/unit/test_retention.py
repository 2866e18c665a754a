"""Retention decisions (services.privacy.retention), in memory: which closed cases are due and
what the run does with each. The integration tier (test_erasure) runs it on PostgreSQL."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.casework.application import CaseworkApplication
from services.casework.handlers import CaseService
from services.privacy.retention import Decision, decide, expire_cases, retention_cutoff


def test_the_cutoff_is_the_retention_period_before_today() -> None:
    assert retention_cutoff(date(2026, 11, 30), 730) == date(2024, 11, 30)


def test_an_open_case_is_never_erased(
    app: CaseworkApplication, service: CaseService, school_id: UUID, case_id: UUID
) -> None:
    case = app.get_case(case_id, school_id)
    assert decide(case) is Decision.SKIP
    assert expire_cases(app, school_id, [case_id]) == []
    assert app.get_case(case_id, school_id).version == case.version


def test_an_unknown_case_is_passed_over(app: CaseworkApplication, school_id: UUID) -> None:
    assert expire_cases(app, school_id, [UUID(int=7)]) == []
