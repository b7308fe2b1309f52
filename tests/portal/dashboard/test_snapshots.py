"""Snapshots, rollups, the backfill and the trend they make. On the constructed history of
tests/portal/dashboard/history.py, with the expected values worked out by hand (NOW is Monday
2026-06-15 12:00 UTC)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from portal.core.models import AuditEvent
from portal.dashboard.facts import facts_at
from portal.dashboard.figures import Scope
from portal.dashboard.formula import WEIGHTS, debts
from portal.dashboard.history import snapshot_summary, trend
from portal.dashboard.models import DebtDay, DebtRollup, DebtSnapshot
from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take
from tests.factories import RegisteredModelFactory
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
