"""The SQL conventions that keep a school's schema movable (README, "SQL in a school's schema"),
as checks on one statement's text.

Used two ways: the unit tier scans every SQL string in the code
(``tests/unit/test_sql_conventions.py``), and the integration tier inspects every statement a
journey actually sends to PostgreSQL (``tests/integration/test_sql_conventions.py``). They are
the rules Citus schema-based sharding needs (each school's schema placed whole on a worker node)
that plain PostgreSQL does not enforce, so a test has to.
"""

from __future__ import annotations

import re

#: How a statement starts (uppercase keywords: our code writes SQL keywords in capitals).
STATEMENT_START = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH|LOCK|SET|TRUNCATE|COPY|NOTIFY"
    r"|LISTEN|GRANT|REVOKE|COMMENT|DO|VACUUM|ANALYZE)\b"
)
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$\$.*?\$\$", re.DOTALL)
_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_RECURSIVE = re.compile(r"\bWITH\s+RECURSIVE\b", re.IGNORECASE)
_ON_CONFLICT = re.compile(r"\bON\s+CONFLICT\b(?P<clause>.*?)(?:\bRETURNING\b|$)", re.I | re.S)
#: Functions that are not immutable and show up in code like ours (clock, random, sequences).
_NOT_IMMUTABLE = re.compile(
    r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random"
    r"|gen_random_uuid|nextval|currval|txid_current)\s*\(|\b(current_timestamp|current_date"
    r"|current_time|localtimestamp|localtime)\b",
    re.IGNORECASE,
)
_SEQUENCE = re.compile(r"\b(nextval|setval|currval)\s*\(", re.IGNORECASE)


def without_literals(statement: str) -> str:
    """The statement with quoted strings, quoted identifiers and dollar-quoted bodies blanked
    (a ``;`` or a keyword inside them is not SQL)."""
    return _QUOTED.sub("''", statement)


def problems(statement: str) -> list[str]:
    """What in ``statement`` a distributed schema refuses or gets wrong (empty: fine)."""
    sql = without_literals(statement).strip().rstrip(";")
    found = []
    if ";" in sql:
        found.append("more than one statement in one execute: send each on its own")
    if _RECURSIVE.search(sql) and _WRITE.search(sql):
        found.append(
            "a recursive CTE in a write statement: read first, then write in its own statement"
        )
    for match in _ON_CONFLICT.finditer(sql):
        if _NOT_IMMUTABLE.search(match.group("clause")):
            found.append(
                "a function that is not immutable in ON CONFLICT …: compute the value first "
                "and bind it"
            )
    if _SEQUENCE.search(sql):
        found.append(
            "a value taken from a sequence: ids that order a chain must move with the school "
            "(keep a counter in the rows, under the table's lock)"
        )
    return found
