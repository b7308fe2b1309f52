"""Debt components, the portfolio index and the flow metrics on the constructed history of
tests/debt_history.py, with the expected values worked out by hand (NOW is Monday 2026-06-15 12:00 UTC)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.dashboard.board import dashboard
from portal.dashboard.drill import drill, flow_rows
from portal.dashboard.export import as_dict
from portal.dashboard.facts import facts_at, facts_now
from portal.dashboard.figures import Scope, range_bounds
from portal.dashboard.flow import flow_metrics
from portal.dashboard.formula import WEIGHTS, contributions, debts, portfolio_index
from portal.dashboard.history import snapshot_summary, trend
from portal.dashboard.models import DebtRollup, DebtSnapshot
from portal.dashboard.snapshots import debt_backfill, debt_snapshot_take
from tests.debt_history import NOW, ago, build

pytestmark = pytest.mark.django_db

A = {
    "shelf": 0.0,
    "stale": 10 / 90,
    "unmonitored": 1.0,
    "degrading": 0.5,
    "overdue_validation": 1.0,
    "ungoverned": 0.0,
    "stuck": 1.0,
}
B = {
    "shelf": 0.5,
    "stale": 0.0,
    "unmonitored": 0.0,
    "degrading": 0.0,
    "overdue_validation": 0.0,
    "ungoverned": 0.5,
    "stuck": 0.0,
}
C = {
    "shelf": 0.0,
    "stale": 0.0,
    "unmonitored": 0.0,
    "degrading": 0.0,
    "overdue_validation": 0.0,
    "ungoverned": 2 / 3,
    "stuck": 0.0,
}
INDEX = {
    "alpha-critical": 100 * (2 / 9 + 3 + 1.5 + 2 + 1) / 14,
    "beta-low": 100 * (0.5 + 1.0) / 14,
    "gamma-medium": 100 * (4 / 3) / 14,
}


@pytest.fixture
def history():
    return build()


def _by_name(items):
    return {m.facts.name: m for m in items}


@pytest.mark.parametrize("source", ["now", "history"])
def test_components_and_index_of_each_model(history, source):
    with time_machine.travel(NOW, tick=False):
        facts = facts_now(Scope()) if source == "now" else facts_at(NOW)
    items = _by_name(debts(facts, NOW))
    assert items["alpha-critical"].components == pytest.approx(A)
    assert items["beta-low"].components == pytest.approx(B)
    assert items["gamma-medium"].components == pytest.approx(C)
    for name, index in INDEX.items():
        assert items[name].index == pytest.approx(index)
    assert items["alpha-critical"].worst == "unmonitored"  # 3 × 1 beats overdue's 2 × 1 and degrading's 3 × 0.5
    assert items["beta-low"].worst == "ungoverned"
    assert not items["delta-retired"].facts.live and not items["epsilon-empty"].facts.live
    assert items["delta-retired"].index == 0
    assert portfolio_index(items.values()) == pytest.approx(
        (4 * INDEX["alpha-critical"] + 1 * INDEX["beta-low"] + 2 * INDEX["gamma-medium"]) / 7
    )
    assert sum(contributions(items.values()).values()) == pytest.approx(portfolio_index(items.values()))
    assert (
        "request #" in items["alpha-critical"].details["stuck"]
        and "6 working day" in items["alpha-critical"].details["stuck"]
    )
    assert items["gamma-medium"].details["ungoverned"] == "missing an active owner, an approval record for v1"


def test_history_rebuilds_an_earlier_day(history):
    at = ago(60)
    items = _by_name(debts(facts_at(at), at))
    # Only A existed; its latest observation then was the red one of D-90, none since its return at D-77.
    assert set(items) == {"alpha-critical", "delta-retired"}
    assert items["alpha-critical"].components == pytest.approx(
        {"shelf": 0, "stale": 0, "unmonitored": 1, "degrading": 1, "overdue_validation": 0, "ungoverned": 0, "stuck": 0}
    )
    assert items["alpha-critical"].index == pytest.approx(100 * 6 / 14)
    # At D-90 A was in test since D-95: five days on the shelf is within the 30-day target.
    early = _by_name(debts(facts_at(ago(90)), ago(90)))
    assert early["alpha-critical"].facts.stage == "test"
    assert early["alpha-critical"].components["shelf"] == 0


def test_the_card_is_replayed_from_the_audit_log(team, scientist):
    from registry import services

    with time_machine.travel(ago(30), tick=False):
        model = services.registered_model_create(
            actor=scientist, name="replayed", team=team, task_type="regression", risk_tier="low", intended_use="x"
        )
    with time_machine.travel(ago(10), tick=False):
        services.registered_model_update(
            actor=scientist,
            model=model,
            **{
                f: "Written."
                for f in (
                    "out_of_scope_use",
                    "training_data",
                    "evaluation_data",
                    "metrics_description",
                    "limitations",
                    "ethical_considerations",
                    "caveats",
                )
            },
        )
    assert not facts_at(ago(20))[0].card_complete
    assert facts_at(ago(5))[0].card_complete


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
    from importlib import import_module

    from django.apps import apps

    from approvals import services as approvals
    from approvals.milestones import rebuild
    from approvals.models import StageChange
    from registry.models import ModelVersion, RegisteredModel
    from tests.approvals.test_services import WHY, _evidence
    from tests.factories import RegisteredModelFactory, UserFactory, version_create

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
        _evidence(version, "validation", "benchmark")
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
        assert [s.model.name for s in board.top] == ["alpha-critical", "beta-low", "gamma-medium"]
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


def test_snapshots_backfill_and_trend(history):
    with time_machine.travel(NOW, tick=False):
        result = debt_backfill(since=NOW.date() - dt.timedelta(days=3))
        assert result == {"days": 3, "rows": 9}  # A, B and C were live on each of the three days
        assert debt_snapshot_take() == 3
        again = debt_backfill(since=NOW.date() - dt.timedelta(days=3))
        assert again == {"days": 0, "rows": 0}  # days that have one are kept
        day = NOW.date() - dt.timedelta(days=1)
        end = dt.datetime.combine(NOW.date(), dt.time.min, tzinfo=dt.UTC)
        expected = _by_name(debts(facts_at(end), end))
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


def test_dashboard_query_count_does_not_grow_with_models(history):
    from tests.debt_history import change, version
    from tests.factories import RegisteredModelFactory

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


def test_days_without_live_models_are_done_once_and_gaps_are_not_audited(team, scientist):
    from portal.core.models import AuditEvent
    from portal.dashboard.models import DebtDay
    from tests.factories import RegisteredModelFactory

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


def test_a_rollback_after_a_retirement_undoes_nothing(history):
    """v1 retired for good, then rolled back into production: no deployment was undone by it."""
    from approvals.milestones import rebuild
    from approvals.models import StageChange
    from tests.debt_history import change, request

    c1 = history["c1"]
    change(c1, "production", "retired", 15)
    back = request(c1, "rollback", "retired", "production", opened=14, closed=13)
    change(c1, "retired", "production", 13, back)
    rebuild()
    assert not StageChange.objects.filter(version__model=history["c"], rolled_back_at__isnull=False).exists()


def test_a_card_of_white_space_is_not_complete(history):
    from registry.models import RegisteredModel

    RegisteredModel.objects.filter(pk=history["a"].pk).update(caveats="   ")
    with time_machine.travel(NOW, tick=False):
        live = _by_name(debts(facts_now(Scope()), NOW))
        replayed = _by_name(debts(facts_at(NOW), NOW))
    assert not live["alpha-critical"].facts.card_complete and not replayed["alpha-critical"].facts.card_complete


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
