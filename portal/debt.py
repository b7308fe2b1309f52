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
import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Field,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from portal.models import DEBT_COMPONENTS, AuditEvent, DebtDay, DebtRollup, DebtSnapshot

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
    shelf_days: float | None = None  # days since first in test, while nothing is in production

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
    shelf_days = None
    if f.first_test_at and not in_production:
        age = shelf_days = _days(at - f.first_test_at)
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
    return ModelDebt(f, d, why, shelf_days)


# --- Facts -------------------------------------------------------------------------------------------------


def _card_annotations() -> dict:
    """A card section counts when it has more than white space (as RegisteredModel.card_missing says)."""
    from django.db.models.functions import Length, Trim

    from registry.models import MODEL_CARD_FIELDS

    lengths = {f"_card_{name}": Length(Trim(name)) for name in MODEL_CARD_FIELDS}
    q = Q()
    for alias in lengths:
        q &= Q(**{f"{alias}__gt": 0})
    return {**lengths, "card_ok": ExpressionWrapper(q, output_field=BooleanField())}


def facts_now(scope: Scope) -> list[ModelFacts]:
    """Every model in scope with the facts of this moment, in a fixed number of queries (five)."""
    from approvals.choices import RequestStatus
    from approvals.models import PromotionRequest, StageChange
    from registry.choices import JobKind, JobStatus, Stage, Verdict
    from registry.models import Job, ModelVersion, Observation, RegisteredModel

    rows = (RegisteredModel.objects.filter(scope.models_q())
            .annotate(**_card_annotations(), owner_active=F("owner__is_active"), team_name=F("team__name"))
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
                            validated=Subquery(validations.order_by(F("finished_at").desc(nulls_last=True))
                                               .values("finished_at")[:1]))
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
    """The facts as they stood at ``at``, rebuilt from the history (see ``facts_series``)."""
    return next(facts_series([at], scope))[1]


def facts_series(moments: list[dt.datetime], scope: Scope | None = None):
    """Yield ``(moment, facts)`` for each moment in ascending order, rebuilt from the history: stage
    changes, observations, jobs and requests carry their times, and a model's card, team, tier and refresh
    interval are replayed from the audit log (``registry.model.created`` / ``.updated``); owners' accounts
    are taken as they are now. The history is read once and swept forwards, so a backfill of two years
    costs one pass over the rows plus one pass over the models per day."""
    from approvals.models import PromotionRequest, StageChange
    from portal.models import Team
    from registry.choices import JobKind, JobStatus, Stage, Verdict
    from registry.models import MODEL_CARD_FIELDS, Job, ModelVersion, Observation, RegisteredModel

    scope = scope or Scope()
    moments = sorted(moments)
    if not moments:
        return
    end = moments[-1]
    teams = {t.slug: t for t in Team.objects.all()}
    teams_by_id = {t.id: t for t in teams.values()}
    models = list(RegisteredModel.objects.filter(created_at__lte=end).order_by("created_at", "pk")
                  .values("id", "name", "team_id", "risk_tier", "refresh_interval_days", "owner__is_active",
                          "created_at", *MODEL_CARD_FIELDS))
    audit = list(AuditEvent.objects.filter(object_type="registry.registeredmodel", created_at__lte=end,
                                           action__in=["registry.model.created", "registry.model.updated"])
                 .order_by("id").values_list("created_at", "object_id", "after"))
    versions = list(ModelVersion.objects.filter(created_at__lte=end).order_by("created_at", "pk")
                    .values_list("id", "model_id", "number", "sha256", "trained_at", "created_at"))
    info = {v[0]: v for v in versions}
    changes = list(StageChange.objects.filter(created_at__lte=end).order_by("created_at", "pk")
                   .values_list("created_at", "version_id", "to_stage", "request_id"))
    # A subquery, not a list of ids: SQLite takes at most 32,766 parameters.
    ever_production = StageChange.objects.filter(to_stage=Stage.PRODUCTION, created_at__lte=end).values("version_id")
    observations = list(Observation.objects.filter(version_id__in=ever_production, observed_at__lte=end)
                        .order_by("observed_at", "pk")
                        .values_list("observed_at", "version_id", "degradation", "max_psi", "below_floor"))
    validations = list(Job.objects.filter(version_id__in=ever_production, kind=JobKind.VALIDATION,
                                          status=JobStatus.SUCCEEDED, verdict=Verdict.PASSED, finished_at__lte=end)
                       .order_by("finished_at", "pk").values_list("finished_at", "version_id", "artifact_sha256"))
    requests = list(PromotionRequest.objects.filter(created_at__lte=end).order_by("created_at", "pk")
                    .values_list("created_at", "id", "version_id", "closed_at"))

    # The state, advanced event by event.
    present: dict[int, dict] = {}  # model id → the model's replayed fields
    card_state: dict[int, dict] = {}
    stage_of: dict[int, str] = {}
    versions_of: dict[int, list[int]] = defaultdict(list)
    first_test: dict[int, dt.datetime] = {}
    arrived: dict[int, tuple[dt.datetime, bool]] = {}
    last_observation: dict[int, tuple] = {}
    last_validation: dict[int, dict[str, dt.datetime]] = defaultdict(dict)
    open_requests: dict[int, tuple[dt.datetime, int, int]] = {}  # request id → (opened, id, version id)
    cursors = dict.fromkeys(("models", "audit", "versions", "changes", "observations", "validations", "requests"),
                            0)

    def advance(name: str, rows: list, at: dt.datetime, apply) -> None:
        index = cursors[name]
        while index < len(rows) and rows[index][0] <= at:
            apply(rows[index])
            index += 1
        cursors[name] = index

    model_rows = [(m["created_at"], m) for m in models]

    def add_model(row):
        present[row[1]["id"]] = row[1]

    def replay(row):
        card_state.setdefault(int(row[1]), {}).update(row[2] or {})

    version_rows = [(v[5], v) for v in versions]

    def add_version(row):
        vid, model_id = row[1][0], row[1][1]
        stage_of[vid] = Stage.DESIGN
        versions_of[model_id].append(vid)

    def change(row):
        when, vid, to_stage, request_id = row
        if vid not in info:  # a version dated after its own stage change: inconsistent rows are skipped
            return
        stage_of[vid] = to_stage
        model_id = info[vid][1]
        if to_stage == Stage.TEST and model_id not in first_test:
            first_test[model_id] = when
        if to_stage == Stage.PRODUCTION:
            arrived[vid] = (when, request_id is not None)

    def observe(row):
        last_observation[row[1]] = row

    def validate(row):
        last_validation[row[1]][row[2]] = row[0]

    def open_request(row):
        open_requests[row[1]] = (row[0], row[1], row[2], row[3])

    order = {Stage.DESIGN: 1, Stage.TEST: 2, Stage.PRODUCTION: 3}
    for at in moments:
        advance("models", model_rows, at, add_model)
        advance("audit", audit, at, replay)
        advance("versions", version_rows, at, add_version)
        advance("changes", changes, at, change)
        advance("observations", observations, at, observe)
        advance("validations", validations, at, validate)
        advance("requests", requests, at, open_request)
        for rid in [rid for rid, r in open_requests.items() if r[3] is not None and r[3] <= at]:
            del open_requests[rid]  # closed by then
        oldest: dict[int, tuple[dt.datetime, int]] = {}
        for opened, rid, vid, _closed in open_requests.values():
            if vid not in info:
                continue
            model_id = info[vid][1]
            if model_id not in oldest or (opened, rid) < oldest[model_id]:
                oldest[model_id] = (opened, rid)
        out = []
        for model_id, m in present.items():
            replayed = card_state.get(model_id, {})
            team = teams.get(replayed.get("team")) or teams_by_id[m["team_id"]]
            tier = replayed.get("risk_tier", m["risk_tier"])
            if (scope.teams and team.slug not in scope.teams) or (scope.tiers and tier not in scope.tiers) or \
                    (scope.model_ids and model_id not in scope.model_ids):
                continue
            card = {name: replayed.get(name, m[name]) for name in MODEL_CARD_FIELDS}
            f = ModelFacts(id=model_id, name=m["name"], team_id=team.id, team=team.name, risk_tier=tier,
                           refresh_interval_days=int(replayed.get("refresh_interval_days",
                                                                  m["refresh_interval_days"])),
                           owner_active=m["owner__is_active"],
                           card_complete=all(str(v or "").strip() for v in card.values()), live=False,
                           first_test_at=first_test.get(model_id))
            for vid in versions_of.get(model_id, ()):
                stage = stage_of[vid]
                if stage == Stage.RETIRED:
                    continue
                f.live = True
                if order[stage] > order.get(f.stage, 0):
                    f.stage = stage
                if stage == Stage.PRODUCTION:
                    _, _, number, sha, trained, created = info[vid]
                    f.production_number = number
                    f.production_since, f.approved = arrived[vid]
                    f.trained_at = trained or created
                    seen = last_observation.get(vid)
                    if seen:
                        f.last_observation_at, _, f.degradation, f.max_psi, below = seen
                        f.below_floor = _json_list(below)
                    f.last_validation_at = last_validation.get(vid, {}).get(sha)
            if model_id in oldest:
                f.open_request_at, f.open_request_id = oldest[model_id]
            out.append(f)
        yield at, out


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


# --- Figures ---------------------------------------------------------------------------------------------
# The page reads the latest snapshot (taken every few minutes by beat, and for every past day) and the flow
# milestones kept on the rows (registry.milestones): a fixed number of aggregate queries, whatever the
# number of models. Each figure's models are listed by ``drill``.


def _percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default): p50 of [1, 2, 3, 4] is 2.5."""
    return float(np.percentile(values, q)) if values else None


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str = ""
    previous: float | None = None  # the same figure 30 days before
    help: str = ""
    higher_is_better: bool = False
    values: list[float] = field(default_factory=list)  # the distribution behind a median
    p90: float | None = None
    box: dict | None = None  # {"n", "min", "q1", "median", "q3", "p90", "max"} where a summary suffices

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


class _DaysBetween(Func):
    """(later − earlier) in days, as a float, computed by the database (no datetimes cross the wire)."""

    output_field = FloatField()

    def __init__(self, later: str, earlier: str):
        super().__init__(ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(EXTRACT(EPOCH FROM %(expressions)s) / 86400.0)",
                           **extra)

    def as_sql(self, compiler, connection, template=None, **extra):
        # SQLite and others: Django computes a datetime difference in microseconds.
        return super().as_sql(compiler, connection, template=template or "((%(expressions)s) / 86400000000.0)",
                              **extra)


class _Quantiles(Aggregate):
    """PostgreSQL's percentile_cont at 25/50/75/90 %: a distribution summarised without fetching its rows."""

    function = "percentile_cont"
    template = "percentile_cont(ARRAY[0.25, 0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = Field()  # psycopg returns the float8[] as a list; no conversion wanted


def _distributions(qs: QuerySet, days: _DaysBetween, group: str | None = None) -> dict:
    """{group value: {"n", "min", "max", "q1", "median", "q3", "p90"}} of ``days`` over ``qs`` (one group "" when
    ``group`` is None): aggregated by PostgreSQL, else computed here from the values (small databases)."""
    from django.db import connection

    keys = [group] if group else []
    out: dict = {}
    if connection.vendor == "postgresql":
        annotated = qs.annotate(_d=days)
        stats = {"n": Count("id"), "lo": Min("_d"), "hi": Max("_d"), "q": _Quantiles("_d")}
        rows = annotated.values(group).annotate(**stats).order_by() if group else [annotated.aggregate(**stats)]
        for r in rows:
            if r["n"]:
                q1, median, q3, p90 = r["q"]
                out[r[group] if group else ""] = {"n": r["n"], "min": r["lo"], "max": r["hi"], "q1": q1,
                                                  "median": median, "q3": q3, "p90": p90}
        return out
    values: dict = defaultdict(list)
    for row in qs.annotate(_d=days).values_list(*(keys + ["_d"])):
        values[row[0] if group else ""].append(row[-1])
    for key, found in values.items():
        q1, median, q3, p90 = (float(np.percentile(found, q)) for q in (25, 50, 75, 90))
        out[key] = {"n": len(found), "min": min(found), "max": max(found), "q1": q1, "median": median, "q3": q3,
                    "p90": p90}
    return out


def _deployments(scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet:
    from approvals.choices import Action
    from approvals.models import StageChange

    return (StageChange.objects.filter(scope.models_q("version__model__"), to_stage="production",
                                       created_at__gte=start, created_at__lt=end)
            .exclude(request__action=Action.ROLLBACK))


def _failed(qs: QuerySet) -> QuerySet:
    return qs.filter(rolled_back_at__isnull=False,
                     rolled_back_at__lte=F("created_at") + dt.timedelta(days=ROLLBACK_WINDOW_DAYS))


def flow_metrics(scope: Scope, date_from: dt.date, date_to: dt.date, *, dwell: bool = True) -> dict[str, Figure]:
    """Flow through the stages over [date_from, date_to] (whole days, both included). ``dwell=False`` leaves
    out the dwell distributions (the 30-days-before comparison does not show them)."""
    from approvals.choices import RequestStatus
    from approvals.models import PromotionRequest, StageChange
    from registry.models import RegisteredModel

    start, end = _range_bounds(date_from, date_to)
    weeks = max((end - start).total_seconds() / (7 * DAY), 1 / 7)
    models = RegisteredModel.objects.filter(scope.models_q())
    out: dict[str, Figure] = {}

    cohort = models.filter(first_version_at__gte=start, first_version_at__lt=end).aggregate(
        n=Count("id"), shipped=Count("id", filter=Q(first_production_at__lt=end)))
    out["production_yield"] = Figure(
        "production_yield", "Production yield", 100.0 * cohort["shipped"] / cohort["n"] if cohort["n"] else None,
        "%", help="of the models whose first version was uploaded in the range, the share in production by its end",
        higher_is_better=True)

    # Lead time: the values (at most one per model) for the histogram.
    lead = sorted(models.filter(first_production_at__gte=start, first_production_at__lt=end,
                                first_test_at__isnull=False)
                  .annotate(d=_DaysBetween("first_production_at", "first_test_at")).values_list("d", flat=True))
    out["lead_time_median"] = Figure(
        "lead_time_median", "Lead time, median", _percentile(lead, 50), "days", values=lead,
        p90=_percentile(lead, 90),
        help="from a model's first version in test to its first in production, for models first shipped in the "
             "range")
    out["lead_time_p90"] = Figure("lead_time_p90", "Lead time, p90", _percentile(lead, 90), "days",
                                  help="90th percentile of the same")

    # Dwell and approval wait: distributions summarised by the database (one row per stage).
    exits = StageChange.objects.filter(scope.models_q("version__model__"), created_at__gte=start,
                                       created_at__lt=end, entered_at__isnull=False)
    dwell = _distributions(exits, _DaysBetween("created_at", "entered_at"), "from_stage") if dwell else {}
    for stage in ("design", "test", "production"):
        d = dwell.get(stage)
        out[f"dwell_{stage}"] = Figure(
            f"dwell_{stage}", f"Dwell in {stage}, median", d["median"] if d else None, "days",
            p90=d["p90"] if d else None, box=d,
            help=f"how long versions that left {stage} in the range had stayed there")

    closed = PromotionRequest.objects.filter(scope.models_q("version__model__"), closed_at__gte=start,
                                             closed_at__lt=end, status__in=[RequestStatus.APPLIED,
                                                                            RequestStatus.REJECTED])
    wait = _distributions(closed, _DaysBetween("closed_at", "created_at")).get("")
    out["approval_wait_median"] = Figure(
        "approval_wait_median", "Approval wait, median", wait["median"] if wait else None, "days",
        p90=wait["p90"] if wait else None, box=wait,
        help="from a request's opening to its outcome (applied or rejected), for requests closed in the range")

    deployments = _deployments(scope, start, end)
    counted = deployments.aggregate(n=Count("id"), failed=Count("id", filter=Q(
        rolled_back_at__isnull=False,
        rolled_back_at__lte=F("created_at") + dt.timedelta(days=ROLLBACK_WINDOW_DAYS))))
    out["deployment_frequency"] = Figure(
        "deployment_frequency", "Deployments per week", counted["n"] / weeks, "/week", higher_is_better=True,
        help="versions put in production in the range (rollbacks not counted), per week")
    out["change_failure_rate"] = Figure(
        "change_failure_rate", "Change failure rate",
        100.0 * counted["failed"] / counted["n"] if counted["n"] else None, "%",
        help=f"share of those deployments rolled back within {ROLLBACK_WINDOW_DAYS} days")
    return out


# --- History: the snapshots -------------------------------------------------------------------------------


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
    if scope.model_ids:
        q &= Q(model_id__in=scope.model_ids)
    return q


def snapshots(day: dt.date, scope: Scope) -> QuerySet[DebtSnapshot]:
    return DebtSnapshot.objects.filter(_snapshot_q(scope), date=day)


def snapshot_summary(day: dt.date, scope: Scope) -> dict | None:
    """The portfolio index, live and production models, and how many models carry each component, from the
    snapshot of ``day``; None when that day has none."""
    agg = _rollup_q(scope).filter(date=day).annotate(tw=_tier_weight_case()).aggregate(
        w=Sum(F("tw") * F("models_count")), idx=Sum(F("tw") * F("index_sum")), n=Sum("models_count"))
    if not agg["n"]:
        return None
    shelf = {f"shelf_{low}": Count("id", filter=Q(shelf_days__gte=low, **({"shelf_days__lt": high} if high else {})))
             for low, high, _label in SHELF_BUCKETS}
    counts = snapshots(day, scope).aggregate(
        **{f"n_{c}": Count("id", filter=Q(**{f"{c}__gt": 0})) for c in DEBT_COMPONENTS},
        production=Count("id", filter=Q(stage="production")), ranked=Count("id", filter=Q(index__gt=0)), **shelf)
    return {"index": agg["idx"] / agg["w"] if agg["w"] else None, "models": agg["n"],
            "production": counts["production"], "ranked": counts["ranked"],
            **{c: counts[f"n_{c}"] for c in DEBT_COMPONENTS}, **{k: counts[k] for k in shelf}}


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
TOP_MODELS = 15


@dataclass
class Dashboard:
    scope: Scope
    date_from: dt.date
    date_to: dt.date
    day: dt.date | None  # the snapshot the debt figures come from (None: no snapshot yet)
    taken_at: dt.datetime | None
    headline: dict[str, Figure]
    flow: dict[str, Figure]
    shelf: list[Figure]
    funnel: list[Figure]
    trend: list[dict]
    heatmap: dict  # {"teams", "team_ids", "components", "keys", "z", "counts"}
    contributions: dict[str, float]
    top: list[DebtSnapshot]
    ranked_count: int

    @property
    def live(self) -> bool:
        return self.day is not None and self.day == timezone.localdate()

    def figures(self) -> dict[str, Figure]:
        out = dict(self.headline)
        out.update(self.flow)
        out.update({f.key: f for f in self.shelf})
        out.update({f.key: f for f in self.funnel})
        return out


def _headline(summary: dict | None, previous: dict | None) -> dict[str, Figure]:
    now, prev = summary or {}, previous or {}
    out = {"debt_index": Figure("debt_index", "Model Debt Index", now.get("index"), "", previous=prev.get("index"),
                                help="mean of the live models' indexes, weighted by risk tier"),
           "in_production": Figure("in_production", "Models in production", now.get("production", 0), "models",
                                   previous=prev.get("production"), help="live models with a version in production",
                                   higher_is_better=True)}
    for c in DEBT_COMPONENTS:
        out[c] = Figure(c, LABELS[c], now.get(c, 0), "models", previous=prev.get(c), help=EXPLAIN[c])
    return out


FUNNEL = (("funnel_registered", "Registered", "created_at"),
          ("funnel_uploaded", "A version uploaded", "first_version_at"),
          ("funnel_test", "Reached test", "first_test_at"),
          ("funnel_production", "Reached production", "first_production_at"))


def _funnel_q(field_name: str, end: dt.datetime) -> Q:
    """The step reached by the end of the range."""
    return Q(**{f"{field_name}__lt": end})


def _funnel(scope: Scope, summary: dict | None, end: dt.datetime) -> list[Figure]:
    from registry.models import RegisteredModel

    counts = RegisteredModel.objects.filter(scope.models_q()).aggregate(
        **{key: Count("id", filter=_funnel_q(f, end)) for key, _label, f in FUNNEL})
    steps = [Figure(key, label, counts[key], "models") for key, label, _q in FUNNEL]
    steps.append(Figure("funnel_now", "In production now", (summary or {}).get("production", 0), "models"))
    return steps


def _heatmap(day: dt.date | None, scope: Scope) -> dict:
    rows = [] if day is None else list(
        snapshots(day, scope).values("team_id", "team__name").annotate(
            n=Count("id"), **{f"s_{c}": Sum(c) for c in DEBT_COMPONENTS},
            **{f"n_{c}": Count("id", filter=Q(**{f"{c}__gt": 0})) for c in DEBT_COMPONENTS})
        .order_by("team__name"))
    return {
        "teams": [r["team__name"] for r in rows],
        "team_ids": [r["team_id"] for r in rows],
        "components": [LABELS[c] for c in DEBT_COMPONENTS],
        "keys": list(DEBT_COMPONENTS),
        # Mean dᵢ of the team's live models, as a percentage.
        "z": [[round(100.0 * r[f"s_{c}"] / r["n"], 1) for c in DEBT_COMPONENTS] for r in rows],
        "counts": [[r[f"n_{c}"] for c in DEBT_COMPONENTS] for r in rows],
    }


def dashboard(scope: Scope, *, now: dt.datetime | None = None) -> Dashboard:
    """Everything the page shows, for the scope: the debt as the latest snapshot up to the end of the range
    recorded it, the flow over the range, each compared with 30 days before."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    date_to = min(scope.date_to or today, today)
    date_from = scope.date_from or (date_to - dt.timedelta(days=DEFAULT_RANGE_DAYS))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    marker = DebtDay.objects.filter(date__lte=date_to).order_by("-date").first()
    day = marker.date if marker else None
    summary = snapshot_summary(day, scope) if day else None
    previous = snapshot_summary(day - dt.timedelta(days=COMPARE_DAYS), scope) if day else None
    flow = flow_metrics(scope, date_from, date_to)
    before = flow_metrics(scope, date_from - dt.timedelta(days=COMPARE_DAYS),
                          date_to - dt.timedelta(days=COMPARE_DAYS), dwell=False)
    for key, figure in flow.items():
        figure.previous = None if key.startswith("dwell_") else before[key].value
    trend_rows = trend(scope, date_from, date_to)
    on_day = trend(scope, day, day) if day else []
    contributions = {c: on_day[0][c] for c in DEBT_COMPONENTS} if on_day else dict.fromkeys(DEBT_COMPONENTS, 0.0)
    top = list(snapshots(day, scope).filter(index__gt=0).select_related("model", "team")
               .order_by("-index", "model__name")[:TOP_MODELS]) if day else []
    shelf = [Figure(f"shelf_{low}", label, (summary or {}).get(f"shelf_{low}", 0), "models")
             for low, _high, label in SHELF_BUCKETS]
    return Dashboard(
        scope=scope, date_from=date_from, date_to=date_to, day=day,
        taken_at=marker.taken_at if marker else None,
        headline=_headline(summary, previous), flow=flow, shelf=shelf,
        funnel=_funnel(scope, summary, _range_bounds(date_from, date_to)[1]),
        trend=trend_rows, heatmap=_heatmap(day, scope), contributions=contributions, top=top,
        ranked_count=(summary or {}).get("ranked", 0))


def dashboard_cached(scope: Scope) -> Dashboard:
    """``dashboard(scope)``, kept in this process's cache until one of its inputs changes: a new snapshot
    (every few minutes), a stage change, a model's first version; and for five minutes at most, since ages
    and ranges move with the clock. The page is read far more often than these change, and computing it
    costs a few hundred milliseconds at 10,000 models where a cached board costs three small queries."""
    from django.core.cache import cache

    from approvals.models import StageChange
    from registry.models import RegisteredModel

    marker = (DebtDay.objects.aggregate(t=Max("taken_at"))["t"], StageChange.objects.aggregate(n=Max("id"))["n"],
              RegisteredModel.objects.aggregate(t=Max("first_version_at"))["t"], int(time.time() // 300))
    key = "debt-dashboard:" + hashlib.sha256(repr((scope, marker)).encode()).hexdigest()
    board = cache.get(key)
    if board is None:
        board = dashboard(scope)
        cache.set(key, board, 300)
    return board


# --- Drill-downs: the models behind a figure ---------------------------------------------------------------


@dataclass
class DrillRow:
    model_id: int
    name: str
    team: str
    risk_tier: str
    note: str
    snapshot: DebtSnapshot | None = None  # the model's row in the dashboard's snapshot, when it has one


class _SnapshotRows:
    """Snapshot rows as DrillRows, fetched a page at a time: the paginator counts, then slices in SQL."""

    def __init__(self, qs: QuerySet[DebtSnapshot], note):
        self.qs = qs.select_related("model", "team").order_by("-index", "model__name")
        self.note = note

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        rows = self.qs[index]
        if isinstance(index, slice):
            return [DrillRow(s.model_id, s.model.name, s.team.name, s.risk_tier, self.note(s), s) for s in rows]
        return DrillRow(rows.model_id, rows.model.name, rows.team.name, rows.risk_tier, self.note(rows), rows)

    def __iter__(self):
        return iter(self[:])


def _snapshot_rows(qs: QuerySet[DebtSnapshot], note) -> _SnapshotRows:
    return _SnapshotRows(qs, note)


def drill(board: Dashboard, key: str) -> tuple[str, str, list[DrillRow] | _SnapshotRows]:
    """(title, explanation, rows) for one figure of the board. Keys: a figure's key;
    ``heat:<team id>:<component>`` (a heatmap cell); ``day:<YYYY-MM-DD>:<component>`` (a day of the trend)."""
    from registry.models import RegisteredModel

    scope, day = board.scope, board.day
    start, end = _range_bounds(board.date_from, board.date_to)
    if key.startswith(("day:", "heat:")):
        kind, where, component = (key.split(":") + ["", ""])[:3]
        if kind == "day" and component == "":  # the whole day: every model with debt in that snapshot
            try:
                on = dt.date.fromisoformat(where)
            except ValueError:
                raise KeyError(key) from None
            rows = _snapshot_rows(DebtSnapshot.objects.filter(_snapshot_q(scope), date=on, index__gt=0),
                                  lambda s: f"index {s.index:.1f}" + (f", worst: {LABELS[s.worst]}" if s.worst else ""))
            return f"Model debt on {on:%Y-%m-%d}", "every model with debt in that day's snapshot", rows
        if component not in DEBT_COMPONENTS:
            raise KeyError(key)
        try:
            if kind == "day":
                on, qs = dt.date.fromisoformat(where), DebtSnapshot.objects.filter(_snapshot_q(scope))
                title = f"{LABELS[component]} on {on:%Y-%m-%d}"
            else:
                from portal.models import Team

                team = Team.objects.filter(pk=int(where)).first()
                if team is None:
                    raise KeyError(key)
                on, qs = day, DebtSnapshot.objects.filter(_snapshot_q(scope), team_id=team.pk)
                title = f"{LABELS[component]} in {team.name}"
        except ValueError:
            raise KeyError(key) from None
        qs = qs.filter(date=on, **{f"{component}__gt": 0})
        rows = _snapshot_rows(qs, lambda s: s.details.get(component, f"{LABELS[component]} {getattr(s, component):g}"))
        return title, EXPLAIN[component], rows
    figure = board.figures().get(key)
    if figure is None:
        raise KeyError(key)
    base = DebtSnapshot.objects.none() if day is None else snapshots(day, scope)
    if key in DEBT_COMPONENTS:
        rows = _snapshot_rows(base.filter(**{f"{key}__gt": 0}), lambda s: s.details.get(key, ""))
    elif key == "debt_index":
        rows = _snapshot_rows(base.filter(index__gt=0), lambda s: f"index {s.index:.1f}" + (
            f", worst: {LABELS[s.worst]}" if s.worst else ""))
    elif key in ("in_production", "funnel_now"):
        rows = _snapshot_rows(base.filter(stage="production"), lambda s: "a version in production")
    elif key.startswith("shelf_"):
        low, high = next((lo, hi) for lo, hi, _label in SHELF_BUCKETS if f"shelf_{lo}" == key)
        rows = _snapshot_rows(base.filter(shelf_days__gte=low, **({"shelf_days__lt": high} if high else {})),
                              lambda s: f"first in test {s.shelf_days:.0f} days ago; nothing in production")
    else:
        found = _flow_rows(key, scope, start, end)
        by_model = {s.model_id: s for s in base.filter(model_id__in={m for m, _n in found})
                    .select_related("model", "team")}
        models = {m.id: m for m in RegisteredModel.objects.filter(id__in={m for m, _n in found})
                  .select_related("team")}
        rows = [DrillRow(m, models[m].name, models[m].team.name, models[m].risk_tier, note, by_model.get(m))
                for m, note in found]
        rows.sort(key=lambda r: (-(r.snapshot.index if r.snapshot else -1), r.name))
    return figure.label, figure.help, rows


def _flow_rows(key: str, scope: Scope, start: dt.datetime, end: dt.datetime) -> list[tuple[int, str]]:
    from approvals.choices import RequestStatus
    from approvals.models import PromotionRequest, StageChange
    from registry.models import RegisteredModel

    models = RegisteredModel.objects.filter(scope.models_q())
    if key == "production_yield":
        return [(m, f"first version {v:%Y-%m-%d}; " + (f"first in production {p:%Y-%m-%d}" if p
                                                       else "not yet in production"))
                for m, v, p in models.filter(first_version_at__gte=start, first_version_at__lt=end)
                .values_list("id", "first_version_at", "first_production_at")]
    if key in ("lead_time_median", "lead_time_p90"):
        return [(m, f"{_days(p - t):.1f} days from first test ({t:%Y-%m-%d}) to first production ({p:%Y-%m-%d})")
                for m, t, p in models.filter(first_production_at__gte=start, first_production_at__lt=end,
                                             first_test_at__isnull=False)
                .values_list("id", "first_test_at", "first_production_at")]
    if key.startswith("dwell_"):
        stage = key[len("dwell_"):]
        return [(m, f"v{n} left {stage} {left:%Y-%m-%d} after {_days(left - entered):.1f} days")
                for m, n, left, entered in StageChange.objects.filter(
                    scope.models_q("version__model__"), from_stage=stage, created_at__gte=start, created_at__lt=end,
                    entered_at__isnull=False)
                .values_list("version__model_id", "version__number", "created_at", "entered_at")]
    if key == "approval_wait_median":
        return [(m, f"request #{r} for v{n} waited {_days(c - o):.1f} days")
                for r, m, n, o, c in PromotionRequest.objects.filter(
                    scope.models_q("version__model__"), closed_at__gte=start, closed_at__lt=end,
                    status__in=[RequestStatus.APPLIED, RequestStatus.REJECTED])
                .values_list("id", "version__model_id", "version__number", "created_at", "closed_at")]
    if key in ("deployment_frequency", "change_failure_rate"):
        qs = _deployments(scope, start, end)
        if key == "change_failure_rate":
            qs = _failed(qs)
        return [(m, f"v{n} deployed {c:%Y-%m-%d}" + (f", rolled back {r:%Y-%m-%d}" if r else ""))
                for m, n, c, r in qs.values_list("version__model_id", "version__number", "created_at",
                                                 "rolled_back_at")]
    step = next((f for k, _label, f in FUNNEL if k == key), None)
    if step is not None:
        label = next(label for k, label, _f in FUNNEL if k == key)
        return [(m, f"{label.lower()} {when:%Y-%m-%d}")
                for m, when in models.filter(_funnel_q(step, end)).values_list("id", step)]
    raise KeyError(key)


def _figure_dict(f: Figure) -> dict:
    return {"key": f.key, "label": f.label, "value": f.value, "unit": f.unit, "previous": f.previous,
            "change": f.change, "help": f.help, "p90": f.p90}


def as_dict(board: Dashboard) -> dict:
    """Every figure of the page as JSON-ready data (the API and the page's charts read this)."""
    lead = board.flow["lead_time_median"].values
    counts, edges = np.histogram(lead, bins=min(30, max(1, len(set(lead))))) if lead else ([], [])
    return {
        "snapshot": {"date": board.day.isoformat() if board.day else None,
                     "taken_at": board.taken_at.isoformat() if board.taken_at else None},
        "filters": {"teams": board.scope.teams, "tiers": board.scope.tiers,
                    "from": board.date_from.isoformat(), "to": board.date_to.isoformat()},
        "weights": WEIGHTS,
        "tier_weights": TIER_WEIGHT,
        "bands": [{"from": low, "to": high, "name": name, "meaning": text} for low, high, name, text in BANDS],
        "headline": {k: _figure_dict(f) for k, f in board.headline.items()},
        "contributions": board.contributions,
        "flow": {k: _figure_dict(f) for k, f in board.flow.items()},
        "lead_time_histogram": {"counts": [int(c) for c in counts], "edges": [float(e) for e in edges]},
        "dwell_days": {s: board.flow[f"dwell_{s}"].box or {} for s in ("design", "test", "production")},
        "shelf_inventory": [_figure_dict(f) for f in board.shelf],
        "funnel": [_figure_dict(f) for f in board.funnel],
        "trend": [{**row, "date": row["date"].isoformat()} for row in board.trend],
        "heatmap": board.heatmap,
        "top_models": [snapshot_row(s) for s in board.top],
        "models_with_debt": board.ranked_count,
    }


def snapshot_row(s: DebtSnapshot) -> dict:
    return {"model": s.model.name, "team": s.team.name, "risk_tier": s.risk_tier, "stage": s.stage,
            "index": round(s.index, 2), "band": band(s.index), "worst": s.worst,
            "components": {c: getattr(s, c) for c in DEBT_COMPONENTS}, "details": s.details}
