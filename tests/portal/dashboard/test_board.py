"""The board: every figure of the page, its filters, and its queries. On the constructed history of
tests/portal/dashboard/history.py, with the expected values worked out by hand (NOW is Monday
2026-06-15 12:00 UTC)."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.dashboard.board import dashboard
from portal.dashboard.drill import drill
from portal.dashboard.export import as_dict
from portal.dashboard.figures import Scope
from portal.dashboard.snapshots import debt_snapshot_take
from tests.factories import RegisteredModelFactory
from tests.portal.dashboard.history import INDEX, NOW, change, version

pytestmark = pytest.mark.django_db


def test_dashboard_figures_funnel_shelf_heatmap_and_filters(history):
    with time_machine.travel(NOW, tick=False):
        debt_snapshot_take()
        board = dashboard(Scope())
        beta = dashboard(Scope(teams=["beta"]))
        critical = dashboard(Scope(tiers=["critical"]))
        assert board.live and board.day == NOW.date()
        assert board.headline["in_production"].value == 2
        assert board.headline["stuck"].value == 1
        assert board.headline["ungoverned"].value == 2
        assert board.headline["debt_index"].value == pytest.approx(
            (4 * INDEX["alpha-critical"] + 1 * INDEX["beta-low"] + 2 * INDEX["gamma-medium"]) / 7, abs=1e-3
        )
        assert [f.value for f in board.funnel] == [5, 4, 3, 2, 2]
        assert [f.value for f in board.shelf] == [0, 1, 0, 0, 0]
        heat = board.heatmap
        assert heat["teams"] == ["Alpha", "Beta"]
        assert heat["z"][1][heat["keys"].index("shelf")] == 50.0
        # gamma's overdue low finding (0.5 × 2) puts it above beta now.
        assert [s.model.name for s in board.top] == ["alpha-critical", "gamma-medium", "beta-low"]
        assert board.headline["overdue_findings"].value == 1
        _, explanation, rows = drill(board, "overdue_findings")
        assert [r.name for r in rows] == ["gamma-medium"] and "past their due date" in explanation
        assert rows[0].note.startswith("1 finding(s) past due: #") and " low due " in rows[0].note
        assert board.top[0].worst == "unmonitored" and "working day" in board.top[0].details["stuck"]
        assert beta.headline["debt_index"].value == pytest.approx(INDEX["beta-low"], abs=1e-3)
        assert critical.headline["debt_index"].value == pytest.approx(INDEX["alpha-critical"], abs=1e-3)
        title, _, rows = drill(board, "stuck")
        assert title == "Stuck request" and [r.name for r in rows] == ["alpha-critical"]
        _, _, rows = drill(board, f"heat:{history['team_b'].pk}:shelf")
        assert [r.name for r in rows] == ["beta-low"]
        _, _, rows = drill(board, "funnel_production")
        assert sorted(r.name for r in rows) == ["alpha-critical", "gamma-medium"]
        _, _, rows = drill(board, "shelf_30")
        assert [r.name for r in rows] == ["beta-low"] and "45 days ago" in rows[0].note
        with pytest.raises(KeyError):
            drill(board, "nonsense")


def test_dashboard_query_count_does_not_grow_with_models(history):
    def count() -> int:
        with time_machine.travel(NOW, tick=False):
            debt_snapshot_take()
            with CaptureQueriesContext(connection) as queries:
                board = dashboard(Scope())
                as_dict(board)
        return len(queries.captured_queries)

    before = count()
    for n in range(12):
        model = RegisteredModelFactory(name=f"more-{n}", team=history["team_a"], risk_tier="high")
        v = version(model, 1, created=40)
        change(v, "design", "test", 35)
        change(v, "test", "production", 30)
    assert count() == before
