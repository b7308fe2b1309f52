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
from django.db import transaction
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
from registry.models import RegisteredModel

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
        ),
        DemoModel(
            "wine-cultivar",
            "customer-analytics",
            "load_wine",
            "multiclass",
            "medium",
            "Tells the cultivar of a wine from its chemical analysis.",
            [
                lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
                lambda: RandomForestClassifier(n_estimators=50, random_state=0),
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


def load_demo_data(*, stdout=None) -> dict[str, int]:
    """Create the demo teams, accounts and models; models that exist already are left alone."""
    users = _users()
    admin = get_user_model().objects.get(username="admin")
    with transaction.atomic():
        for team_name in DEMO_TEAMS:
            team = Team.objects.filter(name=team_name).first() or team_create(name=team_name, actor=admin)
            team.members.add(*[users[u] for u, _, _, teams in DEMO_USERS if team.slug in teams])
    created = {"models": 0, "versions": 0, "datasets": 0}
    now = timezone.now()
    for spec in _models():
        # Idempotent and resumable: whatever part of a model is already there is kept.
        model = RegisteredModel.objects.filter(name=spec.name).first()
        done_versions = model.versions.count() if model else 0
        has_dataset = bool(model and model.datasets.exists())
        if model and has_dataset and done_versions >= len(spec.estimators):
            continue
        owner = users["forecaster"] if spec.team == "forecasting" else users["scientist"]
        bunch = getattr(datasets, spec.loader)()
        x = bunch.data.astype(np.float32)
        y = bunch.target
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
        if model is None:
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
                refresh_interval_days=90 if spec.risk_tier in ("high", "critical") else 180,
                metric_floors={"r2": 0.25} if spec.task_type == "regression" else {"accuracy": 0.9},
                slo_p99_latency_ms=5.0,
                slo_min_throughput=5000.0,
                **card,
            )
            created["models"] += 1
        if not has_dataset:
            names = getattr(bunch, "feature_names", None)
            names = list(names) if names is not None else [f"f{i}" for i in range(x.shape[1])]
            columns = [str(n).replace(" ", "_").replace("(", "").replace(")", "") for n in names]
            frame = pd.DataFrame(x_test, columns=columns)
            frame["target"] = y_test
            services.dataset_create(
                actor=owner,
                model=model,
                name="holdout",
                label_column="target",
                description=f"25% hold-out of scikit-learn's {spec.loader[5:]} data set (seed 0).",
                file=ContentFile(_dataset_bytes(frame, spec.dataset_format), name=f"holdout.{spec.dataset_format}"),
            )
            created["datasets"] += 1
        for index, make in enumerate(spec.estimators):
            if index < done_versions:
                continue
            estimator = make().fit(x_train, y_train)
            age_days = 40 * (len(spec.estimators) - index)
            services.model_version_create(
                actor=owner,
                model=model,
                artifact=ContentFile(_to_onnx(estimator, x.shape[1]), name=f"{spec.name}.onnx"),
                source_code_url=f"https://git.example.com/{spec.team}/{spec.name}",
                source_commit=hashlib.sha1(f"{spec.name}-{index}".encode()).hexdigest(),  # noqa: S324 - a demo id
                training_data_ref=f"sklearn.datasets.{spec.loader} (75% split, seed 0)",
                trained_at=now - dt.timedelta(days=age_days),
                parent_number=index or None,
                metrics=_metrics(spec.task_type, estimator, x_test, y_test),
                notes=f"{type(estimator).__name__} trained by the demo command.",
            )
            created["versions"] += 1
        if stdout:
            stdout.write(f"  {spec.name}: {len(spec.estimators)} version(s)\n")
    return created
