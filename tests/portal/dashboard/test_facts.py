"""The facts each model's debt is scored on, now and as of a past moment, and the index. On the constructed history of
tests/portal/dashboard/history.py, with the expected values worked out by hand (NOW is Monday
2026-06-15 12:00 UTC)."""

from __future__ import annotations

import pytest
import time_machine

from portal.dashboard.facts import facts_at, facts_now
from portal.dashboard.figures import Scope
from portal.dashboard.formula import contributions, debts, portfolio_index
from registry import services
from registry.models import RegisteredModel
from tests.portal.dashboard.history import INDEX, NOW, A, B, C, ago, by_name

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("source", ["now", "history"])
def test_components_and_index_of_each_model(history, source):
    with time_machine.travel(NOW, tick=False):
        facts = facts_now(Scope()) if source == "now" else facts_at(NOW)
    items = by_name(debts(facts, NOW))
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


def test_one_models_facts_alone_are_its_facts_among_all(history):
    """A model's page reads its facts through statements compiled once (portal.core.compiled); they are the
    facts the sweep over every model finds for it, for every model of the history, read twice (compiled, then
    reused)."""
    with time_machine.travel(NOW, tick=False):
        every = {f.id: f for f in facts_now(Scope())}
        for _ in range(2):
            for model_id, facts in every.items():
                assert facts_now(Scope(model_ids=[model_id])) == [facts]
    assert len(every) == RegisteredModel.objects.count() >= 5


def test_history_rebuilds_an_earlier_day(history):
    at = ago(60)
    items = by_name(debts(facts_at(at), at))
    # Only A existed; its latest observation then was the red one of D-90, none since its return at D-77.
    assert set(items) == {"alpha-critical", "delta-retired"}
    assert items["alpha-critical"].components == pytest.approx(
        {
            "shelf": 0,
            "stale": 0,
            "unmonitored": 1,
            "degrading": 1,
            "overdue_validation": 0,
            "ungoverned": 0,
            "stuck": 0,
            "overdue_findings": 0,
        }
    )
    assert items["alpha-critical"].index == pytest.approx(100 * 6 / 16)
    # At D-90 A was in test since D-95: five days on the shelf is within the 30-day target.
    early = by_name(debts(facts_at(ago(90)), ago(90)))
    assert early["alpha-critical"].facts.stage == "test"
    assert early["alpha-critical"].components["shelf"] == 0


def test_overdue_findings_as_they_stood(history):
    """At D-3 C's high finding was past due and not yet verified (D-2): the component is full, and says which."""
    at = ago(3)
    gamma = by_name(debts(facts_at(at), at))["gamma-medium"]
    assert gamma.components["overdue_findings"] == 1.0
    assert "2 finding(s) past due" in gamma.details["overdue_findings"]
    assert " high due " in gamma.details["overdue_findings"] and " low due " in gamma.details["overdue_findings"]
    # Before either was due (D-12: the high one is due at D-10), nothing.
    early = by_name(debts(facts_at(ago(12)), ago(12)))["gamma-medium"]
    assert early.components["overdue_findings"] == 0


def test_the_card_is_replayed_from_the_audit_log(team, scientist):
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


def test_a_card_of_white_space_is_not_complete(history):
    RegisteredModel.objects.filter(pk=history["a"].pk).update(caveats="   ")
    with time_machine.travel(NOW, tick=False):
        live = by_name(debts(facts_now(Scope()), NOW))
        replayed = by_name(debts(facts_at(NOW), NOW))
    assert not live["alpha-critical"].facts.card_complete and not replayed["alpha-critical"].facts.card_complete
