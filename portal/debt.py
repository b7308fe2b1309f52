"""Model debt (DESIGN §7): what it is made of, for one model and for the portfolio, and the flow metrics.

Everything here reads; the snapshot writes are in ``portal.services``. The page, the API, the CSV export,
the daily snapshot and the backfill all go through the same functions, so a figure on the dashboard is the
figure in the export and in the history.

Per model, from a ``ModelFacts`` row (the dated facts the components need):

====================  =========================================================================  ==
component             dᵢ in [0, 1]                                                                w
====================  =========================================================================  ==
shelf                 days since the first version reached *test*, with nothing in production:    1
                      0 up to 30, rising linearly to 1 at 60
stale                 days since the production version was trained (its upload when no date     2
                      was given): 0 up to the model's refresh interval, 1 at twice it
unmonitored           1 when no observation arrived inside the tier's window (critical 1 d,      3
                      high 7, medium 14, low 30), counted from the later of the last observation
                      and the version's arrival in production (a version promoted an hour ago is
                      not yet unmonitored)
degrading             the latest observation's verdict: 1 (a metric under its floor, or PSI ≥     3
                      0.25), 0.5 (PSI ≥ 0.1), else 0
overdue_validation    1 when the production version's last passed validation on its artifact     2
                      is older than the tier's interval (critical 90 d, high 180, medium and low
                      365) or it has none
ungoverned            the share missing of: an owner with an active account, a complete model    2
                      card, and (with a version in production) an approval record for it
stuck                 1 when a request has been open for more than 5 working days                1
====================  =========================================================================  ==

``index = 100 · Σ wᵢ·dᵢ / Σ wᵢ``; the portfolio index is the mean of the models' indexes weighted by risk
tier (critical 4, high 3, medium 2, low 1). Only *live* models count: those with a version that is not
retired. A model with nothing uploaded has built nothing yet; a model whose versions are all retired is done.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from portal.models import DEBT_COMPONENTS, AuditEvent, DebtRollup, DebtSnapshot

WEIGHTS = {"shelf": 1, "stale": 2, "unmonitored": 3, "degrading": 3, "overdue_validation": 2, "ungoverned": 2,
           "stuck": 1}
WEIGHT_TOTAL = sum(WEIGHTS.values())
LABELS = {
    "shelf": "On the shelf",
    "stale": "Stale",
    "unmonitored": "Unmonitored",
    "degrading": "Degrading",
    "overdue_validation": "Overdue validation",
    "ungoverned": "Ungoverned",
    "stuck": "Stuck request",
}
EXPLAIN = {
    "shelf": "reached test more than 30 days ago and nothing is in production (full at 60 days)",
    "stale": "the production version is older than the model's refresh interval (full at twice it)",
    "unmonitored": "no observation from production inside the tier's window (1/7/14/30 days)",
    "degrading": "latest observation: a metric under its floor or PSI ≥ 0.25 (1), PSI ≥ 0.1 (0.5)",
    "overdue_validation": "no passed validation of the production artifact inside 90/180/365 days",
    "ungoverned": "share missing of: active owner, complete model card, approval record of production",
    "stuck": "a promotion request open for more than 5 working days",
}
TIER_WEIGHT = {"critical": 4, "high": 3, "medium": 2, "low": 1}
MONITOR_WINDOW_DAYS = {"critical": 1, "high": 7, "medium": 14, "low": 30}
REVALIDATE_DAYS = {"critical": 90, "high": 180, "medium": 365, "low": 365}
SHELF_TARGET_DAYS = 30
STUCK_WORKING_DAYS = 5
ROLLBACK_WINDOW_DAYS = 7
SHELF_BUCKETS = ((0, 30, "under 30 days"), (30, 60, "30–60 days"), (60, 90, "60–90 days"),
                 (90, 180, "90–180 days"), (180, None, "over 180 days"))
# Colour bands of the index, shown on the page.
BANDS = ((0, 10, "low", "under 10: little debt"), (10, 25, "moderate", "10–25: some debt to plan for"),
         (25, 50, "high", "25–50: act this quarter"), (50, 101, "severe", "50 and over: act now"))
DAY = 86400.0


def band(index: float) -> str:
    return next(name for low, high, name, _ in BANDS if low <= index < high)


def _days(delta: dt.timedelta) -> float:
    return delta.total_seconds() / DAY


def _ramp(age_days: float, target_days: float) -> float:
    """0 up to the target, rising linearly to 1 at twice the target."""
    if target_days <= 0:
        return 1.0
    return min(1.0, max(0.0, (age_days - target_days) / target_days))


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Weekdays in (start's date, end's date], as approvals.selectors.working_days_since counts them."""
    first = start.date() + dt.timedelta(days=1)
    last = end.date() + dt.timedelta(days=1)
    return int(np.busday_count(first, last)) if last > first else 0


@dataclass
class Scope:
    """The page's filters: teams (slugs), risk tiers, and the date range of the trend and flow metrics."""

    teams: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    model_ids: list[int] = field(default_factory=list)  # one model's page asks for its own debt

    def models_q(self, prefix: str = "") -> Q:
        q = Q(**{f"{prefix}id__in": self.model_ids}) if self.model_ids else Q()
        if self.teams:
            q &= Q(**{f"{prefix}team__slug__in": self.teams})
        if self.tiers:
            q &= Q(**{f"{prefix}risk_tier__in": self.tiers})
        return q

    def query(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        if self.teams:
            out["team"] = self.teams
        if self.tiers:
            out["tier"] = self.tiers
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        return out


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


@dataclass
class ModelDebt:
    facts: ModelFacts
    components: dict[str, float]
    details: dict[str, str]

    @property
    def index(self) -> float:
        return 100.0 * sum(WEIGHTS[c] * d for c, d in self.components.items()) / WEIGHT_TOTAL

    @property
    def worst(self) -> str | None:
        """The component that adds most to the index (ties: the heavier weight first, then table order)."""
        scored = [(WEIGHTS[c] * d, c) for c, d in self.components.items() if d > 0]
        return max(scored, key=lambda s: (s[0], WEIGHTS[s[1]], -DEBT_COMPONENTS.index(s[1])))[1] if scored else None


def components(f: ModelFacts, at: dt.datetime) -> ModelDebt:
    """The seven components of one model at the moment ``at``, each with the reason in words."""
    d = dict.fromkeys(DEBT_COMPONENTS, 0.0)
    why: dict[str, str] = {}
    if not f.live:
        return ModelDebt(f, d, why)
    in_production = f.production_number is not None
    if f.first_test_at and not in_production:
        age = _days(at - f.first_test_at)
        d["shelf"] = _ramp(age, SHELF_TARGET_DAYS)
        why["shelf"] = f"first reached test {f.first_test_at:%Y-%m-%d}, {age:.0f} days ago; nothing in production"
    if in_production:
        trained = f.trained_at or f.production_since
        if trained:
            age = _days(at - trained)
            d["stale"] = _ramp(age, f.refresh_interval_days)
            why["stale"] = (f"v{f.production_number} trained {trained:%Y-%m-%d}, {age:.0f} days ago; "
                            f"refresh every {f.refresh_interval_days} days")
        window = MONITOR_WINDOW_DAYS[f.risk_tier]
        since = max(x for x in (f.last_observation_at, f.production_since) if x is not None) \
            if (f.last_observation_at or f.production_since) else at
        if _days(at - since) > window:
            d["unmonitored"] = 1.0
        why["unmonitored"] = (
            f"last observation {f.last_observation_at:%Y-%m-%d %H:%M}" if f.last_observation_at
            else "no observation yet") + f"; the {f.risk_tier} tier expects one every {window} day(s)"
        if f.degradation is not None:
            d["degrading"] = f.degradation
            parts = []
            if f.below_floor:
                parts.append("under its floor: " + ", ".join(f.below_floor))
            if f.max_psi is not None:
                parts.append(f"max PSI {f.max_psi:.3f}")
            why["degrading"] = "latest observation: " + ("; ".join(parts) or "healthy")
        interval = REVALIDATE_DAYS[f.risk_tier]
        if f.last_validation_at is None or _days(at - f.last_validation_at) > interval:
            d["overdue_validation"] = 1.0
        why["overdue_validation"] = (
            f"last passed validation {f.last_validation_at:%Y-%m-%d}" if f.last_validation_at
            else f"v{f.production_number} has no passed validation") + f"; the {f.risk_tier} tier revalidates every " \
                                                                     f"{interval} days"
    missing = []
    items = 3 if in_production else 2
    if not f.owner_active:
        missing.append("an active owner")
    if not f.card_complete:
        missing.append("a complete model card")
    if in_production and not f.approved:
        missing.append(f"an approval record for v{f.production_number}")
    d["ungoverned"] = len(missing) / items
    if missing:
        why["ungoverned"] = "missing " + ", ".join(missing)
    if f.open_request_at is not None:
        waited = working_days_between(f.open_request_at, at)
        if waited > STUCK_WORKING_DAYS:
            d["stuck"] = 1.0
        why["stuck"] = f"request #{f.open_request_id} open for {waited} working day(s)"
    return ModelDebt(f, d, why)


# --- Facts -------------------------------------------------------------------------------------------------


def _card_complete_expression() -> ExpressionWrapper:
    from registry.models import MODEL_CARD_FIELDS

    q = Q()
    for name in MODEL_CARD_FIELDS:
        q &= Q(**{f"{name}__gt": ""})
    return ExpressionWrapper(q, output_field=BooleanField())


def facts_now(scope: Scope) -> list[ModelFacts]:
    """Every model in scope with the facts of this moment, in a fixed number of queries (five)."""
    from approvals.choices import RequestStatus
    from approvals.models import PromotionRequest, StageChange
    from registry.choices import JobKind, JobStatus, Stage, Verdict
    from registry.models import Job, ModelVersion, Observation, RegisteredModel

    rows = (RegisteredModel.objects.filter(scope.models_q())
            .annotate(card_ok=_card_complete_expression(), owner_active=F("owner__is_active"),
                      team_name=F("team__name"))
            .values("id", "name", "team_id", "team_name", "risk_tier", "refresh_interval_days", "owner_active",
                    "card_ok"))
    facts = {r["id"]: ModelFacts(id=r["id"], name=r["name"], team_id=r["team_id"], team=r["team_name"],
                                 risk_tier=r["risk_tier"], refresh_interval_days=r["refresh_interval_days"],
                                 owner_active=r["owner_active"], card_complete=r["card_ok"], live=False)
             for r in rows}
    model_q = scope.models_q("model__")

    stages = (ModelVersion.objects.filter(model_q).exclude(stage=Stage.RETIRED).values("model_id", "stage")
              .annotate(n=Count("id")).order_by())
    order = {Stage.DESIGN: 1, Stage.TEST: 2, Stage.PRODUCTION: 3}
    for r in stages:
        f = facts.get(r["model_id"])
        if f is not None:
            f.live = True
            if order.get(r["stage"], 0) > order.get(f.stage, 0):
                f.stage = r["stage"]

    first_test = (StageChange.objects.filter(scope.models_q("version__model__"), to_stage=Stage.TEST)
                  .values("version__model_id").annotate(first=Min("created_at")).order_by())
    for r in first_test:
        if r["version__model_id"] in facts:
            facts[r["version__model_id"]].first_test_at = r["first"]

    arrived = StageChange.objects.filter(version=OuterRef("pk"), to_stage=Stage.PRODUCTION).order_by("-created_at",
                                                                                                    "-pk")
    latest_observation = Observation.objects.filter(version=OuterRef("pk")).order_by("-observed_at", "-pk")
    validations = Job.objects.filter(version=OuterRef("pk"), artifact_sha256=OuterRef("sha256"),
                                     kind=JobKind.VALIDATION, status=JobStatus.SUCCEEDED, verdict=Verdict.PASSED)
    production = (ModelVersion.objects.filter(model_q, stage=Stage.PRODUCTION)
                  .annotate(since=Subquery(arrived.values("created_at")[:1]),
                            approval=Subquery(arrived.values("request_id")[:1]),
                            observed=Subquery(latest_observation.values("observed_at")[:1]),
                            degradation=Subquery(latest_observation.values("degradation")[:1]),
                            max_psi=Subquery(latest_observation.values("max_psi")[:1]),
                            below_floor=Subquery(latest_observation.values("below_floor")[:1]),
                            validated=Subquery(validations.order_by("-finished_at").values("finished_at")[:1]))
                  .values("model_id", "number", "trained_at", "created_at", "since", "approval", "observed",
                          "degradation", "max_psi", "below_floor", "validated"))
    for r in production:
        f = facts.get(r["model_id"])
        if f is None:
            continue
        f.production_number = r["number"]
        f.production_since = r["since"] or r["created_at"]
        f.trained_at = r["trained_at"] or r["created_at"]
        f.approved = r["approval"] is not None  # it arrived through an applied request
        f.last_observation_at = r["observed"]
        f.degradation = r["degradation"]
        f.max_psi = r["max_psi"]
        f.below_floor = _json_list(r["below_floor"])
        f.last_validation_at = r["validated"]

    open_requests = (PromotionRequest.objects.filter(scope.models_q("version__model__"),
                                                     status__in=[RequestStatus.OPEN, RequestStatus.APPROVED])
                     .order_by("created_at").values("id", "version__model_id", "created_at"))
    for r in open_requests:
        f = facts.get(r["version__model_id"])
        if f is not None and f.open_request_at is None:
            f.open_request_id, f.open_request_at = r["id"], r["created_at"]
    return list(facts.values())


def _json_list(value) -> list[str]:
    """A JSON list read through Subquery().values() comes back as text on some backends."""
    if isinstance(value, str):
        import json

        value = json.loads(value)
    return list(value or [])


def facts_at(at: dt.datetime, scope: Scope | None = None) -> list[ModelFacts]:
    """The facts as they stood at ``at``, rebuilt from the history: stage changes, observations, jobs and
    requests carry their times, and the model's card, team, tier and refresh interval are replayed from the
    audit log (``registry.model.created`` / ``.updated``). Owners' accounts are taken as they are now.
    Slower than ``facts_now`` (it reads whole histories); used by snapshots of past days."""
    from approvals.models import PromotionRequest, StageChange
    from portal.models import Team
    from registry.choices import JobKind, JobStatus, Stage, Verdict
    from registry.models import MODEL_CARD_FIELDS, Job, ModelVersion, Observation, RegisteredModel

    scope = scope or Scope()
    teams = {t.slug: t for t in Team.objects.all()}
    models = {m.id: m for m in RegisteredModel.objects.filter(created_at__lte=at).select_related("team", "owner")}
    # Replay the card, team, tier and refresh interval from the audit log.
    state: dict[int, dict] = {}
    for e in (AuditEvent.objects.filter(object_type="registry.registeredmodel", created_at__lte=at,
                                        action__in=["registry.model.created", "registry.model.updated"])
              .order_by("id").values("object_id", "after")):
        state.setdefault(int(e["object_id"]), {}).update(e["after"] or {})
    facts: dict[int, ModelFacts] = {}
    for m in models.values():
        s = state.get(m.id, {})
        team = teams.get(s.get("team"), m.team)
        tier = s.get("risk_tier", m.risk_tier)
        if (scope.teams and team.slug not in scope.teams) or (scope.tiers and tier not in scope.tiers):
            continue
        card = {name: s.get(name, getattr(m, name)) for name in MODEL_CARD_FIELDS}
        facts[m.id] = ModelFacts(
            id=m.id, name=m.name, team_id=team.id, team=team.name, risk_tier=tier,
            refresh_interval_days=int(s.get("refresh_interval_days", m.refresh_interval_days)),
            owner_active=m.owner.is_active, card_complete=all(str(v or "").strip() for v in card.values()),
            live=False)

    versions = {v["id"]: v for v in ModelVersion.objects.filter(model_id__in=facts, created_at__lte=at)
                .values("id", "model_id", "number", "sha256", "trained_at", "created_at")}
    stage_of = dict.fromkeys(versions, Stage.DESIGN)
    arrived: dict[int, tuple[dt.datetime, bool]] = {}
    for c in (StageChange.objects.filter(version_id__in=versions, created_at__lte=at)
              .order_by("created_at", "pk").values("version_id", "to_stage", "created_at", "request_id")):
        stage_of[c["version_id"]] = c["to_stage"]
        model_id = versions[c["version_id"]]["model_id"]
        f = facts[model_id]
        if c["to_stage"] == Stage.TEST and f.first_test_at is None:
            f.first_test_at = c["created_at"]
        if c["to_stage"] == Stage.PRODUCTION:
            arrived[c["version_id"]] = (c["created_at"], c["request_id"] is not None)
    order = {Stage.DESIGN: 1, Stage.TEST: 2, Stage.PRODUCTION: 3}
    production: dict[int, dict] = {}
    for vid, stage in stage_of.items():
        v = versions[vid]
        f = facts[v["model_id"]]
        if stage == Stage.RETIRED:
            continue
        f.live = True
        if order[stage] > order.get(f.stage, 0):
            f.stage = stage
        if stage == Stage.PRODUCTION:
            production[vid] = v
            since, approved = arrived[vid]
            f.production_number = v["number"]
            f.production_since = since
            f.trained_at = v["trained_at"] or v["created_at"]
            f.approved = approved
    # A request's outcome is final (applied) only in the table; its status at ``at`` follows from closed_at.
    for vid, observed_at, degradation, max_psi, below in (
            Observation.objects.filter(version_id__in=production, observed_at__lte=at)
            .order_by("observed_at", "pk").values_list("version_id", "observed_at", "degradation", "max_psi",
                                                       "below_floor")):
        f = facts[production[vid]["model_id"]]
        f.last_observation_at, f.degradation, f.max_psi, f.below_floor = observed_at, degradation, max_psi, below
    for vid, sha, finished in (Job.objects.filter(version_id__in=production, kind=JobKind.VALIDATION,
                                                  status=JobStatus.SUCCEEDED, verdict=Verdict.PASSED,
                                                  finished_at__lte=at)
                               .order_by("finished_at").values_list("version_id", "artifact_sha256", "finished_at")):
        if sha == production[vid]["sha256"]:
            facts[production[vid]["model_id"]].last_validation_at = finished
    for rid, vid, created in (PromotionRequest.objects.filter(version_id__in=versions, created_at__lte=at)
                              .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
                              .order_by("created_at").values_list("id", "version_id", "created_at")):
        f = facts[versions[vid]["model_id"]]
        if f.open_request_at is None:
            f.open_request_id, f.open_request_at = rid, created
    return list(facts.values())


def debts(facts: Iterable[ModelFacts], at: dt.datetime) -> list[ModelDebt]:
    return [components(f, at) for f in facts]


def model_debt(model_id: int) -> ModelDebt | None:
    """One model's debt now (its page shows it)."""
    found = facts_now(Scope(model_ids=[model_id]))
    return components(found[0], timezone.now()) if found else None


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
    return {c: sum(TIER_WEIGHT[m.facts.risk_tier] * 100.0 * WEIGHTS[c] * m.components[c] for m in live)
            / WEIGHT_TOTAL / weight for c in DEBT_COMPONENTS}


# --- Flow metrics -----------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default): p50 of [1, 2, 3, 4] is 2.5."""
    return float(np.percentile(values, q)) if values else None


@dataclass
class Figure:
    """One number on the page and the models behind it, with each model's part in words."""

    key: str
    label: str
    value: float | None
    unit: str = ""
    models: dict[int, str] = field(default_factory=dict)  # model id → what this model contributes
    previous: float | None = None  # the same figure 30 days before
    help: str = ""
    higher_is_better: bool = False
    values: list[float] = field(default_factory=list)  # the distribution behind a median
    p90: float | None = None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def _range_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def flow_metrics(scope: Scope, date_from: dt.date, date_to: dt.date, names: dict[int, str]) -> dict[str, Figure]:
    """Flow through the stages over [date_from, date_to] (whole days, both included), for the models in
    scope (``names``: model id → name, from the facts)."""
    from approvals.choices import Action, RequestStatus
    from approvals.models import PromotionRequest, StageChange
    from registry.choices import Stage
    from registry.models import ModelVersion

    start, end = _range_bounds(date_from, date_to)
    weeks = max((end - start).total_seconds() / (7 * DAY), 1 / 7)
    out: dict[str, Figure] = {}
    model_scope = scope.models_q("version__model__")

    # Production yield: of the models whose first version arrived in the range, the share in production since.
    firsts = (ModelVersion.objects.filter(scope.models_q("model__")).values("model_id")
              .annotate(first_version=Min("created_at")).order_by()
              .filter(first_version__gte=start, first_version__lt=end))
    cohort = {r["model_id"]: r["first_version"] for r in firsts}
    first_stage = (StageChange.objects.filter(model_scope, to_stage__in=[Stage.TEST, Stage.PRODUCTION])
                   .values("version__model_id", "to_stage").annotate(first=Min("created_at")).order_by())
    first_test: dict[int, dt.datetime] = {}
    first_prod: dict[int, dt.datetime] = {}
    for r in first_stage:
        (first_test if r["to_stage"] == Stage.TEST else first_prod)[r["version__model_id"]] = r["first"]
    shipped = {m: f"registered {t:%Y-%m-%d}, first in production {first_prod[m]:%Y-%m-%d}"
               for m, t in cohort.items() if m in first_prod}
    out["production_yield"] = Figure(
        "production_yield", "Production yield", 100.0 * len(shipped) / len(cohort) if cohort else None, "%",
        {m: shipped.get(m, f"registered {t:%Y-%m-%d}, not yet in production") for m, t in cohort.items()},
        help="of the models whose first version was uploaded in the range, the share that reached production",
        higher_is_better=True)

    # Lead time: first test → first production, for models first in production within the range.
    lead = {m: _days(p - first_test[m]) for m, p in first_prod.items()
            if start <= p < end and m in first_test and m in names}
    out["lead_time_median"] = Figure(
        "lead_time_median", "Lead time, median", _percentile(list(lead.values()), 50), "days",
        {m: f"{v:.1f} days from first test to first production" for m, v in lead.items()},
        help="from a model's first version in test to its first in production, for models first shipped in the "
             "range")
    out["lead_time_p90"] = Figure("lead_time_p90", "Lead time, p90", _percentile(list(lead.values()), 90), "days",
                                  out["lead_time_median"].models, help="90th percentile of the same")
    out["lead_time_median"].values = sorted(lead.values())

    # Dwell per stage: how long versions stayed in a stage, for the exits that happened in the range.
    entered = StageChange.objects.filter(version=OuterRef("version"), created_at__lt=OuterRef("created_at")) \
        .order_by("-created_at", "-pk").values("created_at")[:1]
    exits = (StageChange.objects.filter(model_scope, created_at__gte=start, created_at__lt=end)
             .annotate(entered=Subquery(entered), version_created=F("version__created_at"),
                       model_id=F("version__model_id"))
             .values("model_id", "from_stage", "created_at", "entered", "version_created"))
    dwell: dict[str, list[float]] = defaultdict(list)
    dwell_models: dict[str, dict[int, str]] = defaultdict(dict)
    for r in exits:
        began = r["entered"] or r["version_created"]
        days = _days(r["created_at"] - began)
        dwell[r["from_stage"]].append(days)
        dwell_models[r["from_stage"]][r["model_id"]] = f"left {r['from_stage']} after {days:.1f} days"
    for stage in (Stage.DESIGN, Stage.TEST, Stage.PRODUCTION):
        out[f"dwell_{stage}"] = Figure(
            f"dwell_{stage}", f"Dwell in {stage}, median", _percentile(dwell[stage], 50), "days",
            dwell_models[stage], help=f"how long versions that left {stage} in the range had stayed there",
            values=sorted(dwell[stage]), p90=_percentile(dwell[stage], 90))

    # Approval wait: opened → decided and closed (applied or rejected), for requests closed in the range.
    waits = (PromotionRequest.objects.filter(model_scope, closed_at__gte=start, closed_at__lt=end,
                                             status__in=[RequestStatus.APPLIED, RequestStatus.REJECTED])
             .values_list("id", "version__model_id", "created_at", "closed_at"))
    wait_days = []
    wait_models: dict[int, str] = {}
    for rid, model_id, opened, closed in waits:
        days = _days(closed - opened)
        wait_days.append(days)
        wait_models[model_id] = f"request #{rid} waited {days:.1f} days"
    out["approval_wait_median"] = Figure(
        "approval_wait_median", "Approval wait, median", _percentile(wait_days, 50), "days", wait_models,
        help="from a request's opening to its outcome (applied or rejected), for requests closed in the range")

    # Deployments to production, and how many were undone: the model's next arrival in production was a
    # rollback within a week.
    following = StageChange.objects.filter(version__model=OuterRef("version__model"), to_stage=Stage.PRODUCTION,
                                           created_at__gt=OuterRef("created_at")).order_by("created_at", "pk")
    deployments = (StageChange.objects.filter(model_scope, to_stage=Stage.PRODUCTION, created_at__gte=start,
                                              created_at__lt=end)
                   .exclude(request__action=Action.ROLLBACK)
                   .annotate(next_at=Subquery(following.values("created_at")[:1]),
                             next_action=Subquery(following.values("request__action")[:1]),
                             model_id=F("version__model_id"), number=F("version__number"))
                   .values("model_id", "number", "created_at", "next_at", "next_action"))
    deployed: dict[int, str] = {}
    failed: dict[int, str] = {}
    count = failures = 0
    for r in deployments:
        count += 1
        deployed[r["model_id"]] = f"v{r['number']} deployed {r['created_at']:%Y-%m-%d}"
        if r["next_action"] == Action.ROLLBACK and \
                r["next_at"] - r["created_at"] <= dt.timedelta(days=ROLLBACK_WINDOW_DAYS):
            failures += 1
            failed[r["model_id"]] = (f"v{r['number']} deployed {r['created_at']:%Y-%m-%d}, rolled back "
                                     f"{r['next_at']:%Y-%m-%d}")
    out["deployment_frequency"] = Figure(
        "deployment_frequency", "Deployments per week", count / weeks, "/week", deployed,
        help="versions put in production in the range (rollbacks not counted), per week", higher_is_better=True)
    out["change_failure_rate"] = Figure(
        "change_failure_rate", "Change failure rate", 100.0 * failures / count if count else None, "%", failed,
        help=f"share of those deployments rolled back within {ROLLBACK_WINDOW_DAYS} days")
    return out


def shelf_inventory(items: Iterable[ModelDebt], at: dt.datetime) -> list[Figure]:
    """Models on the shelf now (in test, nothing in production) by how long since they first reached test."""
    buckets = [Figure(f"shelf_{low}", label, 0, "models") for low, _high, label in SHELF_BUCKETS]
    for m in items:
        f = m.facts
        if not f.live or f.production_number is not None or f.first_test_at is None:
            continue
        age = _days(at - f.first_test_at)
        for figure, (low, high, _label) in zip(buckets, SHELF_BUCKETS, strict=True):
            if age >= low and (high is None or age < high):
                figure.value += 1
                figure.models[f.id] = f"first in test {f.first_test_at:%Y-%m-%d}, {age:.0f} days ago"
    return buckets


# --- History ----------------------------------------------------------------------------------------------


def debts_from_snapshots(day: dt.date, scope: Scope) -> list[ModelDebt]:
    """The debts as the snapshot of ``day`` recorded them (components only: the facts are not kept)."""
    out = []
    for s in DebtSnapshot.objects.filter(_snapshot_q(scope), date=day).select_related("model", "team"):
        facts = ModelFacts(id=s.model_id, name=s.model.name, team_id=s.team_id, team=s.team.name,
                           risk_tier=s.risk_tier, refresh_interval_days=s.model.refresh_interval_days,
                           owner_active=True, card_complete=True, live=True, stage=s.stage)
        out.append(ModelDebt(facts, {c: getattr(s, c) for c in DEBT_COMPONENTS}, {}))
    return out


def snapshot_summary(day: dt.date, scope: Scope) -> dict | None:
    """Portfolio index and per-component model counts from the snapshot of ``day``, or None if none was taken."""
    rows = _rollup_q(scope).filter(date=day)
    weight_expr = _tier_weight_case()
    agg = rows.annotate(tw=weight_expr).aggregate(
        w=Sum(F("tw") * F("models_count")), idx=Sum(F("tw") * F("index_sum")), n=Sum("models_count"))
    if not agg["n"]:
        return None
    counts = DebtSnapshot.objects.filter(_snapshot_q(scope), date=day).aggregate(
        **{f"n_{c}": Count("id", filter=Q(**{f"{c}__gt": 0})) for c in DEBT_COMPONENTS},
        production=Count("id", filter=Q(stage="production")))
    return {"index": agg["idx"] / agg["w"] if agg["w"] else None, "models": agg["n"],
            "production": counts["production"], **{c: counts[f"n_{c}"] for c in DEBT_COMPONENTS}}


def _tier_weight_case():
    from django.db.models import Case, IntegerField, Value, When

    return Case(*[When(risk_tier=t, then=Value(w)) for t, w in TIER_WEIGHT.items()], default=Value(0),
                output_field=IntegerField())


def _rollup_q(scope: Scope) -> QuerySet[DebtRollup]:
    q = DebtRollup.objects.all()
    if scope.teams:
        q = q.filter(team__slug__in=scope.teams)
    if scope.tiers:
        q = q.filter(risk_tier__in=scope.tiers)
    return q


def _snapshot_q(scope: Scope) -> Q:
    q = Q()
    if scope.teams:
        q &= Q(team__slug__in=scope.teams)
    if scope.tiers:
        q &= Q(risk_tier__in=scope.tiers)
    return q


def trend(scope: Scope, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Per day in the range: the portfolio index and each component's part of it, from the rollups
    (one aggregate query, whatever the number of models)."""
    tw = _tier_weight_case()
    rows = (_rollup_q(scope).filter(date__gte=date_from, date__lte=date_to).annotate(tw=tw).values("date")
            .annotate(w=Sum(F("tw") * F("models_count")), idx=Sum(F("tw") * F("index_sum")),
                      n=Sum("models_count"), **{c: Sum(F("tw") * F(c)) for c in DEBT_COMPONENTS})
            .order_by("date"))
    out = []
    for r in rows:
        if not r["w"]:
            continue
        out.append({"date": r["date"], "index": r["idx"] / r["w"], "models": r["n"],
                    **{c: 100.0 * WEIGHTS[c] * r[c] / WEIGHT_TOTAL / r["w"] for c in DEBT_COMPONENTS}})
    return out


# --- The page ---------------------------------------------------------------------------------------------

DEFAULT_RANGE_DAYS = 180
COMPARE_DAYS = 30


@dataclass
class Dashboard:
    scope: Scope
    date_from: dt.date
    date_to: dt.date
    as_of: dt.datetime
    live: bool  # computed now from the tables, rather than read from the snapshot of ``date_to``
    debts: list[ModelDebt]
    headline: dict[str, Figure]
    flow: dict[str, Figure]
    shelf: list[Figure]
    funnel: list[Figure]
    trend: list[dict]
    heatmap: dict  # {"teams": [...], "components": [...], "z": [[...]], "counts": [[...]], "team_ids": [...]}
    contributions: dict[str, float]

    @property
    def ranked(self) -> list[ModelDebt]:
        return sorted((m for m in self.debts if m.facts.live and m.index > 0),
                      key=lambda m: (-m.index, m.facts.name))

    def figures(self) -> dict[str, Figure]:
        out = dict(self.headline)
        out.update(self.flow)
        out.update({f.key: f for f in self.shelf})
        out.update({f.key: f for f in self.funnel})
        return out


def _headline(items: list[ModelDebt], previous: dict | None) -> dict[str, Figure]:
    live = [m for m in items if m.facts.live]
    prev = previous or {}
    out = {"debt_index": Figure(
        "debt_index", "Model Debt Index", portfolio_index(live), "",
        {m.facts.id: f"index {m.index:.1f}" + (f", worst: {LABELS[m.worst]}" if m.worst else "")
         for m in live if m.index > 0},
        previous=prev.get("index"), help="mean of the live models' indexes, weighted by risk tier")}
    production = {m.facts.id: f"v{m.facts.production_number} in production" for m in live
                  if m.facts.production_number is not None or m.facts.stage == "production"}
    out["in_production"] = Figure("in_production", "Models in production", len(production), "models", production,
                                  previous=prev.get("production"), help="live models with a version in production",
                                  higher_is_better=True)
    for c in DEBT_COMPONENTS:
        behind = {m.facts.id: m.details.get(c, f"{LABELS[c]} {m.components[c]:g}") for m in live
                  if m.components[c] > 0}
        out[c] = Figure(c, LABELS[c], len(behind), "models", behind, previous=prev.get(c), help=EXPLAIN[c])
    return out


def _funnel(scope: Scope, items: list[ModelDebt]) -> list[Figure]:
    from approvals.models import StageChange
    from registry.models import ModelVersion

    names = {m.facts.id: m for m in items}
    uploaded = set(ModelVersion.objects.filter(scope.models_q("model__")).values_list("model_id", flat=True)
                   .distinct())
    reached = defaultdict(set)
    for model_id, stage in (StageChange.objects.filter(scope.models_q("version__model__"),
                                                       to_stage__in=["test", "production"])
                            .values_list("version__model_id", "to_stage").distinct()):
        reached[stage].add(model_id)
    steps = [("funnel_registered", "Registered", set(names), "registered"),
             ("funnel_uploaded", "A version uploaded", uploaded, "has a version"),
             ("funnel_test", "Reached test", reached["test"], "a version reached test"),
             ("funnel_production", "Reached production", reached["production"], "a version reached production"),
             ("funnel_now", "In production now",
              {m.facts.id for m in items if m.facts.production_number is not None or m.facts.stage == "production"},
              "a version is in production now")]
    return [Figure(key, label, len(ids & set(names)), "models", {i: note for i in ids if i in names})
            for key, label, ids, note in steps]


def _heatmap(items: list[ModelDebt]) -> dict:
    by_team: dict[tuple[str, int], list[ModelDebt]] = defaultdict(list)
    for m in items:
        if m.facts.live:
            by_team[(m.facts.team, m.facts.team_id)].append(m)
    teams = sorted(by_team)
    return {
        "teams": [t for t, _ in teams],
        "team_ids": [i for _, i in teams],
        "components": [LABELS[c] for c in DEBT_COMPONENTS],
        "keys": list(DEBT_COMPONENTS),
        # Mean dᵢ of the team's live models, as a percentage.
        "z": [[round(100.0 * sum(m.components[c] for m in by_team[t]) / len(by_team[t]), 1)
               for c in DEBT_COMPONENTS] for t in teams],
        "counts": [[sum(1 for m in by_team[t] if m.components[c] > 0) for c in DEBT_COMPONENTS] for t in teams],
    }


def dashboard(scope: Scope, *, now: dt.datetime | None = None) -> Dashboard:
    """Everything the page shows, for the scope. The debt is as of the end of the range: computed now when
    the range ends today, else read from that day's snapshot."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    date_to = min(scope.date_to or today, today)
    date_from = scope.date_from or (date_to - dt.timedelta(days=DEFAULT_RANGE_DAYS))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    live = date_to >= today
    if live:
        as_of = now
        items = debts(facts_now(scope), now)
    else:
        as_of = _range_bounds(date_to, date_to)[1]
        items = debts_from_snapshots(date_to, scope)
    names = {m.facts.id: m.facts.name for m in items}
    compare_day = date_to - dt.timedelta(days=COMPARE_DAYS)
    flow = flow_metrics(scope, date_from, date_to, names)
    before = flow_metrics(scope, date_from - dt.timedelta(days=COMPARE_DAYS), compare_day, names)
    for key, figure in flow.items():
        figure.previous = before[key].value
    return Dashboard(
        scope=scope, date_from=date_from, date_to=date_to, as_of=as_of, live=live, debts=items,
        headline=_headline(items, snapshot_summary(compare_day, scope)), flow=flow,
        shelf=shelf_inventory(items, as_of) if live else [], funnel=_funnel(scope, items),
        trend=trend(scope, date_from, date_to), heatmap=_heatmap(items), contributions=contributions(items))


def drill(board: Dashboard, key: str) -> tuple[str, str, list[tuple[ModelDebt, str]]]:
    """The models behind one figure: (title, explanation, [(model, its part)]).

    Keys: a figure's key; ``heat:<team id>:<component>``; ``model:<component>`` is a component's models.
    """
    by_id = {m.facts.id: m for m in board.debts}
    if key.startswith("day:"):  # a point of the trend: the snapshot of that day
        _, day, component = (key.split(":") + ["", ""])[:3]
        try:
            date = dt.date.fromisoformat(day)
        except ValueError:
            raise KeyError(key) from None
        if component not in DEBT_COMPONENTS:
            raise KeyError(key)
        rows = [(m, f"{LABELS[component]} {m.components[component]:g} on {date:%Y-%m-%d}")
                for m in debts_from_snapshots(date, board.scope) if m.components[component] > 0]
        rows.sort(key=lambda r: (-r[0].index, r[0].facts.name))
        return f"{LABELS[component]} on {date:%Y-%m-%d}", EXPLAIN[component], rows
    if key.startswith("heat:"):
        _, team_id, component = (key.split(":") + ["", ""])[:3]
        if component not in DEBT_COMPONENTS or not team_id.isdigit():
            raise KeyError(key)
        rows = [(m, m.details.get(component, f"{m.components[component]:g}")) for m in board.debts
                if m.facts.live and m.facts.team_id == int(team_id) and m.components[component] > 0]
        team = next((m.facts.team for m, _ in rows), "the team")
        return f"{LABELS[component]} in {team}", EXPLAIN[component], rows
    figure = board.figures().get(key)
    if figure is None:
        raise KeyError(key)
    rows = [(by_id[i], note) for i, note in figure.models.items() if i in by_id]
    rows.sort(key=lambda r: (-r[0].index, r[0].facts.name))
    return figure.label, figure.help, rows


def _figure_dict(f: Figure) -> dict:
    return {"key": f.key, "label": f.label, "value": f.value, "unit": f.unit, "previous": f.previous,
            "change": f.change, "help": f.help, "models": sorted(f.models), "p90": f.p90}


def as_dict(board: Dashboard) -> dict:
    """Every figure of the page as JSON-ready data (the API and the page's charts read this)."""
    return {
        "as_of": board.as_of.isoformat(),
        "live": board.live,
        "filters": {"teams": board.scope.teams, "tiers": board.scope.tiers,
                    "from": board.date_from.isoformat(), "to": board.date_to.isoformat()},
        "weights": WEIGHTS,
        "tier_weights": TIER_WEIGHT,
        "bands": [{"from": low, "to": high, "name": name, "meaning": text} for low, high, name, text in BANDS],
        "headline": {k: _figure_dict(f) for k, f in board.headline.items()},
        "contributions": board.contributions,
        "flow": {k: _figure_dict(f) for k, f in board.flow.items()},
        "lead_times_days": board.flow["lead_time_median"].values,
        "dwell_days": {s: board.flow[f"dwell_{s}"].values for s in ("design", "test", "production")},
        "shelf_inventory": [_figure_dict(f) for f in board.shelf],
        "funnel": [_figure_dict(f) for f in board.funnel],
        "trend": [{**row, "date": row["date"].isoformat()} for row in board.trend],
        "heatmap": board.heatmap,
        "models": [model_row(m) for m in board.ranked],
    }


def model_row(m: ModelDebt) -> dict:
    return {"id": m.facts.id, "name": m.facts.name, "team": m.facts.team, "risk_tier": m.facts.risk_tier,
            "stage": m.facts.stage, "index": round(m.index, 2), "band": band(m.index), "worst": m.worst,
            "components": m.components, "details": m.details}
