"""``vangnet migrate``: bring the database up to this version, once, before a rollout.

Every process already does this when it opens the database (idempotent ``CREATE … IF NOT
EXISTS``, re-sealing logs an older version wrote); the deployment files run it once first as a
Job (Kubernetes) or a one-shot service (compose), so a schema change happens before any new web
or worker process starts, under no load, and a failure stops the rollout instead of a crash
loop. What it does:

1. the ``platform`` schema: the registry's tables and the checkpoint table; logs written by an
   older version are re-sealed (:mod:`infra.adapters.audit.migration`);
2. every school's view tables and positions (new tables of a new view are created; a view whose
   rows changed shape is rebuilt beside the live one with ``vangnet projections rebuild``).

``--wait S`` waits up to S seconds for the database to answer (a database container starting
beside it). Exit 0 when done, 2 when refused (settings), 1 when the database never answered.
"""

from __future__ import annotations

import time

import click

from infra.bootstrap import views
from infra.bootstrap.container import Container
from infra.config.settings import Settings
from infra.entrypoints.cli.common import each_with_progress

EXIT_UNREACHABLE = 1


@click.command("migrate")
@click.option(
    "--wait",
    type=click.FloatRange(min=0.0),
    default=0.0,
    metavar="SECONDS",
    help="wait this long for the database to answer (default: do not wait)",
)
def migrate(wait: float) -> int:
    """Bring the platform schema and every school's view tables up to this version (run once
    before starting a new version's processes)."""
    settings = Settings.from_env()
    deadline = time.monotonic() + wait
    while True:
        try:
            container = Container.open(settings)
            break
        except Exception as e:  # the database is not there (yet)
            if time.monotonic() >= deadline:
                reason = type(e).__name__
                click.echo(f"vangnet: the database does not answer ({reason})", err=True)
                return EXIT_UNREACHABLE
            time.sleep(1.0)
    with container:
        schools = container.registry.list_schools()
        for _bar, school in each_with_progress("schools", schools, lambda s: s.slug):
            views.ensure_school_views(container, school.id)
        click.echo(f"migrated: the platform schema and {len(schools)} school(s)' view tables")
    return 0
