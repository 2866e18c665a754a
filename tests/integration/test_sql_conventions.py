"""Every statement a case's journey sends to PostgreSQL follows the conventions that keep a
school's schema movable (README, "SQL in a school's schema"; :mod:`tests.sql_conventions`).

The unit tier scans the code's SQL strings; this test sees what is actually executed, statements
composed at run time included: both drivers' execute methods are wrapped for the test (psycopg on
the write side, asyncpg on the read side and for web sessions), from start-up (the platform
schema, provisioning two schools) through commands, views, reads, e-mails and audit checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import psycopg
import pytest
from psycopg.sql import Composable

from infra.adapters.audit.integrity import verify_school
from infra.adapters.mail import LogMailer
from infra.bootstrap.container import Container
from infra.bootstrap.notifications import deliver_notifications
from infra.bootstrap.views import catch_up_school
from infra.config.settings import Settings
from services.access.roles import Role
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    bearer,
    configure_fake_login,
    make_world,
    web_client,
)
from tests.sql_conventions import problems

pytestmark = pytest.mark.integration


#: What asyncpg's pool sends when a connection goes back (the driver's session reset, one
#: string of session commands that touch no table).
_RESET = {"SELECT pg_advisory_unlock_all()", "CLOSE ALL", "UNLISTEN *", "RESET ALL"}


def driver_reset(statement: str) -> bool:
    parts = {part.strip() for part in statement.split(";")} - {""}
    return bool(parts) and parts <= _RESET


class Executed:
    """The statements sent while the wrapper is in place (text, as sent)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def psycopg(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def execute(curs: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            text = query.as_string(curs) if isinstance(query, Composable) else query
            self.statements.append(text.decode() if isinstance(text, bytes) else str(text))
            return original(curs, query, *args, **kwargs)

        return execute

    def asyncpg(self, original: Callable[..., Any]) -> Callable[..., Any]:
        async def execute(conn: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            self.statements.append(query)
            return await original(conn, query, *args, **kwargs)

        return execute


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> Executed:
    seen = Executed()
    for name in ("execute", "executemany"):
        monkeypatch.setattr(psycopg.Cursor, name, seen.psycopg(getattr(psycopg.Cursor, name)))
    # ``execute`` and, under fetch/fetchrow/fetchval, ``_execute``.
    for name in ("execute", "executemany", "_execute"):
        connection = asyncpg.connection.Connection
        monkeypatch.setattr(connection, name, seen.asyncpg(getattr(connection, name)))
    return seen


@pytest.fixture
def watched(executed: Executed, test_settings: Settings) -> Iterator[Container]:
    """A container opened while every statement is watched (its start-up included)."""
    with Container.open(test_settings) as c:
        yield c


def test_a_journey_sends_only_sql_a_distributed_schema_accepts(
    executed: Executed, watched: Container
) -> None:
    container = watched
    world = make_world(container, "citus")
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    container.registry.configure_contacts(
        world.school_a.id, contact_person_emails=["aanspreekpunt@test-school.example"]
    )
    headers = bearer(issuer, world.school_a, Role.CONTACT_PERSON)
    with web_client(container, http_transport=Issuers(issuer).transport) as client:
        # A report, intake and a note through the API; the views follow through the worker.
        r = client.post(
            "/api/cases",
            json={"reporter_kind": "target_pupil", "summary": "Fictieve melding (citus)"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        today = datetime.now(UTC).date().isoformat()
        r = client.post(
            f"/api/cases/{case_id}/hold-intake",
            json={"held_on": today, "summary": "Gesprek"},
            headers=headers,
        )
        assert r.is_success, r.text
        # Reading the case appends to the access log (asyncpg, under its lock).
        deadline = time.monotonic() + 10
        while True:
            detail = client.get(f"/api/cases/{case_id}", headers=headers)
            if detail.status_code == 200 and detail.json()["version"] >= 2:
                break
            assert time.monotonic() < deadline, detail.text
            time.sleep(0.05)
    catch_up_school(container, world.school_a.id)
    # The new report's e-mail is claimed and sent once.
    deliver_notifications(container, world.school_a.id, LogMailer(), now=datetime.now(UTC))
    report = verify_school(container.pool, world.school_a)
    assert report.ok, report.lines()
    assert report.reads >= 1

    seen = executed.statements
    # The wrapper saw the journey: start-up DDL, the chained insert, the claim, the reads.
    # The platform schema is created with Citus's schema-based sharding off (it stays on the
    # coordinator); a school's schema with it as configured (placed on a worker node).
    platform = seen.index('CREATE SCHEMA IF NOT EXISTS "platform"')
    assert seen[platform - 1] == 'SET LOCAL "citus"."enable_schema_based_sharding" = off'
    school = seen.index(f'CREATE SCHEMA IF NOT EXISTS "{world.school_a.schema_name}"')
    assert "enable_schema_based_sharding" not in seen[school - 1]
    assert any(s.startswith("INSERT INTO") and "RETURNING notification_id" in s for s in seen)
    assert any("ON CONFLICT (notification_key)" in s for s in seen)
    assert any("case_reads" in s and s.startswith("INSERT") for s in seen)
    ours = [s for s in seen if not driver_reset(s)]
    broken = sorted({f"{problem}: {s.strip()[:200]}" for s in ours for problem in problems(s)})
    assert broken == [], "\n".join(broken)
