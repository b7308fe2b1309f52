"""Demo data made of real models: scikit-learn estimators trained on data sets bundled with scikit-learn
(no download), converted to ONNX with skl2onnx and registered through the same services as the forms."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn import datasets
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from portal.models import Team
from portal.roles import Role
from portal.services import team_create
from registry import services
from registry.models import Dataset, ModelVersion, RegisteredModel

logger = logging.getLogger(__name__)
DEMO_PASSWORD = "gatehouse-demo"  # noqa: S105 - demo accounts only; refused unless DEBUG is on

# username, full name, role, teams
DEMO_USERS = [
    ("scientist", "Dana Scientist", Role.DATA_SCIENTIST, ["diagnostics", "customer-analytics"]),
    ("forecaster", "Farid Forecaster", Role.DATA_SCIENTIST, ["forecasting"]),
    ("itops", "Ivo Operations", Role.IT_OPERATIONS, []),
    # A second IT person: critical models need two IT approvals, and a rollback asked by one is approved by another.
    ("itops2", "Ines Operations", Role.IT_OPERATIONS, []),
    ("reviewer", "Rita Reviewer", Role.RISK_REVIEWER, []),
    ("manager", "Mona Manager", Role.MANAGER, []),
]
DEMO_TEAMS = ["Diagnostics", "Customer Analytics", "Forecasting"]

CARD = {
    "intended_use": "Demonstration of the Gatehouse workflow on a public scikit-learn data set.",
    "out_of_scope_use": "Any real decision about people, patients or money.",
    "training_data": "The scikit-learn bundled data set named in the description, 75% split, seed 0.",
    "evaluation_data": "The remaining 25% of the same data set, uploaded as the validation dataset.",
    "metrics_description": "Accuracy and macro F1 for classifiers; MAE and R² for regressors.",
    "limitations": "Small, old, public data; the model has never seen data from production.",
    "ethical_considerations": "None beyond the data set's own documentation; not used on real people.",
    "caveats": "Registered by the demo command; versions differ in hyper-parameters only.",
}


@dataclass
class DemoModel:
    name: str
    team: str
    loader: str
    task_type: str
    risk_tier: str
    description: str
    estimators: list  # one per version, oldest first
    tags: list[str] = field(default_factory=list)
    card_complete: bool = True
    dataset_format: str = "csv"
    refresh_days: int = 180
    margin: float = 0.01


def _models() -> list[DemoModel]:
    return [
        DemoModel(
            "tumor-malignancy",
            "diagnostics",
            "load_breast_cancer",
            "binary-classification",
            "critical",
            "Flags malignant tumours from cell-nucleus measurements (Wisconsin breast cancer data).",
            [
                lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500)),
                lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)),
                lambda: GradientBoostingClassifier(n_estimators=80, random_state=0),
            ],
            tags=["clinical", "tabular"],
            refresh_days=90,
            margin=0.03,
        ),
        DemoModel(
            "iris-species",
            "customer-analytics",
            "load_iris",
            "multiclass",
            "low",
            "Classifies iris flowers by species from petal and sepal sizes.",
            [
                lambda: LogisticRegression(max_iter=500),
                lambda: RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0),
            ],
            tags=["tabular", "tutorial"],
            dataset_format="parquet",
            refresh_days=120,
        ),
        DemoModel(
            "wine-cultivar",
            "customer-analytics",
            "load_wine",
            "multiclass",
            "high",
            "Tells the cultivar of a wine from its chemical analysis.",
            [
                lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
                lambda: make_pipeline(StandardScaler(), LogisticRegression(C=4.0, max_iter=500)),
            ],
            tags=["tabular"],
            card_complete=False,
        ),
        DemoModel(
            "diabetes-progression",
            "forecasting",
            "load_diabetes",
            "regression",
            "high",
            "Predicts disease progression one year after baseline.",
            [
                lambda: Ridge(alpha=1.0),
                lambda: GradientBoostingRegressor(n_estimators=100, max_depth=2, random_state=0),
            ],
            tags=["clinical", "regression"],
            refresh_days=90,
        ),
        DemoModel(
            "digit-recognizer",
            "diagnostics",
            "load_digits",
            "multiclass",
            "medium",
            "Reads handwritten digits from 8×8 images.",
            [lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))],
            tags=["vision"],
            card_complete=False,
        ),
    ]


def _to_onnx(estimator, n_features: int) -> bytes:
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    onx = convert_sklearn(
        estimator,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        options=options,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onx.SerializeToString()


def _metrics(task_type: str, estimator, x, y) -> dict[str, float]:
    pred = estimator.predict(x)
    if task_type == "regression":
        return {"mae": round(float(mean_absolute_error(y, pred)), 4), "r2": round(float(r2_score(y, pred)), 4)}
    out = {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "f1_macro": round(float(f1_score(y, pred, average="macro")), 4),
    }
    if task_type == "binary-classification":
        out["roc_auc"] = round(float(roc_auc_score(y, estimator.predict_proba(x)[:, 1])), 4)
    return out


def _dataset_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        frame.to_csv(buffer, index=False)
    return buffer.getvalue()


def _users() -> dict[str, object]:
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


# --- The history -------------------------------------------------------------------------------------------
# The demo is a story of seven months, played through the same services as the pages on a clock set back
# (time-machine): models are registered, validated and benchmarked for real (onnxruntime, in this process),
# promoted, rejected and rolled back by the demo people, and watched in production by observations computed
# from the real models on samples of their data, one of them drifting. The dashboard's history is then the
# backfill of that story: every figure traces to rows made the way production makes them.

STORY_DAYS = 210
MONITOR = "itops"  # the serving side reports observations under IT's account


@dataclass
class _Ctx:
    now: dt.datetime
    users: dict
    models: dict = field(default_factory=dict)  # name → RegisteredModel
    data: dict = field(default_factory=dict)  # name → (x_all, y_all, x_train, y_train, x_test, y_test, columns)
    estimators: dict = field(default_factory=dict)  # (name, index) → fitted estimator
    requests: dict = field(default_factory=dict)  # label → PromotionRequest


def _spec(name: str) -> DemoModel:
    return next(m for m in _models() if m.name == name)


def _load(ctx: _Ctx, name: str):
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


def _register(ctx: _Ctx, name: str) -> None:
    spec = _spec(name)
    owner = ctx.users["forecaster"] if spec.team == "forecasting" else ctx.users["scientist"]
    card = dict(CARD)
    if not spec.card_complete:
        card.update(ethical_considerations="", caveats="")
    model = services.registered_model_create(
        actor=owner, name=spec.name, team=Team.objects.get(slug=spec.team), task_type=spec.task_type,
        risk_tier=spec.risk_tier, tags=spec.tags, description=spec.description,
        refresh_interval_days=spec.refresh_days,
        metric_floors={"r2": 0.25} if spec.task_type == "regression" else {"accuracy": 0.9},
        noninferiority_margin=spec.margin, slo_p99_latency_ms=5.0, slo_min_throughput=5000.0, **card)
    x, y, x_train, y_train, x_test, y_test, columns = _load(ctx, name)
    frame = pd.DataFrame(x_test, columns=columns)
    frame["target"] = y_test
    services.dataset_create(
        actor=owner, model=model, name="holdout", label_column="target",
        description=f"25% hold-out of scikit-learn's {spec.loader[5:]} data set (seed 0).",
        file=ContentFile(_dataset_bytes(frame, spec.dataset_format), name=f"holdout.{spec.dataset_format}"))
    ctx.models[name] = model


def _upload(ctx: _Ctx, name: str, index: int, trained_days_before: int = 2) -> None:
    spec = _spec(name)
    model = ctx.models[name]
    x, y, x_train, y_train, x_test, y_test, _columns = _load(ctx, name)
    estimator = spec.estimators[index]().fit(x_train, y_train)
    ctx.estimators[(name, index)] = estimator
    services.model_version_create(
        actor=model.owner, model=model,
        artifact=ContentFile(_to_onnx(estimator, x.shape[1]), name=f"{spec.name}.onnx"),
        source_code_url=f"https://git.example.com/{spec.team}/{spec.name}",
        source_commit=hashlib.sha1(f"{spec.name}-{index}".encode()).hexdigest(),  # noqa: S324 - a demo id
        training_data_ref=f"sklearn.datasets.{spec.loader} (75% split, seed 0)",
        trained_at=timezone.now() - dt.timedelta(days=trained_days_before),
        parent_number=index or None,
        metrics=_metrics(spec.task_type, estimator, x_test, y_test),
        notes=f"{type(estimator).__name__} trained by the demo command.")


def _version(ctx: _Ctx, name: str, number: int):
    return ctx.models[name].versions.get(number=number)


def _job(ctx: _Ctx, name: str, number: int, kind: str, actor: str) -> None:
    from registry.job_services import job_create
    from registry.runner import run_job

    version = _version(ctx, name, number)
    if kind == "validation":
        job = job_create(actor=ctx.users[actor], version=version, kind=kind, dataset=version.model.datasets.get(),
                         dispatch=False)
    else:
        job = job_create(actor=ctx.users[actor], version=version, kind=kind, device="cpu", dispatch=False,
                         parameters={"batch_sizes": [1, 32], "warmup_ms": 50, "min_iterations": 50,
                                     "min_seconds": 0.3})
    status = run_job(job.pk, hostname="demo-worker")
    logger.info("demo: %s of %s v%s: %s", kind, name, number, status)


def _ask(ctx: _Ctx, label: str, name: str, number: int, action: str, actor: str, why: str) -> None:
    from approvals.services import promotion_request_open

    ctx.requests[label] = promotion_request_open(actor=ctx.users[actor], version=_version(ctx, name, number),
                                                 action=action, justification=why)


def _decide(ctx: _Ctx, label: str, actor: str, decision: str, comment: str) -> None:
    from approvals.services import promotion_request_decide

    promotion_request_decide(actor=ctx.users[actor], request=ctx.requests[label], decision=decision, comment=comment)


def _observe(ctx: _Ctx, name: str, seed: int, drift: float = 0.0) -> None:
    """One day of production traffic: rows drawn from the hold-out (the drifting model's strongest
    features shifted by ``drift``), scored by the production model through onnxruntime, reported as the
    accuracy on the labelled rows and feature histograms on the reference's edges."""
    import onnxruntime as ort

    from registry.artifacts import local_path
    from registry.monitoring import observation_record
    from registry.runtimes.drift import histogram_of
    from registry.selectors import reference_job

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
            sample[:, col] = sample[:, col] * (1 + drift) + rng.normal(0, drift * sample[:, col].std(),
                                                                       len(sample))
    key = ("session", version.pk)
    if key not in ctx.estimators:
        with local_path(version.artifact.name) as path:
            ctx.estimators[key] = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    session = ctx.estimators[key]
    predicted = session.run(None, {session.get_inputs()[0].name: sample.astype(np.float32)})[0].reshape(-1)
    accuracy = float((predicted.astype(labels.dtype) == labels).mean())
    reference = reference_job(version=version).result["reference_histograms"]
    histograms = {c: histogram_of(sample[:, i], reference[c]["edges"]) for i, c in enumerate(columns)
                  if c in reference}
    observation_record(actor=ctx.users[MONITOR], version=version, metrics={"accuracy": round(accuracy, 4)},
                       histograms=histograms, sample_count=len(sample), source="serving-gateway-1",
                       window_start=timezone.now() - dt.timedelta(days=1))


def _update_card(ctx: _Ctx, name: str) -> None:
    services.registered_model_update(actor=ctx.models[name].owner, model=ctx.models[name],
                                     ethical_considerations=CARD["ethical_considerations"], caveats=CARD["caveats"])


def _story(ctx: _Ctx) -> list[tuple[float, object]]:
    """(days before now, step). Steps run in time order, so the audit log reads as a history."""
    s: list[tuple[float, object]] = []

    def at(days: float, fn, *args, **kwargs):
        s.append((days, lambda: fn(ctx, *args, **kwargs)))

    # tumor-malignancy (critical): shipped, superseded, rolled back within days, shipped again; watched daily.
    at(200, _register, "tumor-malignancy")
    at(199.9, _upload, "tumor-malignancy", 0)
    at(199.8, _job, "tumor-malignancy", 1, "validation", "scientist")
    at(199.7, _ask, "t1-test", "tumor-malignancy", 1, "promote", "scientist",
       "Logistic baseline validated on the hold-out; ready for the clinical test bench.")
    at(198, _decide, "t1-test", "forecaster", "approve", "Validation and card reviewed; fine for test.")
    at(197, _job, "tumor-malignancy", 1, "benchmark", "scientist")
    at(196.9, _ask, "t1-prod", "tumor-malignancy", 1, "promote", "scientist",
       "Two weeks on the test bench without an incident; first production release.")
    at(195.5, _decide, "t1-prod", "itops", "approve", "Latency within the SLO on the CPU pool.")
    at(195.4, _decide, "t1-prod", "itops2", "approve", "Second IT approval for a critical model.")
    at(195.3, _decide, "t1-prod", "reviewer", "approve", "Risk review done; monitoring plan agreed.")
    at(120, _upload, "tumor-malignancy", 1)
    at(119.9, _job, "tumor-malignancy", 2, "validation", "scientist")
    at(119.8, _ask, "t2-test", "tumor-malignancy", 2, "promote", "scientist",
       "Less regularised: better calibrated, recall within the agreed margin.")
    at(119, _decide, "t2-test", "forecaster", "approve", "Looks fine for test.")
    at(118, _job, "tumor-malignancy", 2, "benchmark", "scientist")
    at(117.9, _ask, "t2-prod", "tumor-malignancy", 2, "promote", "scientist", "Replaces v1 after a week in test.")
    at(116, _decide, "t2-prod", "itops", "approve", "OK.")
    at(115.9, _decide, "t2-prod", "itops2", "approve", "OK.")
    at(115.8, _decide, "t2-prod", "reviewer", "approve", "Approved.")
    at(113, _ask, "t1-rollback", "tumor-malignancy", 1, "rollback", "itops",
       "v2 flags too many benign cases at the partner clinic; back to v1 while we look.")
    at(112.9, _decide, "t1-rollback", "itops2", "approve", "Agreed, roll back now.")
    at(62, _upload, "tumor-malignancy", 2)
    at(61.9, _job, "tumor-malignancy", 3, "validation", "scientist")
    at(61.8, _ask, "t3-test", "tumor-malignancy", 3, "promote", "scientist", "Gradient boosting; fixes the v2 issue.")
    at(60, _decide, "t3-test", "forecaster", "approve", "Fine for test.")
    at(59, _job, "tumor-malignancy", 3, "benchmark", "itops")
    at(58.9, _ask, "t3-prod", "tumor-malignancy", 3, "promote", "scientist", "Clinic pilot passed; replaces v1.")
    at(55, _decide, "t3-prod", "itops", "approve", "OK.")
    at(54.9, _decide, "t3-prod", "itops2", "approve", "OK.")
    at(54.8, _decide, "t3-prod", "reviewer", "approve", "Approved after the pilot report.")
    for day in range(195, 0, -1):
        at(day - 0.5, _observe, "tumor-malignancy", seed=day)

    # wine-cultivar (high): card completed late; in production half a year; drifting for the last six weeks;
    # its replacement waits in the approval queue. Its validation is older than the tier's 180 days.
    at(205, _register, "wine-cultivar")
    at(204.9, _upload, "wine-cultivar", 0)
    at(197, _job, "wine-cultivar", 1, "validation", "scientist")
    at(196, _update_card, "wine-cultivar")
    at(195.9, _ask, "w1-test", "wine-cultivar", 1, "promote", "scientist", "Card complete; validated.")
    at(195, _decide, "w1-test", "forecaster", "approve", "OK for test.")
    at(194, _job, "wine-cultivar", 1, "benchmark", "scientist")
    at(193.9, _ask, "w1-prod", "wine-cultivar", 1, "promote", "scientist", "Ready for the cellar-planning app.")
    at(190, _decide, "w1-prod", "itops", "approve", "OK.")
    at(189.9, _decide, "w1-prod", "reviewer", "approve", "Low impact; approved.")
    for day in range(189, 0, -3):
        at(day - 0.4, _observe, "wine-cultivar", seed=1000 + day, drift=max(0.0, (42 - day) / 42 * 0.45))
    at(30, _upload, "wine-cultivar", 1)
    at(29.9, _job, "wine-cultivar", 2, "validation", "scientist")
    at(29.8, _ask, "w2-test", "wine-cultivar", 2, "promote", "scientist",
       "Retrained with less regularisation; as accurate on the hold-out.")
    at(28, _decide, "w2-test", "forecaster", "approve", "OK for test.")
    at(27, _job, "wine-cultivar", 2, "benchmark", "scientist")
    at(20, _ask, "w2-prod", "wine-cultivar", 2, "promote", "scientist",
       "v1 is drifting since the supplier change; v2 holds up. Please approve soon.")

    # iris-species (low): shipped, then its serving side stopped reporting six weeks ago; v2 in design.
    at(175, _register, "iris-species")
    at(174.9, _upload, "iris-species", 0, trained_days_before=4)
    at(165, _job, "iris-species", 1, "validation", "scientist")
    at(164.9, _ask, "i1-test", "iris-species", 1, "promote", "scientist", "Validated; low risk.")
    at(162, _job, "iris-species", 1, "benchmark", "scientist")
    at(161.9, _ask, "i1-prod", "iris-species", 1, "promote", "scientist", "Ship it to the garden-centre app.")
    at(158, _decide, "i1-prod", "itops", "approve", "OK.")
    for day in range(157, 44, -7):
        at(day - 0.3, _observe, "iris-species", seed=2000 + day)
    at(20, _upload, "iris-species", 1)

    # diabetes-progression (high): reached test, refused production, on the shelf since.
    at(182, _register, "diabetes-progression")
    at(181.9, _upload, "diabetes-progression", 0)
    at(180, _job, "diabetes-progression", 1, "validation", "forecaster")
    at(179.9, _ask, "d1-test", "diabetes-progression", 1, "promote", "forecaster", "Ridge baseline validated.")
    at(178, _decide, "d1-test", "scientist", "approve", "OK for test.")
    at(171, _job, "diabetes-progression", 1, "benchmark", "forecaster")
    at(170.9, _ask, "d1-prod", "diabetes-progression", 1, "promote", "forecaster", "Ready for the clinic planner.")
    at(166, _decide, "d1-prod", "reviewer", "reject", "R² of 0.4 is too weak for planning treatment; improve it.")
    at(40, _upload, "diabetes-progression", 1)

    # digit-recognizer (medium): registered with half a card; still in design.
    at(90, _register, "digit-recognizer")
    at(89.9, _upload, "digit-recognizer", 0)
    return s


def load_demo_data(*, stdout=None) -> dict[str, int]:
    """Play the demo history once. On a database that has it already, nothing changes."""
    import time_machine
    from django.test.utils import override_settings

    names = [m.name for m in _models()]
    existing = RegisteredModel.objects.filter(name__in=names).count()
    if existing == len(names):
        return {"models": 0, "versions": 0, "datasets": 0}
    if existing:
        raise RuntimeError("An earlier demo run stopped half-way. Start from an empty database (make clean), "
                           "then load the demo again.")
    now = timezone.now().replace(microsecond=0)
    versions = ModelVersion.objects.count()
    # Emails of the played history are not sent; the people in it are fictional.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        with time_machine.travel(now - dt.timedelta(days=STORY_DAYS), tick=True):
            users = _users()
            admin = get_user_model().objects.get(username="admin")
            for team_name in DEMO_TEAMS:
                team = Team.objects.filter(name=team_name).first() or team_create(name=team_name, actor=admin)
                team.members.add(*[users[u] for u, _, _, teams in DEMO_USERS if team.slug in teams])
        ctx = _Ctx(now=now, users=users)
        steps = sorted(_story(ctx), key=lambda step: -step[0])
        clock = now - dt.timedelta(days=STORY_DAYS)
        for number, (days, step) in enumerate(steps, 1):
            # Never back in time, even when two steps share a moment: the audit log must read forwards.
            clock = max(now - dt.timedelta(days=days), clock + dt.timedelta(milliseconds=1))
            with time_machine.travel(clock, tick=True):
                step()
                clock = timezone.now()
            if stdout and number % 50 == 0:
                stdout.write(f"  {number} of {len(steps)} steps played\n")
    from portal.services import debt_backfill, debt_snapshot_take

    debt_backfill()
    debt_snapshot_take()
    return {"models": len(names), "versions": ModelVersion.objects.count() - versions,
            "datasets": Dataset.objects.count()}
