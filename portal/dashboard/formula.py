"""The Model Debt Index: its eight components, their weights, and how one model's facts score.

Per model, from a ``ModelFacts`` row (the dated facts the components need; ``portal.dashboard.facts``):

====================  =========================================================================  ==
component             dᵢ in [0, 1]                                                                w
====================  =========================================================================  ==
shelf                 days since the first version reached *test*, with nothing in production:    1
                      0 up to ``SHELF_TARGET_DAYS``, rising linearly to 1 at twice that
stale                 days since the production version was trained (its upload when no date     2
                      was given): 0 up to the model's refresh interval, 1 at twice it
unmonitored           1 when no observation arrived inside the tier's window                      3
                      (``registry.services.monitoring.MONITOR_WINDOW_DAYS``), counted from the
                      later of the last observation and the version's arrival in production (a
                      version promoted an hour ago is not yet unmonitored)
degrading             the latest observation's verdict: 1 (a metric under its floor, or PSI ≥     3
                      0.25), 0.5 (PSI ≥ 0.1), else 0
overdue_validation    1 when the production version's last passed validation on its artifact     2
                      is older than the tier's interval (``REVALIDATE_DAYS`` of the same module)
                      or it has none
ungoverned            the share missing of: an owner with an active account, a complete model    2
                      card, and (with a version in production) an approval record for it
stuck                 1 when a request has been open for more than the workflow's SLA            1
                      (``approvals.workflow.SLA_WORKING_DAYS`` working days)
overdue_findings      unresolved findings (open or remediated, not yet verified or accepted)      2
                      past their due date, on any live version: 1 when one is high or
                      critical, 0.5 when all are low or medium
====================  =========================================================================  ==

``index = 100 · Σ wᵢ·dᵢ / Σ wᵢ``; the portfolio index is the mean of the models' indexes weighted by risk
tier (``TIER_WEIGHT``). Only *live* models count: those with a version that is not retired. A model with
nothing uploaded has built nothing yet; a model whose versions are all retired is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from approvals.workflow import SLA_WORKING_DAYS
from portal.core.calendar import working_days
from registry.services.monitoring import MONITOR_WINDOW_DAYS, REVALIDATE_DAYS

DEBT_COMPONENTS = (
    "shelf",
    "stale",
    "unmonitored",
    "degrading",
    "overdue_validation",
    "ungoverned",
    "stuck",
    "overdue_findings",
)
WEIGHTS = {
    "shelf": 1,
    "stale": 2,
    "unmonitored": 3,
    "degrading": 3,
    "overdue_validation": 2,
    "ungoverned": 2,
    "stuck": 1,
    # As heavy as an overdue validation: a reviewer's finding left past its date is a control that failed.
    "overdue_findings": 2,
}
SEVERE_FINDINGS = ("high", "critical")
WEIGHT_TOTAL = sum(WEIGHTS.values())
TIER_WEIGHT = {"critical": 4, "high": 3, "medium": 2, "low": 1}
SHELF_TARGET_DAYS = 30
LABELS = {
    "shelf": "On the shelf",
    "stale": "Stale",
    "unmonitored": "Unmonitored",
    "degrading": "Degrading",
    "overdue_validation": "Overdue validation",
    "ungoverned": "Ungoverned",
    "stuck": "Stuck request",
    "overdue_findings": "Overdue findings",
}


def _per_tier(days: dict[str, int]) -> str:
    return ", ".join(f"{tier} {days[tier]}" for tier in TIER_WEIGHT)


EXPLAIN = {
    "shelf": f"reached test more than {SHELF_TARGET_DAYS} days ago and nothing is in production (full at "
    f"{2 * SHELF_TARGET_DAYS} days)",
    "stale": "the production version is older than the model's refresh interval (full at twice it)",
    "unmonitored": f"no observation from production inside the tier's window ({_per_tier(MONITOR_WINDOW_DAYS)} days)",
    "degrading": "latest observation: a metric under its floor or PSI ≥ 0.25 (1), PSI ≥ 0.1 (0.5)",
    "overdue_validation": f"no passed validation of the production artifact inside the tier's interval "
    f"({_per_tier(REVALIDATE_DAYS)} days)",
    "ungoverned": "share missing of: active owner, complete model card, approval record of production",
    "stuck": f"a promotion request open for more than {SLA_WORKING_DAYS} working days",
    "overdue_findings": "unresolved findings past their due date: a high or critical one (1), only low or medium "
    "ones (0.5)",
}
# Colour bands of the index, shown on the page.
BANDS = (
    (0, 10, "low", "under 10: little debt"),
    (10, 25, "moderate", "10–25: some debt to plan for"),
    (25, 50, "high", "25–50: act this quarter"),
    (50, 101, "severe", "50 and over: act now"),
)
DAY = 86400.0


def band(index: float) -> str:
    return next(name for low, high, name, _ in BANDS if low <= index < high)


def days(delta: dt.timedelta) -> float:
    return delta.total_seconds() / DAY


def _ramp(age_days: float, target_days: float) -> float:
    """0 up to the target, rising linearly to 1 at twice the target."""
    if target_days <= 0:
        return 1.0
    return min(1.0, max(0.0, (age_days - target_days) / target_days))


def index_of(values: dict[str, float]) -> float:
    return 100.0 * sum(WEIGHTS[c] * values[c] for c in DEBT_COMPONENTS) / WEIGHT_TOTAL


def worst_of(values: dict[str, float]) -> str | None:
    """The component that adds most to the index (ties: the heavier weight first, then table order)."""
    scored = [(WEIGHTS[c] * values[c], WEIGHTS[c], -i, c) for i, c in enumerate(DEBT_COMPONENTS) if values[c] > 0]
    return max(scored)[3] if scored else None


@dataclass
class ModelFacts:
    id: int
    name: str
    team_id: int
    team: str
    risk_tier: str
    refresh_interval_days: int
    owner_active: bool
    card_complete: bool
    live: bool
    stage: str = ""  # the furthest stage of a live version: production > test > design
    first_test_at: dt.datetime | None = None
    production_number: int | None = None
    production_since: dt.datetime | None = None
    trained_at: dt.datetime | None = None
    approved: bool = False
    last_observation_at: dt.datetime | None = None
    degradation: float | None = None
    max_psi: float | None = None
    below_floor: list[str] = field(default_factory=list)
    last_validation_at: dt.datetime | None = None
    open_request_id: int | None = None
    open_request_at: dt.datetime | None = None
    # Unresolved findings past their due date on a live version: (id, severity, due date), earliest due first.
    overdue_findings: list[tuple[int, str, dt.date]] = field(default_factory=list)


@dataclass
class ModelDebt:
    facts: ModelFacts
    components: dict[str, float]
    details: dict[str, str]
    shelf_days: float | None = None  # days since first in test, while nothing is in production

    @property
    def index(self) -> float:
        return index_of(self.components)

    @property
    def worst(self) -> str | None:
        return worst_of(self.components)


def _production_parts(f: ModelFacts, at: dt.datetime, d: dict[str, float], why: dict[str, str]) -> None:
    """stale, unmonitored, degrading and overdue validation: the parts only a version in production has."""
    trained = f.trained_at or f.production_since
    if trained:
        age = days(at - trained)
        d["stale"] = _ramp(age, f.refresh_interval_days)
        why["stale"] = (
            f"v{f.production_number} trained {trained:%Y-%m-%d}, {age:.0f} days ago; "
            f"refresh every {f.refresh_interval_days} days"
        )
    window = MONITOR_WINDOW_DAYS[f.risk_tier]
    heard = [x for x in (f.last_observation_at, f.production_since) if x is not None]
    if days(at - max(heard, default=at)) > window:
        d["unmonitored"] = 1.0
    why["unmonitored"] = (
        f"last observation {f.last_observation_at:%Y-%m-%d %H:%M}" if f.last_observation_at else "no observation yet"
    ) + f"; the {f.risk_tier} tier expects one every {window} day(s)"
    if f.degradation is not None:
        d["degrading"] = f.degradation
        parts = ["under its floor: " + ", ".join(f.below_floor)] if f.below_floor else []
        if f.max_psi is not None:
            parts.append(f"max PSI {f.max_psi:.3f}")
        why["degrading"] = "latest observation: " + ("; ".join(parts) or "healthy")
    interval = REVALIDATE_DAYS[f.risk_tier]
    if f.last_validation_at is None or days(at - f.last_validation_at) > interval:
        d["overdue_validation"] = 1.0
    last = (
        f"last passed validation {f.last_validation_at:%Y-%m-%d}"
        if f.last_validation_at
        else f"v{f.production_number} has no passed validation"
    )
    why["overdue_validation"] = f"{last}; the {f.risk_tier} tier revalidates every {interval} days"


def components(f: ModelFacts, at: dt.datetime) -> ModelDebt:
    """The eight components of one model at the moment ``at``, each with the reason in words."""
    d = dict.fromkeys(DEBT_COMPONENTS, 0.0)
    why: dict[str, str] = {}
    if not f.live:
        return ModelDebt(f, d, why)
    in_production = f.production_number is not None
    shelf_days = None
    if f.first_test_at and not in_production:
        shelf_days = days(at - f.first_test_at)
        d["shelf"] = _ramp(shelf_days, SHELF_TARGET_DAYS)
        why["shelf"] = (
            f"first reached test {f.first_test_at:%Y-%m-%d}, {shelf_days:.0f} days ago; nothing in production"
        )
    if in_production:
        _production_parts(f, at, d, why)
    missing = [
        text
        for text, lacking in (
            ("an active owner", not f.owner_active),
            ("a complete model card", not f.card_complete),
            (f"an approval record for v{f.production_number}", in_production and not f.approved),
        )
        if lacking
    ]
    d["ungoverned"] = len(missing) / (3 if in_production else 2)
    if missing:
        why["ungoverned"] = "missing " + ", ".join(missing)
    if f.open_request_at is not None:
        waited = working_days(f.open_request_at, at)
        if waited > SLA_WORKING_DAYS:
            d["stuck"] = 1.0
        why["stuck"] = f"request #{f.open_request_id} open for {waited} working day(s)"
    if f.overdue_findings:
        severe = any(severity in SEVERE_FINDINGS for _, severity, _ in f.overdue_findings)
        d["overdue_findings"] = 1.0 if severe else 0.5
        listed = ", ".join(f"#{pk} {severity} due {due:%Y-%m-%d}" for pk, severity, due in f.overdue_findings[:5])
        more = f" and {len(f.overdue_findings) - 5} more" if len(f.overdue_findings) > 5 else ""
        why["overdue_findings"] = f"{len(f.overdue_findings)} finding(s) past due: {listed}{more}"
    return ModelDebt(f, d, why, shelf_days)


def debts(facts: Iterable[ModelFacts], at: dt.datetime) -> list[ModelDebt]:
    return [components(f, at) for f in facts]


def portfolio_index(items: Iterable[ModelDebt]) -> float | None:
    live = [m for m in items if m.facts.live]
    weight = sum(TIER_WEIGHT[m.facts.risk_tier] for m in live)
    return sum(TIER_WEIGHT[m.facts.risk_tier] * m.index for m in live) / weight if weight else None


def contributions(items: Iterable[ModelDebt]) -> dict[str, float]:
    """The portfolio index split by component (the parts add up to the index)."""
    live = [m for m in items if m.facts.live]
    weight = sum(TIER_WEIGHT[m.facts.risk_tier] for m in live)
    if not weight:
        return dict.fromkeys(DEBT_COMPONENTS, 0.0)
    return {
        c: sum(TIER_WEIGHT[m.facts.risk_tier] * 100.0 * WEIGHTS[c] * m.components[c] for m in live)
        / WEIGHT_TOTAL
        / weight
        for c in DEBT_COMPONENTS
    }
