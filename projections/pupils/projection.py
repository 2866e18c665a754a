"""Pupil links: which register pupil takes part in which case, in which role (school schema).

Words: ``pupil_cases`` has one row per participant of a case that is a pupil of the school's
register (``ParticipantAdded.pupil_id``): the pupil id, the case, the participant, the role in
that case, when they were added and at which version of the case. No name, number or group:
pages resolve those from the register when they render (so erasing a pupil, which destroys
their key, leaves nothing here to purge). The case's dates and status come from the case view
at query time (:mod:`projections.pupils.queries`).

A case's erasure (``ErasureRequested``) erases the link of every participant added before it
(their keys are destroyed with it, so a replay cannot read those links either): the rows go.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.sql import SQL

from projections.engine import Batch, Target, View
from services.casework.domain import Case

TABLE = "pupil_cases"

PUPIL_CASES_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    case_id uuid NOT NULL,
    participant_id uuid NOT NULL,
    pupil_id uuid NOT NULL,
    role text NOT NULL,
    added_at timestamptz NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (case_id, participant_id)
)"""


class PupilCasesView(View):
    """Which register pupil is in which case, in which role."""

    name = "pupil_cases"
    holds_pupil_data = True  # the link between a pupil and a case goes with the case's erasure
    school_tables = {TABLE: PUPIL_CASES_DDL}

    def process(self, curs: Cursor[Any], target: Target, batch: Batch) -> None:
        for _, event in batch:
            if isinstance(event, Case.ParticipantAdded) and event.pupil_id is not None:
                curs.execute(
                    SQL(
                        "INSERT INTO {} (case_id, participant_id, pupil_id, role, added_at,"
                        " version) VALUES (%s, %s, %s, %s, %s, %s)"
                        " ON CONFLICT (case_id, participant_id) DO NOTHING"
                    ).format(target.table(TABLE)),
                    (
                        event.originator_id,
                        event.participant_id,
                        event.pupil_id,
                        event.role,
                        event.timestamp,
                        event.originator_version,
                    ),
                )
            elif isinstance(event, Case.ErasureRequested):
                curs.execute(
                    SQL("DELETE FROM {} WHERE case_id = %s AND version < %s").format(
                        target.table(TABLE)
                    ),
                    (event.originator_id, event.originator_version),
                )

    def erase(self, curs: Cursor[Any], target: Target, case_id: UUID) -> None:
        """A case's erasure: its pupils' links go now (applying the event repeats it)."""
        curs.execute(
            SQL("DELETE FROM {} WHERE case_id = %s").format(target.table(TABLE)), (case_id,)
        )
