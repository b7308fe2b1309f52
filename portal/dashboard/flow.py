"""Flow through the stages over a date range: yield, lead time, dwell, approval wait, deployments, failures.

Read from the milestones kept on the rows (``RegisteredModel.first_*_at``, ``StageChange.entered_at`` and
``rolled_back_at``), so each figure is an aggregate query whatever the number of models; distributions are
summarised by PostgreSQL (percentile_cont) and computed here on small databases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Field,
    FloatField,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
)

from approvals.choices import CLOSED_WITH_OUTCOME, Action
from approvals.models import PromotionRequest, StageChange
from portal.dashboard.figures import Figure, Scope, percentile, range_bounds
from portal.dashboard.formula import DAY
from registry.choices import Stage
from registry.models import RegisteredModel

ROLLBACK_WINDOW_DAYS = 7
FUNNEL = (
    ("funnel_registered", "Registered", "created_at"),
    ("funnel_uploaded", "A version uploaded", "first_version_at"),
    ("funnel_test", "Reached test", "first_test_at"),
    ("funnel_production", "Reached production", "first_production_at"),
)
DWELL_STAGES = (Stage.DESIGN, Stage.TEST, Stage.PRODUCTION)


class DaysBetween(Func):
    """(later − earlier) in days, as a float, computed by the database (no datetimes cross the wire)."""

    output_field = FloatField()

    def __init__(self, later: str, earlier: str):
        super().__init__(ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(EXTRACT(EPOCH FROM %(expressions)s) / 86400.0)", **extra)

    def as_sql(self, compiler, connection, template=None, **extra):
        # SQLite and others: Django computes a datetime difference in microseconds.
        return super().as_sql(compiler, connection, template=template or "((%(expressions)s) / 86400000000.0)", **extra)


class _Quantiles(Aggregate):
    """PostgreSQL's percentile_cont at 25/50/75/90 %: a distribution summarised without fetching its rows."""

    function = "percentile_cont"
    template = "percentile_cont(ARRAY[0.25, 0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = Field()  # psycopg returns the float8[] as a list; no conversion wanted


def _summary(n: int, low: float, high: float, quartiles) -> dict:
    q1, median, q3, p90 = quartiles
    return {"n": n, "min": low, "max": high, "q1": q1, "median": median, "q3": q3, "p90": p90}


def distributions(qs: QuerySet, days: DaysBetween, group: str | None = None) -> dict:
    """{group value: {"n", "min", "max", "q1", "median", "q3", "p90"}} of ``days`` over ``qs`` (one group "" when
    ``group`` is None): aggregated by PostgreSQL, else computed here from the values (small databases)."""
    annotated = qs.annotate(_d=days)
    if connection.vendor == "postgresql":
        stats = {"n": Count("id"), "lo": Min("_d"), "hi": Max("_d"), "q": _Quantiles("_d")}
        rows = annotated.values(group).annotate(**stats).order_by() if group else [annotated.aggregate(**stats)]
        return {(r[group] if group else ""): _summary(r["n"], r["lo"], r["hi"], r["q"]) for r in rows if r["n"]}
    values: dict = defaultdict(list)
    for row in annotated.values_list(*([group] if group else []), "_d"):
        values[row[0] if group else ""].append(row[-1])
    return {
        key: _summary(len(found), min(found), max(found), [float(np.percentile(found, q)) for q in (25, 50, 75, 90)])
        for key, found in values.items()
    }


def deployments(scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[StageChange]:
    """Arrivals in production in [start, end), rollbacks not counted."""
    return StageChange.objects.filter(
        scope.q("version__model__"), to_stage=Stage.PRODUCTION, created_at__gte=start, created_at__lt=end
    ).exclude(request__action=Action.ROLLBACK)


def failed(qs: QuerySet[StageChange]) -> QuerySet[StageChange]:
    """The deployments a rollback undid within ROLLBACK_WINDOW_DAYS."""
    return qs.filter(_failed_q())


def _failed_q() -> Q:
    return Q(
        rolled_back_at__isnull=False, rolled_back_at__lte=F("created_at") + dt.timedelta(days=ROLLBACK_WINDOW_DAYS)
    )


def exits(scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[StageChange]:
    """Stage changes in the range whose entry into the stage left is known (the dwell)."""
    return StageChange.objects.filter(
        scope.q("version__model__"), created_at__gte=start, created_at__lt=end, entered_at__isnull=False
    )


def closed_requests(scope: Scope, start: dt.datetime, end: dt.datetime) -> QuerySet[PromotionRequest]:
    return PromotionRequest.objects.filter(
        scope.q("version__model__"), closed_at__gte=start, closed_at__lt=end, status__in=CLOSED_WITH_OUTCOME
    )


def _yield_and_lead(models: QuerySet, start: dt.datetime, end: dt.datetime) -> dict[str, Figure]:
    cohort = models.filter(first_version_at__gte=start, first_version_at__lt=end).aggregate(
        n=Count("id"), shipped=Count("id", filter=Q(first_production_at__lt=end))
    )
    # Lead time: the values (at most one per model) for the histogram.
    lead = sorted(
        models.filter(first_production_at__gte=start, first_production_at__lt=end, first_test_at__isnull=False)
        .annotate(d=DaysBetween("first_production_at", "first_test_at"))
        .values_list("d", flat=True)
    )
    return {
        "production_yield": Figure(
            "production_yield",
            "Production yield",
            100.0 * cohort["shipped"] / cohort["n"] if cohort["n"] else None,
            "%",
            higher_is_better=True,
            help="of the models whose first version was uploaded in the range, the share in production by its end",
        ),
        "lead_time_median": Figure(
            "lead_time_median",
            "Lead time, median",
            percentile(lead, 50),
            "days",
            values=lead,
            p90=percentile(lead, 90),
            help="from a model's first version in test to its first in production, for models first shipped "
            "in the range",
        ),
        "lead_time_p90": Figure(
            "lead_time_p90", "Lead time, p90", percentile(lead, 90), "days", help="90th percentile of the same"
        ),
    }


def flow_metrics(scope: Scope, date_from: dt.date, date_to: dt.date, *, dwell: bool = True) -> dict[str, Figure]:
    """Flow through the stages over [date_from, date_to] (whole days, both included). ``dwell=False`` leaves
    out the dwell distributions (the 30-days-before comparison does not show them)."""
    start, end = range_bounds(date_from, date_to)
    weeks = max((end - start).total_seconds() / (7 * DAY), 1 / 7)
    out = _yield_and_lead(RegisteredModel.objects.filter(scope.q()), start, end)
    dwells = (
        distributions(exits(scope, start, end), DaysBetween("created_at", "entered_at"), "from_stage") if dwell else {}
    )
    for stage in DWELL_STAGES:
        d = dwells.get(stage)
        out[f"dwell_{stage}"] = Figure(
            f"dwell_{stage}",
            f"Dwell in {stage}, median",
            d["median"] if d else None,
            "days",
            p90=d["p90"] if d else None,
            box=d,
            help=f"how long versions that left {stage} in the range had stayed there",
        )
    wait = distributions(closed_requests(scope, start, end), DaysBetween("closed_at", "created_at")).get("")
    out["approval_wait_median"] = Figure(
        "approval_wait_median",
        "Approval wait, median",
        wait["median"] if wait else None,
        "days",
        p90=wait["p90"] if wait else None,
        box=wait,
        help="from a request's opening to its outcome (applied or rejected), for requests closed in the range",
    )
    counted = deployments(scope, start, end).aggregate(n=Count("id"), failed=Count("id", filter=_failed_q()))
    out["deployment_frequency"] = Figure(
        "deployment_frequency",
        "Deployments per week",
        counted["n"] / weeks,
        "/week",
        higher_is_better=True,
        help="versions put in production in the range (rollbacks not counted), per week",
    )
    out["change_failure_rate"] = Figure(
        "change_failure_rate",
        "Change failure rate",
        100.0 * counted["failed"] / counted["n"] if counted["n"] else None,
        "%",
        help=f"share of those deployments rolled back within {ROLLBACK_WINDOW_DAYS} days",
    )
    return out


def funnel_q(field_name: str, end: dt.datetime) -> Q:
    """The step reached by the end of the range."""
    return Q(**{f"{field_name}__lt": end})


def funnel(scope: Scope, in_production_now: int, end: dt.datetime) -> list[Figure]:
    counts = RegisteredModel.objects.filter(scope.q()).aggregate(
        **{key: Count("id", filter=funnel_q(f, end)) for key, _label, f in FUNNEL}
    )
    steps = [Figure(key, label, counts[key], "models") for key, label, _q in FUNNEL]
    steps.append(Figure("funnel_now", "In production now", in_production_now, "models"))
    return steps
