"""Every SQL string in the code follows the conventions that keep a school's schema movable to
another node (README, "SQL in a school's schema"; the rules in :mod:`tests.sql_conventions`).

The scan reads each module's syntax tree: a string literal (implicit concatenation already
joined) or an f-string (its fields read as a name) that starts like a statement, or contains
``ON CONFLICT``, is checked. Statements built at run time from fragments are covered by the
integration tier, which inspects what is actually executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra.adapters.audit.access_log import create_statements
from infra.adapters.postgres.chain import (
    head_statement,
    insert_events_statement,
    insert_links_statement,
)
from infra.entrypoints.web.sessions import SESSION_TABLE_DDL
from tests.sql_conventions import STATEMENT_START, problems

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "infra",
    "projections",
    "services",
    "tenants",
    "bench",
)


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append("x")  # an interpolated identifier or placeholder
        return "".join(parts)
    return None


def sql_strings() -> list[tuple[str, str]]:
    """(``path:line``, text) of every string in the code that reads as SQL."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            skipped = {  # parts of f-strings (read with theirs), docstrings and bare strings
                id(value)
                for node in ast.walk(tree)
                if isinstance(node, ast.JoinedStr)
                for value in node.values
            } | {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
            for node in ast.walk(tree):
                if id(node) in skipped:
                    continue
                text = _text(node)
                if text is None:
                    continue
                if STATEMENT_START.match(text) or "ON CONFLICT" in text:
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


def test_the_scan_finds_the_code_s_sql() -> None:
    """The scan is not vacuous: it sees the statements we know are there."""
    where = {place.split(":")[0] for place, _ in sql_strings()}
    assert {
        "infra/bootstrap/notifications.py",
        "infra/adapters/audit/access_log.py",
        "infra/adapters/postgres/chain.py",
        "infra/entrypoints/web/sessions.py",
        "projections/engine.py",
    } <= where
    assert len(sql_strings()) > 100


def test_every_sql_string_follows_the_conventions() -> None:
    broken = [
        f"{place}: {problem}\n    {text.strip()[:160]}"
        for place, text in sql_strings()
        for problem in problems(text)
    ]
    assert broken == [], "\n".join(broken)


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("CREATE TABLE a (x int); CREATE INDEX b ON a (x)", "more than one statement"),
        (
            "WITH RECURSIVE walk AS (SELECT 1) INSERT INTO t SELECT * FROM walk",
            "recursive CTE",
        ),
        (
            "INSERT INTO s (k, at) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET at = "
            "excluded.at WHERE s.at < now() - %s RETURNING k",
            "not immutable",
        ),
        ("SELECT nextval(pg_get_serial_sequence('t', 'id'))", "sequence"),
    ],
)
def test_the_rules_name_what_a_distributed_schema_refuses(statement: str, problem: str) -> None:
    assert any(problem in found for found in problems(statement))


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO s (k) VALUES ('a;b') ON CONFLICT (k) DO UPDATE SET at = excluded.at "
        "WHERE s.at < %s RETURNING k",
        'SELECT 1 FROM "odd;name" WHERE now() > %s;',
        "WITH RECURSIVE walk AS (SELECT 1) SELECT * FROM walk",
    ],
)
def test_the_rules_leave_what_a_distributed_schema_accepts(statement: str) -> None:
    assert problems(statement) == []


def test_statements_built_from_parts_follow_the_conventions() -> None:
    """The statements composed with identifiers at run time, rendered for a sample school."""
    built = [
        head_statement("school_x", "casework_events"),
        insert_events_statement("school_x", "casework_events", "uuid"),
        insert_links_statement("school_x", "casework_events"),
        *create_statements("school_x"),
    ]
    rendered = [statement.as_string() for statement in built] + list(SESSION_TABLE_DDL)
    assert [(text, problems(text)) for text in rendered if problems(text)] == []
    # The access log's ids are the school's own counter, not a sequence (serial) column.
    assert "serial" not in create_statements("school_x")[0].as_string()
