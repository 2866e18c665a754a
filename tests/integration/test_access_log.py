"""The access log: every read of a case's content is recorded — who, in which role, when, how —
in the school's own schema, chained, and shown to the auditor beside the case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from infra.adapters.audit import access_log
from infra.adapters.audit.access_log import record_case_read, record_case_read_async
from infra.adapters.audit.integrity import verify_school
from infra.adapters.audit.trail import current_trail
from infra.bootstrap.container import Container
from infra.bootstrap.views import catch_up_school
from projections.db import create_read_pool
from services.access.roles import Role
from services.audit.access_log import ReadKind
from services.casework.commands import ReportCase
from services.casework.handlers import CaseService
from services.shared.actor import Actor
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    World,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    staff,
    web_client,
)

pytestmark = pytest.mark.integration


@dataclass
class Site:
    client: TestClient  # type: ignore[type-arg]
    container: Container
    world: World
    issuer: FakeIssuer
    case_id: UUID

    def reads(self, case_id: UUID | None = None) -> list[dict[str, Any]]:
        schema = self.world.school_a.schema_name
        with self.container.pool.connection() as conn:
            rows = conn.execute(
                f'SELECT user_id, role, what, read_at FROM "{schema}".case_reads '
                "WHERE case_id = %s ORDER BY id",
                (case_id or self.case_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    def api(self, path: str, role: Role) -> Any:
        return self.client.get(path, headers=bearer(self.issuer, self.world.school_a, role))


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    world = make_world(container, "reads")
    issuer = FakeIssuer(f"https://idp.test/{world.school_a.slug}", "vangnet-api")
    configure_fake_login(container, world.school_a, issuer)
    service = CaseService(container.schools.get(world.school_a.id), world.school_a.id)
    case_id = service.report(
        Actor("test-reads-contact", Role.CONTACT_PERSON),
        ReportCase(reporter_kind="parent", summary="Fictieve melding (inzage)"),
    )
    catch_up_school(container, world.school_a.id)
    with web_client(container, http_transport=Issuers(issuer).transport) as client:
        yield Site(client, container, world, issuer, case_id)


def test_a_read_through_the_api_is_recorded(site: Site) -> None:
    assert site.reads() == []
    r = site.api(f"/api/cases/{site.case_id}", Role.COORDINATOR)
    assert r.status_code == 200
    (read,) = site.reads()
    # Who read it: the person of the staff directory that the token's login is.
    me = site.api("/api/me", Role.COORDINATOR).json()
    assert read["user_id"] == me["user_id"] != f"test-{site.world.school_a.slug}-coordinator"
    assert (read["role"], read["what"]) == ("coordinator", "case_api")
    assert read["read_at"].tzinfo is not None
    # The list of cases shows no case content (only summaries of the view): not recorded.
    assert site.api("/api/cases", Role.COORDINATOR).status_code == 200
    assert len(site.reads()) == 1


def test_reads_through_the_pages_are_recorded(site: Site) -> None:
    who = principal(site.world.school_a, Role.CONTACT_PERSON, user_id="test-reads-contact")
    who = log_in(site.client, who)
    assert site.client.get(f"/zaken/{site.case_id}").status_code == 200
    assert site.client.get(f"/zaken/{site.case_id}/add-note").status_code == 200
    assert [(r["user_id"], r["role"], r["what"]) for r in site.reads()] == [
        (who.user_id, "contact_person", "case_page"),
        (who.user_id, "contact_person", "action_form"),
    ]


def test_refused_reads_record_nothing(site: Site) -> None:
    # Not allowed to read case content at all (403), another school's person (404).
    assert site.api(f"/api/cases/{site.case_id}", Role.SAFETY_COORDINATOR).status_code == 403
    log_in(site.client, principal(site.world.school_b, Role.COORDINATOR))
    assert site.client.get(f"/zaken/{site.case_id}").status_code == 404
    assert site.reads() == []


def test_the_auditor_sees_every_read_beside_the_case(site: Site) -> None:
    site.api(f"/api/cases/{site.case_id}", Role.CONTACT_PERSON)
    # An export (not built yet) records its read through record_case_read.
    # A reader of the staff directory: the auditor's page names them (never their id).
    exporter = staff(
        site.container, site.world.school_a, Role.COORDINATOR, "Medewerker Fictief Exporteur"
    )
    with site.container.pool.connection() as conn:
        record_case_read(
            conn,
            site.world.school_a.schema_name,
            site.case_id,
            exporter,
            "coordinator",
            ReadKind.EXPORT,
        )
    site.api(f"/api/cases/{site.case_id}/state", Role.AUDITOR)
    site.api(f"/api/cases/{site.case_id}/diff", Role.AUDITOR)
    history = site.api(f"/api/cases/{site.case_id}/history", Role.AUDITOR).json()
    assert [(r["role"], r["what"]) for r in history["reads"]] == [
        ("contact_person", "case_api"),
        ("coordinator", "export"),
        ("auditor", "state"),
        ("auditor", "diff"),
        ("auditor", "history"),
    ]
    # ... and on the auditor's page, in Dutch.
    log_in(site.client, principal(site.world.school_a, Role.AUDITOR))
    page = site.client.get(f"/zaken/{site.case_id}/geschiedenis").text
    for shown in ("API: zaak", "export", "stand op een moment", "Medewerker Fictief Exporteur"):
        assert shown in page
    assert exporter not in page
    # The access log's chain is intact.
    report = verify_school(site.container.pool, site.world.school_a)
    assert report.ok, report.lines()
    assert report.reads == 6  # five above, and the page


def test_concurrent_reads_keep_one_chain(site: Site) -> None:
    schema = site.world.school_a.schema_name

    async def many() -> None:
        pool = await create_read_pool(str(site.container.pool.conninfo), max_size=8)
        try:
            await asyncio.gather(
                *(
                    record_case_read_async(
                        pool, schema, site.case_id, f"user-{n}", "auditor", ReadKind.HISTORY
                    )
                    for n in range(40)
                )
            )
        finally:
            await pool.close()

    asyncio.run(many())
    report = verify_school(site.container.pool, site.world.school_a)
    assert report.ok, report.lines()
    assert report.reads == 40


def test_a_read_that_cannot_be_recorded_shows_nothing(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    schema = site.world.school_a.schema_name
    with site.container.pool.connection() as conn:
        conn.execute(f'DROP TABLE "{schema}".{access_log.TABLE}')
    caplog.set_level(logging.CRITICAL)
    try:
        r = site.api(f"/api/cases/{site.case_id}", Role.COORDINATOR)
        assert r.status_code == 500
        assert "Fictieve melding" not in r.text
    finally:
        with site.container.pool.connection() as conn:
            access_log.create_access_log(conn, schema)


def test_ids_follow_the_log_not_a_sequence_so_a_moved_school_keeps_verifying(
    site: Site,
) -> None:
    """A read's id is the head's plus one: the log's own counter, which moves with its rows.

    With Citus schema-based sharding a sequence's values depend on the node holding the school
    (each node hands out its own range): a sequence would go backwards after a move, and the
    chain, walked in id order, would look tampered with. Played out on one node: the log's
    first read was written on a node whose range is high (as an older version wrote it, with
    the sequence's value), and where the school lives now the table's sequence starts low.
    """
    schema = site.world.school_a.schema_name
    table = f'"{schema}".{access_log.TABLE}'
    high = (2 << 48) + 7  # another node's range
    key = current_trail().chain_key(schema, access_log.TABLE)
    with site.container.pool.connection() as conn:
        read_at = conn.execute("SELECT now() AS now").fetchone()["now"]  # type: ignore[index]
        hash_ = access_log.link(
            key,
            access_log.genesis(schema),
            access_log.encode_read(high, site.case_id, "test-mover", "auditor", "history", read_at),
        )
        conn.execute(
            f"INSERT INTO {table} (id, case_id, user_id, role, what, read_at, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (high, site.case_id, "test-mover", "auditor", "history", read_at, hash_),
        )
        conn.execute(f'CREATE SEQUENCE "{schema}".moved_reads_seq START WITH 1')
        conn.execute(
            f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT "
            f"nextval('\"{schema}\".moved_reads_seq')"
        )
        ids = [
            record_case_read(conn, schema, site.case_id, f"test-mover-{n}", "auditor", kind)
            for n, kind in enumerate((ReadKind.CASE_API, ReadKind.HISTORY, ReadKind.STATE))
        ]
    assert ids == [high + 1, high + 2, high + 3]
    report = verify_school(site.container.pool, site.world.school_a)
    assert report.ok, report.lines()
    assert report.reads == 4
