"""The demo's steps: each calls the same services as the pages, on the clock the story sets."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from sklearn import datasets
from sklearn.model_selection import train_test_split

from approvals.services import finding_open, finding_transition, promotion_request_decide, promotion_request_open
from portal.core.models import Team
from portal.demo.accounts import DEMO_PASSWORD, DEMO_USERS
from portal.demo.catalog import CARD, DemoModel, dataset_bytes, demo_models, offline_metrics, to_onnx
from registry import services
from registry.artifacts import local_path
from registry.evidence.drift import histogram_of
from registry.runner import run_job
from registry.selectors import reference_job
from registry.services.jobs import job_create
from registry.services.monitoring import observation_record

logger = logging.getLogger(__name__)


def users_create() -> dict[str, object]:
    User = get_user_model()
    users = {}
    for username, full_name, role, _teams in DEMO_USERS:
        first, last = full_name.split(" ", 1)
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)
    return users


MONITOR = "itops"  # the serving side reports observations under IT's account


@dataclass
class Ctx:
    now: dt.datetime
    users: dict
    models: dict = field(default_factory=dict)  # name → RegisteredModel
    data: dict = field(default_factory=dict)  # name → (x_all, y_all, x_train, y_train, x_test, y_test, columns)
    estimators: dict = field(default_factory=dict)  # (name, index) → fitted estimator
    requests: dict = field(default_factory=dict)  # label → PromotionRequest
    findings: dict = field(default_factory=dict)  # label → Finding


def _spec(name: str) -> DemoModel:
    return next(m for m in demo_models() if m.name == name)


def _load(ctx: Ctx, name: str):
    if name not in ctx.data:
        spec = _spec(name)
        bunch = getattr(datasets, spec.loader)()
        x = bunch.data.astype(np.float32)
        y = bunch.target
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
        names = getattr(bunch, "feature_names", None)
        names = list(names) if names is not None else [f"f{i}" for i in range(x.shape[1])]
        columns = [str(n).replace(" ", "_").replace("(", "").replace(")", "") for n in names]
        ctx.data[name] = (x, y, x_train, y_train, x_test, y_test, columns)
    return ctx.data[name]


def register(ctx: Ctx, name: str) -> None:
    spec = _spec(name)
    owner = ctx.users["forecaster"] if spec.team == "forecasting" else ctx.users["scientist"]
    card = dict(CARD)
    if not spec.card_complete:
        card.update(ethical_considerations="", caveats="")
    model = services.registered_model_create(
        actor=owner,
        name=spec.name,
        team=Team.objects.get(slug=spec.team),
        task_type=spec.task_type,
        risk_tier=spec.risk_tier,
        tags=spec.tags,
        description=spec.description,
        refresh_interval_days=spec.refresh_days,
        metric_floors={"r2": 0.25} if spec.task_type == "regression" else {"accuracy": 0.9},
        noninferiority_margin=spec.margin,
        slo_p99_latency_ms=5.0,
        slo_min_throughput=5000.0,
        **card,
    )
    x, y, x_train, y_train, x_test, y_test, columns = _load(ctx, name)
    frame = pd.DataFrame(x_test, columns=columns)
    frame["target"] = y_test
    services.dataset_create(
        actor=owner,
        model=model,
        name="holdout",
        label_column="target",
        description=f"25% hold-out of scikit-learn's {spec.loader[5:]} data set (seed 0).",
        file=ContentFile(dataset_bytes(frame, spec.dataset_format), name=f"holdout.{spec.dataset_format}"),
    )
    ctx.models[name] = model


def upload(ctx: Ctx, name: str, index: int, trained_days_before: int = 2) -> None:
    spec = _spec(name)
    model = ctx.models[name]
    x, y, x_train, y_train, x_test, y_test, _columns = _load(ctx, name)
    estimator = spec.estimators[index]().fit(x_train, y_train)
    ctx.estimators[(name, index)] = estimator
    services.model_version_create(
        actor=model.owner,
        model=model,
        artifact=ContentFile(to_onnx(estimator, x.shape[1]), name=f"{spec.name}.onnx"),
        source_code_url=f"https://git.example.com/{spec.team}/{spec.name}",
        source_commit=hashlib.sha1(f"{spec.name}-{index}".encode()).hexdigest(),  # noqa: S324 - a demo id
        training_data_ref=f"sklearn.datasets.{spec.loader} (75% split, seed 0)",
        trained_at=timezone.now() - dt.timedelta(days=trained_days_before),
        parent_number=index or None,
        metrics=offline_metrics(spec.task_type, estimator, x_test, y_test),
        notes=f"{type(estimator).__name__} trained by the demo command.",
    )


def _version(ctx: Ctx, name: str, number: int):
    return ctx.models[name].versions.get(number=number)


def evidence(ctx: Ctx, name: str, number: int, kind: str, actor: str) -> None:
    version = _version(ctx, name, number)
    if kind == "validation":
        job = job_create(
            actor=ctx.users[actor], version=version, kind=kind, dataset=version.model.datasets.get(), dispatch=False
        )
    else:
        job = job_create(
            actor=ctx.users[actor],
            version=version,
            kind=kind,
            device="cpu",
            dispatch=False,
            parameters={"batch_sizes": [1, 32], "warmup_ms": 50, "min_iterations": 50, "min_seconds": 0.3},
        )
    status = run_job(job.pk, hostname="demo-worker")
    logger.info("demo: %s of %s v%s: %s", kind, name, number, status)


def ask(ctx: Ctx, label: str, name: str, number: int, action: str, actor: str, why: str) -> None:
    ctx.requests[label] = promotion_request_open(
        actor=ctx.users[actor], version=_version(ctx, name, number), action=action, justification=why
    )


def decide(ctx: Ctx, label: str, actor: str, decision: str, comment: str) -> None:
    promotion_request_decide(actor=ctx.users[actor], request=ctx.requests[label], decision=decision, comment=comment)


def find(
    ctx: Ctx,
    label: str,
    name: str,
    number: int,
    actor: str,
    severity: str,
    title: str,
    description: str,
    due_days: int,
    request: str | None = None,
) -> None:
    """A reviewer records a finding on a version (under review of a request, when named)."""
    ctx.findings[label] = finding_open(
        actor=ctx.users[actor],
        version=_version(ctx, name, number),
        title=title,
        severity=severity,
        description=description,
        due_date=timezone.localdate() + dt.timedelta(days=due_days),
        request=ctx.requests.get(request) if request else None,
    )


def resolve(ctx: Ctx, label: str, actor: str, action: str, comment: str) -> None:
    finding_transition(actor=ctx.users[actor], finding=ctx.findings[label], action=action, comment=comment)


def observe(ctx: Ctx, name: str, seed: int, drift: float = 0.0) -> None:
    """One day of production traffic: rows drawn from the hold-out (the drifting model's strongest
    features shifted by ``drift``), scored by the production model through onnxruntime, reported as the
    accuracy on the labelled rows and feature histograms on the reference's edges."""
    model = ctx.models[name]
    version = model.versions.get(stage="production")
    # Drawn from the hold-out, the population the reference histograms were taken from, so only the drift
    # moves the PSI (beyond the noise of a sample).
    *_rest, x_test, y_test, columns = _load(ctx, name)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x_test), size=400, replace=True)
    sample, labels = x_test[rows].copy(), y_test[rows]
    if drift:
        # A new supplier's measurements: the two most spread features read higher and noisier.
        for col in np.argsort(sample.std(axis=0))[-2:]:
            sample[:, col] = sample[:, col] * (1 + drift) + rng.normal(0, drift * sample[:, col].std(), len(sample))
    key = ("session", version.pk)
    if key not in ctx.estimators:
        with local_path(version.artifact.name) as path:
            ctx.estimators[key] = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    session = ctx.estimators[key]
    predicted = session.run(None, {session.get_inputs()[0].name: sample.astype(np.float32)})[0].reshape(-1)
    accuracy = float((predicted.astype(labels.dtype) == labels).mean())
    reference = reference_job(version=version).result["reference_histograms"]
    histograms = {c: histogram_of(sample[:, i], reference[c]["edges"]) for i, c in enumerate(columns) if c in reference}
    observation_record(
        actor=ctx.users[MONITOR],
        version=version,
        metrics={"accuracy": round(accuracy, 4)},
        histograms=histograms,
        sample_count=len(sample),
        source="serving-gateway-1",
        window_start=timezone.now() - dt.timedelta(days=1),
    )


def update_card(ctx: Ctx, name: str) -> None:
    services.registered_model_update(
        actor=ctx.models[name].owner,
        model=ctx.models[name],
        ethical_considerations=CARD["ethical_considerations"],
        caveats=CARD["caveats"],
    )
