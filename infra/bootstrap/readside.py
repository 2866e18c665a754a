"""A short read-side report for operators and the demo: signals and board statistics.

It reads through the same asyncpg queries the web app will use, so the demo shows what the views
really contain.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from infra.adapters.postgres.embedded import database_url
from infra.bootstrap.container import Container
from projections import db
from projections.board_stats import queries as stats
from projections.escalation import queries as escalation
from tenants.registry import Board

#: What the summary shows of the board statistics: (measure, label).
SUMMARY_MEASURES = ((stats.NEW_CASES, "nieuwe meldingen"), (stats.CLOSED, "gesloten"))


def board_report(container: Container, board: Board) -> list[str]:
    """Lines describing the signals per school and this year's board totals (suppressed as
    ``SUPPRESSED_TEXT``)."""
    return asyncio.run(_board_report(container, board))


async def _board_report(container: Container, board: Board) -> list[str]:
    schools = container.registry.list_schools(board.id)
    today = datetime.now(UTC).date()
    lines = []
    conn = await db.connect(database_url(container.settings))
    try:
        for school in schools:
            found = await escalation.signals(
                conn, school.schema_name, today=today, protocol=school.protocol
            )
            kinds = Counter(s.kind.value for case in found.values() for s in case)
            listed = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) or "geen"
            lines.append(f"  {school.slug}: signals on {len(found)} cases ({listed})")
        cells = await stats.board_totals(
            conn, [s.id for s in schools], first_month=today.replace(month=1, day=1),
            last_month=today.replace(day=1),
        )  # fmt: skip
    finally:
        await conn.close()
    for measure, label in SUMMARY_MEASURES:
        per_month = [
            f"{c.month:%Y-%m} {stats.SUPPRESSED_TEXT if c.suppressed else c.value}"
            for c in cells
            if c.measure == measure and c.category is None and (c.value or c.suppressed)
        ]
        lines.append(f"  board statistics, {label}: {', '.join(per_month) or 'geen'}")
    return lines
