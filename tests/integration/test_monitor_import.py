"""The monitor averages imported from a CSV file through the school's yearly-report page, on real
PostgreSQL: a good file is stored and the import recorded (when, by whom, which years it
replaced); a hostile or wrong file is refused naming its line, and nothing of it is stored."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from infra.adapters.monitor_csv import MAX_BYTES
from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.cli import main
from services.access.roles import Role
from tests.conftest import TEST_MASTER_KEY_B64
from tests.integration.test_yearly_report import _monitor_rows
from tests.integration.web import (
    FakeIssuer,
    Issuers,
    bearer,
    configure_fake_login,
    log_in,
    make_world,
    principal,
    web_client,
)

pytestmark = pytest.mark.integration

IMPORT_URL = "/school/jaarverslag/monitor/import"
HEADER = "schooljaar;veiligheid;pesten;welbevinden\n"


def _imports(database_url: str, school_id: UUID) -> list[tuple[str, list[int], list[int]]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT imported_by, school_years, replaced FROM platform.monitor_average_imports"
            " WHERE school_id = %s ORDER BY imported_at",
            (school_id,),
        ).fetchall()
    return [(r[0], list(r[1]), list(r[2])) for r in rows]


def _upload(client: Any, data: bytes, token: str) -> Any:
    return client.post(
        IMPORT_URL,
        data={"_csrf_token": token},
        files={"bestand": ("monitor.csv", data, "text/csv")},
        follow_redirects=False,
    )


def test_the_coordinator_imports_monitor_averages(container: Container, database_url: str) -> None:
    world = make_world(container, "monitor-import")
    a = world.school_a
    coordinator = principal(a, Role.COORDINATOR)
    with web_client(container) as client:
        log_in(client, coordinator)
        page = client.get("/school/jaarverslag?schooljaar=2025-2026").text
        assert f'action="{IMPORT_URL}"' in page
        assert "schooljaar;veiligheid;pesten;welbevinden" in page  # the format, documented
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert token
        csrf = token.group(1)

        hostile = {
            "formula": (HEADER + "2024-2025;80;10;7\n2025-2026;=cmd|' /C calc'!A0;1;2\n", 3),
            "duplicate year": (HEADER + "2024-2025;80;10;7\n2024-2025;81;10;7\n", 3),
            "out of range": (HEADER + "2024-2025;80;10;7\n2025-2026;80;101;7\n", 3),
            "bad year": (HEADER + "2024-2025;80;10;7\n2025/26;80;10;7\n", 3),
            "no columns": ("jaar;a;b\n2024-2025;1;2\n", 1),
        }
        for name, (text, line) in hostile.items():
            refused = _upload(client, text.encode(), csrf)
            assert refused.status_code == 422, name
            assert f"Regel {line}" in refused.text, name
            assert "Er is niets opgeslagen." in refused.text, name
        latin1 = (HEADER + "2024-2025;80;10;7\n2025-2026;8\xe9;1;2\n").encode("latin-1")
        refused = _upload(client, latin1, csrf)
        assert refused.status_code == 422, refused.text[:3000]
        assert "Regel 3: Het bestand is geen UTF-8-tekst." in refused.text
        huge = (HEADER + "2024-2025;80;10;7\n").encode() + b"\n" * MAX_BYTES
        assert _upload(client, huge, csrf).status_code == 413
        assert client.post(IMPORT_URL, data={"_csrf_token": csrf}).status_code == 422
        assert _monitor_rows(database_url, a.id) == []
        assert _imports(database_url, a.id) == []

        # A good file (BOM, decimal commas) is stored; the import is recorded.
        good = "\ufeff" + HEADER + "2024-2025;86,5;14;7,8\n2025-2026;87,5;12,0;7,5\n"
        saved = _upload(client, good.encode(), csrf)
        assert saved.status_code == 303, saved.text
        assert (
            saved.headers["location"] == "/school/jaarverslag?schooljaar=2025-2026&geimporteerd=2"
        )
        assert "geïmporteerd: 2 schooljaren" in client.get(saved.headers["location"]).text
        assert sorted(_monitor_rows(database_url, a.id)) == [
            (2024, "86.5", "14.0", "7.8"),
            (2025, "87.5", "12.0", "7.5"),
        ]
        # Imported again (commas, quoted decimals): the year is replaced, and that is recorded.
        again = 'schooljaar,veiligheid,pesten,welbevinden\n2025-2026,"88,0",11,7\n'
        assert _upload(client, again.encode(), csrf).status_code == 303
        assert sorted(_monitor_rows(database_url, a.id))[1] == (2025, "88.0", "11.0", "7.0")
        recorded = _imports(database_url, a.id)
        who = recorded[0][0]  # the coordinator's person id in the school's directory
        assert who
        assert recorded == [(who, [2024, 2025], []), (who, [2025], [2025])]
        assert _monitor_rows(database_url, world.school_b.id) == []

    with web_client(container) as client:
        # The board reads the report but does not import for a school here.
        log_in(client, principal(a, Role.BOARD))
        assert IMPORT_URL not in client.get("/bestuur/jaarverslag?schooljaar=2025-2026").text


def test_a_board_imports_for_its_own_schools_only(container: Container, database_url: str) -> None:
    world = make_world(container, "monitor-board")
    other = make_world(container, "monitor-other")
    a, b = world.school_a, world.school_b
    url = "/bestuur/jaarverslag/monitor/import"
    with web_client(container) as client:
        log_in(client, principal(a, Role.BOARD))
        page = client.get("/bestuur/jaarverslag?schooljaar=2025-2026").text
        assert f'action="{url}"' in page
        assert "school;schooljaar;veiligheid;pesten;welbevinden" in page
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert token

        def upload(text: str) -> Any:
            return client.post(
                url,
                data={"_csrf_token": token.group(1)},
                files={"bestand": ("monitor.csv", text.encode(), "text/csv")},
                follow_redirects=False,
            )

        head = "school;schooljaar;veiligheid;pesten;welbevinden\n"
        mine = f"{a.slug};2025-2026;80;10;7\nSchool B;2025-2026;81;11;8\n"
        # Another board's school (by short name), a school column left empty, no school column,
        # the same school and year twice: refused naming the line; nothing stored anywhere.
        for text, line in (
            (head + mine + f"{other.school_a.slug};2025-2026;70;20;6\n", 4),
            (head + mine + ";2024-2025;70;20;6\n", 4),
            (HEADER + "2025-2026;80;10;7\n", 1),
            (head + mine + f"{a.slug.upper()};2025-2026;1;2;3\n", 4),
        ):
            refused = upload(text)
            assert refused.status_code == 422, text
            assert f"Regel {line}" in refused.text, text
            assert "Er is niets opgeslagen." in refused.text
        assert (
            "hoort niet bij uw bestuur"
            in upload(head + f"{other.school_b.slug};2025-2026;1;2;3\n").text
        )
        for school in (a, b, other.school_a, other.school_b):
            assert _monitor_rows(database_url, school.id) == []

        saved = upload(head + mine)
        assert saved.status_code == 303, saved.text
        assert "geïmporteerd: 2 schooljaren" in client.get(saved.headers["location"]).text
        assert _monitor_rows(database_url, a.id) == [(2025, "80.0", "10.0", "7.0")]
        assert _monitor_rows(database_url, b.id) == [(2025, "81.0", "11.0", "8.0")]
        assert [r[1:] for r in _imports(database_url, b.id)] == [([2025], [])]
        assert _monitor_rows(database_url, other.school_a.id) == []

    with web_client(container) as client:
        # A coordinator cannot use the board's import.
        log_in(client, principal(a, Role.COORDINATOR))
        page = client.get("/school/jaarverslag").text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
        assert token
        forbidden = client.post(
            url,
            data={"_csrf_token": token.group(1)},
            files={"bestand": ("m.csv", (HEADER + "2025-2026;1;2;3\n").encode(), "text/csv")},
            follow_redirects=False,
        )
        assert forbidden.status_code == 403


def test_the_cli_imports_a_schools_file(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VANGNET_MASTER_KEY", TEST_MASTER_KEY_B64)
    monkeypatch.setenv("VANGNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VANGNET_POOL_SIZE", "2")
    with Container.open(Settings.from_env()) as container:  # the CLI opens its own
        a = make_world(container, "monitor-cli").school_a
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "2024-2025;80;10;7\n2025-2026;=1+1;10;7\n").encode())
    assert main(["monitor", "import", str(bad), "--school", a.slug]) == 2
    assert "line 3" in capsys.readouterr().err
    assert _monitor_rows(database_url, a.id) == []
    good = tmp_path / "good.csv"
    good.write_bytes(("\ufeff" + HEADER + "2024-2025;80,5;10;7\n").encode())
    assert main(["monitor", "import", str(good), "--school", a.slug]) == 0
    assert "imported 1 school year(s) (2024-2025)" in capsys.readouterr().out
    assert _monitor_rows(database_url, a.id) == [(2024, "80.5", "10.0", "7.0")]
    assert _imports(database_url, a.id) == [("cli", [2024], [])]
    assert main(["monitor", "import", str(tmp_path / "none.csv"), "--school", a.slug]) == 2


def test_monitor_averages_through_the_api(container: Container, database_url: str) -> None:
    """A school's integration enters a year's averages with PUT and reads them back; a bad year,
    a bad number or another role is refused and nothing is stored; another school sees none."""
    world = make_world(container, "monitor-api")
    a, b = world.school_a, world.school_b
    issuer_a = FakeIssuer(f"https://idp.test/{a.slug}", "vangnet-api")
    issuer_b = FakeIssuer(f"https://idp.test/{b.slug}", "vangnet-api")
    configure_fake_login(container, a, issuer_a)
    configure_fake_login(container, b, issuer_b)
    url = "/api/school/monitor-averages"
    body = {"safety": 86.5, "bullying": 14, "wellbeing": 7.8}
    transport = Issuers(issuer_a, issuer_b).transport
    with web_client(container, http_transport=transport) as client:
        coordinator = bearer(issuer_a, a, Role.COORDINATOR)
        assert client.get(url, headers=coordinator).json() == []

        refusals = [
            ("2025-2027", body, 422),  # not two following years
            ("2025-26", body, 400),  # not shaped like a school year
            ("2025-2026", {**body, "safety": 101}, 400),
            ("2025-2026", {**body, "safety": 86.55}, 422),  # two decimals
            ("2025-2026", {**body, "extra": 1}, 400),
            ("2025-2026", {"safety": 86.5}, 400),
        ]
        for year, sent, status in refusals:
            refused = client.put(f"{url}/{year}", json=sent, headers=coordinator)
            assert refused.status_code == status, (year, sent, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        mentor = bearer(issuer_a, a, Role.TEACHER)
        assert client.put(f"{url}/2025-2026", json=body, headers=mentor).status_code == 403
        assert _imports(database_url, a.id) == []

        stored = client.put(f"{url}/2025-2026", json=body, headers=coordinator)
        assert stored.status_code == 200, stored.text
        assert stored.json() == {
            "school_year": "2025-2026", "safety": 86.5, "bullying": 14.0, "wellbeing": 7.8,
        }  # fmt: skip
        again = client.put(f"{url}/2025-2026", json={**body, "safety": 88}, headers=coordinator)
        assert again.status_code == 200
        assert [r["safety"] for r in client.get(url, headers=coordinator).json()] == [88.0]
        person = _imports(database_url, a.id)
        assert [(years, replaced) for _, years, replaced in person] == [
            ([2025], []),
            ([2025], [2025]),
        ]
        # The other school has none of it.
        assert client.get(url, headers=bearer(issuer_b, b, Role.COORDINATOR)).json() == []
        # The yearly report shows what the API entered.
        log_in(client, principal(a, Role.COORDINATOR))
        page = client.get("/school/jaarverslag?schooljaar=2025-2026").text
        assert "88,0" in page
