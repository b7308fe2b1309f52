"""Flow metrics and the milestones they read. On the constructed history of
tests/portal/dashboard/history.py, with the expected values worked out by hand (NOW is Monday
2026-06-15 12:00 UTC)."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

import pytest
import time_machine
from django.apps import apps

from approvals import services as approvals
from approvals.milestones import rebuild
from approvals.models import StageChange
from portal.dashboard.board import dashboard
from portal.dashboard.drill import drill, flow_rows
from portal.dashboard.figures import Scope, range_bounds
from portal.dashboard.flow import flow_metrics
from portal.dashboard.snapshots import debt_snapshot_take
from registry.models import ModelVersion, RegisteredModel
from tests.factories import JUSTIFICATION as WHY
from tests.factories import RegisteredModelFactory, UserFactory, evidence, version_create
from tests.portal.dashboard.history import NOW, ago, change, request

pytestmark = pytest.mark.django_db


def test_flow_metrics(history):
    with time_machine.travel(NOW, tick=False):
        scope = Scope()
        start, end = NOW.date() - dt.timedelta(days=100), NOW.date()
        flow = flow_metrics(scope, start, end)
        bounds = range_bounds(start, end)
        rows = {
            key: flow_rows(key, scope, *bounds)
            for key in ("production_yield", "change_failure_rate", "dwell_test", "approval_wait_median")
        }
    names = {history[k].pk: history[k].name for k in "abcde"}
    assert flow["production_yield"].value == pytest.approx(200 / 3)
    assert sorted(names[m] for m, _ in rows["production_yield"]) == ["alpha-critical", "beta-low", "gamma-medium"]
    assert flow["lead_time_median"].value == pytest.approx(12.5)
    assert flow["lead_time_p90"].value == pytest.approx(14.5)
    assert flow["lead_time_median"].values == pytest.approx([10, 15])
    assert flow["dwell_design"].value == pytest.approx(5)
    assert flow["dwell_design"].box == pytest.approx(
        {"n": 4, "min": 3, "max": 10, "q1": 4.5, "median": 5, "q3": 6.25, "p90": 8.5}
    )
    assert flow["dwell_test"].value == pytest.approx(10)
    assert len(rows["dwell_test"]) == 3
    assert flow["dwell_production"].value == pytest.approx(1.5)
    assert flow["approval_wait_median"].value == pytest.approx(1)
    assert len(rows["approval_wait_median"]) == 3
    assert flow["deployment_frequency"].value == pytest.approx(3 / (101 / 7))
    assert flow["change_failure_rate"].value == pytest.approx(100 / 3)
    [(model, note)] = rows["change_failure_rate"]
    assert names[model] == "alpha-critical" and note.startswith("v2 deployed") and "rolled back" in note


def test_milestones_kept_by_the_services_match_the_rebuild(team, scientist, itops, users):
    """The release services keep the milestones as they go; rebuilding them from the rows changes nothing."""
    import_module("approvals.migrations.0002_default_policies").create(apps, None)
    itops2 = UserFactory(username="ivo2", role="it-operations")
    model = RegisteredModelFactory(
        name="kept", team=team, owner=scientist, risk_tier="low", slo_p99_latency_ms=10.0, slo_min_throughput=100.0
    )
    v1 = version_create(model, scientist)
    v2 = version_create(model, scientist)
    for version in (v1, v2):
        ModelVersion.objects.filter(pk=version.pk).update(stage="test")
        version.refresh_from_db()
        evidence(version, "validation", "benchmark")
        request = approvals.promotion_request_open(
            actor=scientist, version=version, action="promote", justification=WHY
        )
        approvals.promotion_request_decide(actor=itops, request=request, decision="approve", comment="ok")
    request = approvals.promotion_request_open(
        actor=itops, version=ModelVersion.objects.get(pk=v1.pk), action="rollback", justification=WHY
    )
    approvals.promotion_request_decide(actor=itops2, request=request, decision="approve", comment="ok")
    kept = RegisteredModel.objects.filter(pk=model.pk).values("first_version_at", "first_production_at").get()
    changes = list(StageChange.objects.order_by("pk").values("entered_at", "rolled_back_at"))
    assert kept["first_version_at"] is not None and kept["first_production_at"] is not None
    assert [c["rolled_back_at"] is not None for c in changes] == [False, False, True, False, False]
    rebuild()
    assert RegisteredModel.objects.filter(pk=model.pk).values("first_version_at", "first_production_at").get() == kept
    assert list(StageChange.objects.order_by("pk").values("entered_at", "rolled_back_at")) == changes


def test_a_rollback_after_a_retirement_undoes_nothing(history):
    """v1 retired for good, then rolled back into production: no deployment was undone by it."""
    c1 = history["c1"]
    change(c1, "production", "retired", 15)
    back = request(c1, "rollback", "retired", "production", opened=14, closed=13)
    change(c1, "retired", "production", 13, back)
    rebuild()
    assert not StageChange.objects.filter(version__model=history["c"], rolled_back_at__isnull=False).exists()


def test_the_funnel_and_yield_stand_as_of_the_end_of_the_range(history):
    with time_machine.travel(NOW, tick=False):
        debt_snapshot_take()
        board = dashboard(Scope(date_to=ago(60).date()))
        whole_day = drill(dashboard(Scope()), f"day:{NOW.date().isoformat()}")
    # By D-60 only alpha (registered D-101) and delta (D-201) existed; alpha was in production since D-80.
    assert [f.value for f in board.funnel] == [2, 2, 1, 1, 0]
    assert board.day is None  # no snapshot that early: the page says so rather than show today's
    title, _, rows = whole_day
    assert title == f"Model debt on {NOW.date():%Y-%m-%d}" and {r.name for r in rows} == {
        "alpha-critical",
        "beta-low",
        "gamma-medium",
    }
    with pytest.raises(KeyError):
        drill(board, "heat:999999:stale")
