"""In Chromium: IT approves a release, and the manager's dashboard agrees with itself at once; the index's
drill-down adds up to the card; the charts, filters and links read as they say."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from importlib import import_module

import pytest
import time_machine
from django.apps import apps

from approvals import services
from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.factories import JUSTIFICATION as WHY
from tests.factories import RegisteredModelFactory, UserFactory, evidence, version_create
from tests.portal.dashboard.history import NOW, build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _board(page) -> dict:
    return json.loads(page.inner_text("#dashboard-data"))


def test_a_release_shows_on_the_dashboard_at_once_and_every_figure_adds_up(page, manager, scientist, team):
    import_module("approvals.migrations.0002_default_policies").create(apps, None)  # flushed by earlier tests
    with time_machine.travel(NOW, tick=True):
        build()
        debt_backfill(since=NOW.date() - dt.timedelta(days=10))
        itops = UserFactory(username="ivo", role="it-operations")
        model = RegisteredModelFactory(
            name="churn",
            team=team,
            owner=scientist,
            risk_tier="low",
            slo_p99_latency_ms=10.0,
            slo_min_throughput=1000.0,
            intended_use="x",
        )
        version = version_create(model, scientist)
        ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
        evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
        request = services.promotion_request_open(actor=scientist, version=version, action="promote", justification=WHY)
        debt_snapshot_take()  # the 5-minute snapshot, taken before the release
        login(page, manager.username)
        page.goto("/dashboard/")
        before = _board(page)["headline"]["in_production"]["value"]

        services.promotion_request_decide(actor=itops, request=request, decision="approve", comment="Go.")
        assert ModelVersion.objects.get(pk=version.pk).stage == Stage.PRODUCTION

        page.goto("/dashboard/")  # seconds later, well inside the snapshot's five minutes
        page.wait_for_selector("#chart-funnel .main-svg")
        board = _board(page)
        in_production = board["headline"]["in_production"]["value"]
        assert in_production == before + 1
        assert in_production == board["funnel"][-1]["value"] == board["funnel"][-2]["value"]  # one moment
        assert "taken every few minutes, and at once for a model a release moves" in page.inner_text(".pagehead")
        assert page.console_errors == []

        # The heatmap writes its numbers and what they are of; the lead time is one dot per model.
        heat = page.inner_text("#chart-heatmap")
        assert "%" in heat and " of " in heat
        dots = len(board["lead_time_days"])
        assert page.locator("#chart-leadtime .scatterlayer .point").count() == dots
        _shot(page, "30-dashboard-after-release")

        # The index's drill-down: every live model, with its weight and share, adding up to the card.
        page.click("a.fig-index")
        page.wait_for_url("**figure=debt_index**")
        card = float(page.inner_text("#index-sum strong"))
        assert card == round(board["headline"]["debt_index"]["value"], 1)
        shares = page.locator("#drill-table tbody tr td:nth-child(6)").all_inner_texts()
        assert len(shares) == 4  # the three live models of the history, and churn
        assert abs(sum(float(s) for s in shares) - card) < 0.05 * len(shares)
        _shot(page, "31-index-drill")
        download = page.request.get(page.get_attribute("a:has-text('Download CSV')", "href"))
        rows = list(csv.DictReader(io.StringIO(download.text())))
        assert len(rows) == len(shares) and {"risk_weight", "share_of_index"} <= set(rows[0])

        # Teams are boxes to tick; the JSON link answers JSON.
        page.goto("/dashboard/")
        page.check(f"input[name=team][value={team.slug}]")
        page.click("text=Apply")
        page.wait_for_url(f"**team={team.slug}**")
        assert page.inner_text("[data-figure=in_production]") == "1"
        json_link = page.get_attribute("a:has-text('JSON (API)')", "href")
        answer = page.request.get(json_link)
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["filters"]["teams"] == [team.slug]
