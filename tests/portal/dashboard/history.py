"""A constructed history for the debt and flow tests: rows written directly with chosen times, so each
figure has an exact expected value (worked out in tests/portal/test_debt.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from approvals.milestones import rebuild
from approvals.models import Finding, PromotionRequest, StageChange
from registry.models import Dataset, Job, ModelVersion, Observation, RegisteredModel
from tests.factories import RegisteredModelFactory, TeamFactory, UserFactory

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)  # a Monday
CARD = {
    f: "Written."
    for f in (
        "intended_use",
        "out_of_scope_use",
        "training_data",
        "evaluation_data",
        "metrics_description",
        "limitations",
        "ethical_considerations",
        "caveats",
    )
}
_n = itertools.count(1)


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def version(model, number: int, *, created: float, trained: float | None = None, stage: str = "design"):
    digest = hashlib.sha256(f"{model.name}-{number}-{next(_n)}".encode()).hexdigest()
    v = ModelVersion.objects.create(
        model=model,
        number=number,
        stage=stage,
        artifact=f"x/{digest}.onnx",
        sha256=digest,
        size_bytes=1,
        created_by=model.owner,
        trained_at=ago(trained) if trained is not None else None,
    )
    ModelVersion.objects.filter(pk=v.pk).update(created_at=ago(created))
    v.refresh_from_db()
    return v


def change(v, from_stage: str, to_stage: str, days: float, request=None):
    c = StageChange.objects.create(
        version=v, from_stage=from_stage, to_stage=to_stage, request=request, reason="constructed"
    )
    StageChange.objects.filter(pk=c.pk).update(created_at=ago(days))
    ModelVersion.objects.filter(pk=v.pk).update(stage=to_stage)
    return c


def request(
    v,
    action: str,
    from_stage: str,
    to_stage: str,
    *,
    opened: float,
    closed: float | None = None,
    status: str = "applied",
):
    r = PromotionRequest.objects.create(
        version=v,
        action=action,
        from_stage=from_stage,
        to_stage=to_stage,
        justification="constructed",
        requester=v.model.owner,
        policy={},
        artifact_sha256=v.sha256,
        status=status,
        closed_at=ago(closed) if closed is not None else None,
    )
    PromotionRequest.objects.filter(pk=r.pk).update(created_at=ago(opened))
    return r


def observe(v, days: float, *, degradation: float = 0.0, max_psi: float | None = None, below=()):
    o = Observation.objects.create(
        version=v,
        observed_at=ago(days),
        metrics={"accuracy": 0.9},
        max_psi=max_psi,
        degradation=degradation,
        below_floor=list(below),
        reported_by=v.model.owner,
    )
    return o


def _dataset(model):
    return Dataset.objects.create(
        model=model,
        name="holdout",
        file="x/holdout.csv",
        format="csv",
        sha256="0" * 64,
        size_bytes=1,
        row_count=1,
        columns=[],
        label_column="y",
        created_by=model.owner,
    )


def finding(v: ModelVersion, severity: str, *, created: float, due: int, resolved: float | None = None) -> Finding:
    row = Finding.objects.create(
        version=v,
        title=f"{severity} finding on {v}",
        severity=severity,
        description="Found in review.",
        owner=v.model.owner,
        raised_by=v.created_by,
        due_date=(NOW - dt.timedelta(days=due)).date(),
        status="verified" if resolved is not None else "open",
        resolved_at=ago(resolved) if resolved is not None else None,
    )
    Finding.objects.filter(pk=row.pk).update(created_at=ago(created))
    return row


def build() -> dict:
    """Models A–E of the worked example in tests/portal/test_debt.py."""
    team_a = TeamFactory(name="Alpha", slug="alpha")
    team_b = TeamFactory(name="Beta", slug="beta")
    owner = UserFactory(username="owner-a")
    gone = UserFactory(username="left-the-company", is_active=False)

    # A, critical: v1 in production from D-80, superseded by v2 at D-79, rolled back to v1 at D-77.
    a = RegisteredModelFactory(
        name="alpha-critical", team=team_a, owner=owner, risk_tier="critical", refresh_interval_days=90, **CARD
    )
    a1 = version(a, 1, created=100, trained=100)
    a2 = version(a, 2, created=85, trained=86)
    change(a1, "design", "test", 95)
    r_a1 = request(a1, "promote", "test", "production", opened=85, closed=80)
    change(a1, "test", "production", 80, r_a1)
    change(a2, "design", "test", 82)
    r_a2 = request(a2, "promote", "test", "production", opened=80, closed=79)
    change(a1, "production", "retired", 79, r_a2)
    change(a2, "test", "production", 79, r_a2)
    r_back = request(a1, "rollback", "retired", "production", opened=78, closed=77)
    change(a2, "production", "retired", 77, r_back)
    change(a1, "retired", "production", 77, r_back)
    a3 = version(a, 3, created=12)
    request(a3, "promote", "design", "test", opened=10, status="open")  # 6 working days before NOW
    observe(a1, 3, degradation=0.5, max_psi=0.15)
    observe(a1, 90, degradation=1.0, max_psi=0.4)  # older; the latest counts

    # B, low: in test since D-45, nothing in production; half a card.
    b = RegisteredModelFactory(name="beta-low", team=team_b, owner=owner, risk_tier="low", **{**CARD, "caveats": ""})
    b1 = version(b, 1, created=50)
    change(b1, "design", "test", 45)

    # C, medium: in production without an approval record; its owner left.
    c = RegisteredModelFactory(
        name="gamma-medium", team=team_a, owner=gone, risk_tier="medium", refresh_interval_days=180, **CARD
    )
    c1 = version(c, 1, created=40, trained=10)
    change(c1, "design", "test", 30)
    change(c1, "test", "production", 20)
    observe(c1, 1, degradation=0.0, max_psi=0.02)
    # Its findings: a low one past due since D-5; a high one past due from D-10 until verified at D-2.
    finding(c1, "low", created=15, due=5)
    finding(c1, "high", created=20, due=10, resolved=2)
    # B's high finding is not due yet: no debt.
    finding(b1, "high", created=10, due=-5)

    # D: retired for good (not live); E: nothing uploaded (not live).
    d = RegisteredModelFactory(name="delta-retired", team=team_b, owner=owner, risk_tier="high", **CARD)
    d1 = version(d, 1, created=200)
    change(d1, "design", "retired", 150)
    e = RegisteredModelFactory(name="epsilon-empty", team=team_b, owner=owner, risk_tier="high", **CARD)

    for model, days in ((a, 101), (b, 51), (c, 41), (d, 201), (e, 5)):
        RegisteredModel.objects.filter(pk=model.pk).update(created_at=ago(days))
    for v, days in ((a1, 95), (c1, 5)):
        Job.objects.create(
            kind="validation",
            version=v,
            dataset=_dataset(v.model),
            artifact_sha256=v.sha256,
            queue="cpu",
            status="succeeded",
            verdict="passed",
            requested_by=owner,
            finished_at=ago(days),
        )

    rebuild()  # the milestones the services keep as they go, from the rows written above
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "team_a": team_a, "team_b": team_b, "a1": a1, "c1": c1}


# The components and indexes of the history's models at NOW, worked out by hand.
A = {
    "shelf": 0.0,
    "stale": 10 / 90,
    "unmonitored": 1.0,
    "degrading": 0.5,
    "overdue_validation": 1.0,
    "ungoverned": 0.0,
    "stuck": 1.0,
    "overdue_findings": 0.0,
}
B = {
    "shelf": 0.5,
    "stale": 0.0,
    "unmonitored": 0.0,
    "degrading": 0.0,
    "overdue_validation": 0.0,
    "ungoverned": 0.5,
    "stuck": 0.0,
    "overdue_findings": 0.0,
}
C = {
    "shelf": 0.0,
    "stale": 0.0,
    "unmonitored": 0.0,
    "degrading": 0.0,
    "overdue_validation": 0.0,
    "ungoverned": 2 / 3,
    "stuck": 0.0,
    "overdue_findings": 0.5,  # a low finding past due; the high one was verified at D-2
}
INDEX = {
    "alpha-critical": 100 * (2 / 9 + 3 + 1.5 + 2 + 1) / 16,
    "beta-low": 100 * (0.5 + 1.0) / 16,
    "gamma-medium": 100 * (4 / 3 + 1) / 16,
}


def by_name(items) -> dict:
    """ModelDebts by model name."""
    return {m.facts.name: m for m in items}
