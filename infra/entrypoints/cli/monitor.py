"""``vangnet monitor import FILE --school SLUG``: a school's monitor averages from a CSV file,
as on the yearly-report page (format and checks: :mod:`infra.adapters.monitor_csv`). A bad row
refuses
the whole file (exit 2, naming the line) and nothing is stored; a year imported before is
replaced; the import is recorded with ``cli`` as who imported it."""

from __future__ import annotations

from pathlib import Path

import anyio
import click

from infra.adapters.monitor_averages import ensure_monitor_table, record_import
from infra.adapters.monitor_csv import MAX_BYTES
from infra.adapters.monitor_csv import parse as parse_monitor_csv
from infra.entrypoints.cli.common import open_container
from services.shared.errors import InvalidInput

#: Who imported, in ``platform.monitor_average_imports``, for an import from the command line.
CLI_IMPORTER = "cli"


@click.group("monitor")
def monitor() -> None:
    """A school's social-safety monitor averages (the yearly report)."""


@monitor.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--school", required=True, metavar="SLUG", help="the school's slug")
def import_averages(file: Path, school: str) -> int:
    """Import a school's monitor averages from a CSV file (schooljaar;veiligheid;pesten;
    welbevinden)."""
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as e:
        msg = f"cannot read {file}: {e.strerror}"
        raise InvalidInput(msg, field="file", reason="unreadable") from None
    rows = parse_monitor_csv(data)
    with open_container() as container:
        found = container.registry.school_by_slug(school)

        async def store() -> tuple[int, ...]:
            pool = await container.open_read_pool()
            try:
                await ensure_monitor_table(pool)
                done = await record_import(
                    pool,
                    found.id,
                    [(row.year.start, row.averages) for row in rows],
                    imported_by=CLI_IMPORTER,
                )
            finally:
                await pool.close()
            return done.replaced

        replaced = anyio.run(store)
    years = ", ".join(str(row.year) for row in rows)
    click.echo(
        f"{found.slug}: imported {len(rows)} school year(s) ({years}); replaced {len(replaced)}"
    )
    return 0
