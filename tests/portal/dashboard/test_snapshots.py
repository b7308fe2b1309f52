"""Snapshots, rollups, the backfill and the trend they make. On the constructed history of
tests/portal/dashboard/history.py, with the expected values worked out by hand (NOW is Monday
2026-06-15 12:00 UTC)."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from approvals import services as approvals
from approvals.models import StageChange
from portal.core.models import AuditEvent
from portal.dashboard.facts import facts_at
from portal.dashboard.figures import Scope
from portal.dashboard.formula import WEIGHTS, debts
from portal.dashboard.history import snapshot_summary, trend
from portal.dashboard.models import DebtDay, DebtRollup, DebtSnapshot
from portal.dashboard.snapshots import debt_backfill, debt_snapshot_refresh, debt_snapshot_take
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.factories import JUSTIFICATION as WHY
from tests.factories import RegisteredModelFactory, evidence, version_create
from tests.portal.dashboard.history import INDEX, NOW, by_name

pytestmark = pytest.mark.django_db


def test_snapshots_backfill_and_trend(history):
    with time_machine.travel(NOW, tick=False):
        result = debt_backfill(since=NOW.date() - dt.timedelta(days=3))
        assert result == {"days": 3, "rows": 9}  # A, B and C were live on each of the three days
        assert debt_snapshot_take() == 3
        again = debt_backfill(since=NOW.date() - dt.timedelta(days=3))
        assert again == {"days": 0, "rows": 0}  # days that have one are kept
        day = NOW.date() - dt.timedelta(days=1)
        end = dt.datetime.combine(NOW.date(), dt.time.min, tzinfo=dt.UTC)
        expected = by_name(debts(facts_at(end), end))
        row = DebtSnapshot.objects.get(date=day, model__name="alpha-critical")
        assert row.index == pytest.approx(expected["alpha-critical"].index, abs=1e-3)
        assert row.unmonitored == 1 and row.stage == "production"
        rollup = DebtRollup.objects.get(date=day, team__slug="alpha", risk_tier="critical")
        assert rollup.models_count == 1 and rollup.index_sum == pytest.approx(row.index, abs=1e-3)
        days = trend(Scope(), NOW.date() - dt.timedelta(days=5), NOW.date())
    assert [r["date"] for r in days] == [NOW.date() - dt.timedelta(days=d) for d in (3, 2, 1, 0)]
    today = days[-1]
    assert today["models"] == 3
    assert today["index"] == pytest.approx(
        (4 * INDEX["alpha-critical"] + INDEX["beta-low"] + 2 * INDEX["gamma-medium"]) / 7, abs=1e-3
    )
    assert sum(today[c] for c in WEIGHTS) == pytest.approx(today["index"], abs=1e-3)
    summary = snapshot_summary(NOW.date(), Scope())
    assert summary["production"] == 2 and summary["stuck"] == 1


def test_days_without_live_models_are_done_once_and_gaps_are_not_audited(team, scientist):
    model = RegisteredModelFactory(name="nothing-yet", team=team, owner=scientist)
    RegisteredModelFactory._meta.model.objects.filter(pk=model.pk).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=5)
    )
    assert debt_backfill() == {"days": 5, "rows": 0}
    assert debt_backfill() == {"days": 0, "rows": 0}
    assert DebtDay.objects.count() == 5
    assert not AuditEvent.objects.filter(action="portal.debt.backfilled").exists()
    debt_backfill(replace=True)  # rewriting history is audited
    assert AuditEvent.objects.filter(action="portal.debt.backfilled").count() == 1


def test_a_release_refreshes_the_models_snapshot_at_once(scientist, itops, team, django_capture_on_commit_callbacks):
    """After commit, the released model's row and the day's rollups move: the dashboard's cards and its funnel
    (read from the rows) agree within a second of a release, not five minutes later."""
    import_module("approvals.migrations.0002_default_policies").create(apps, None)
    model = RegisteredModelFactory(
        name="churn", team=team, owner=scientist, risk_tier="low", slo_p99_latency_ms=10.0, slo_min_throughput=1000.0
    )
    version = version_create(model, scientist)
    StageChange.objects.create(version=version, from_stage=Stage.DESIGN, to_stage=Stage.TEST, reason="promoted")
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = approvals.promotion_request_open(actor=scientist, version=version, action="promote", justification=WHY)
    debt_snapshot_take()
    assert DebtSnapshot.objects.get(model=model).stage == "test"
    decided = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        approvals.promotion_request_decide(actor=itops, request=request, decision="approve", comment="Go.")
    row = DebtSnapshot.objects.get(model=model)
    assert row.stage == "production" and row.shelf == 0
    rollup = DebtRollup.objects.get(date=row.date, team=team, risk_tier="low")
    assert rollup.models_count == 1 and rollup.index_sum == pytest.approx(row.index)
    # The day's header says the moment the page now stands at: the release, not the earlier sweep.
    assert DebtDay.objects.get(date=row.date).taken_at >= decided


def test_no_partial_day_is_written_before_the_first_snapshot(scientist, team):
    model = RegisteredModelFactory(name="churn", team=team, owner=scientist)
    version_create(model, scientist)
    assert debt_snapshot_refresh(model_ids=[model.pk]) == 0
    assert not DebtSnapshot.objects.exists() and not DebtDay.objects.exists()
