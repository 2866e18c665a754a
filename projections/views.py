"""The catalogue of the read side's views: every view a school has, in the order they are
applied within a batch (the engine, the worker, erasure's purge and the CLI all take it from
here)."""

from __future__ import annotations

from projections.board_stats.projection import BoardStatsView
from projections.case_view.projection import CaseView
from projections.engine import View
from projections.escalation.projection import EscalationView
from projections.incident_stats.projection import IncidentStatsView
from projections.lessons.projection import LessonsView
from projections.notifications.projection import NotificationsView
from projections.pupils.projection import PupilCasesView

#: Every view, in the order they are applied within a batch.
ALL_VIEWS: tuple[View, ...] = (
    CaseView(),
    NotificationsView(),
    BoardStatsView(),
    LessonsView(),
    EscalationView(),
    PupilCasesView(),
    IncidentStatsView(),
)
