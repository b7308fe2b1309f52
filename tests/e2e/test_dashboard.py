"""In Chromium: a manager opens the model-debt dashboard, the charts draw without a console error, a filter
changes the figures, and a figure and a chart drill down to the models behind them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.portal.dashboard.history import NOW, build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_reads_the_dashboard_filters_and_drills_down(page, manager):
    with time_machine.travel(NOW, tick=True):
        build()
        debt_backfill(since=NOW.date() - dt.timedelta(days=30))
        debt_snapshot_take()
        login(page, manager.username)
        page.click("nav >> text=Model debt")
        page.wait_for_url("**/dashboard/")
        for chart in ("trend", "funnel", "heatmap", "leadtime", "dwell"):
            page.wait_for_selector(f"#chart-{chart} .main-svg")
        _shot(page, "20-dashboard")
        assert page.console_errors == []
        everyone = page.inner_text("[data-figure=debt_index]")
        assert page.inner_text("[data-figure=stuck]") == "1"

        page.check("input[name=team][value=beta]")
        page.click("text=Apply")
        page.wait_for_url("**team=beta**")
        page.wait_for_selector("#chart-trend .main-svg")
        assert page.inner_text("[data-figure=debt_index]") == "9.4"  # beta-low alone: 100 × 1.5 / 16
        assert page.inner_text("[data-figure=debt_index]") != everyone
        assert page.inner_text("[data-figure=stuck]") == "0"
        assert "alpha-critical" not in page.inner_text("main")

        page.click("a.fig:has([data-figure=shelf])")
        page.wait_for_url("**figure=shelf**")
        rows = page.inner_text("#drill-table")
        assert "beta-low" in rows and "first reached test" in rows
        _shot(page, "21-dashboard-drill")

        page.goto("/dashboard/")
        page.wait_for_selector("#chart-funnel .main-svg")
        # Plotly listens on the plot area above the bars: click where the fourth bar ("Reached production") is.
        page.locator("#chart-funnel").scroll_into_view_if_needed()
        box = page.locator("#chart-funnel .trace .point >> nth=3").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url("**figure=funnel_production**")
        rows = page.inner_text("#drill-table")
        assert "alpha-critical" in rows and "gamma-medium" in rows and "beta-low" not in rows
        assert page.console_errors == []
