"""The demo's models: scikit-learn estimators trained on data sets bundled with scikit-learn (no download),
converted to ONNX with skl2onnx. Heavy imports live here, loaded only by the demo command."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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


def demo_models() -> list[DemoModel]:
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


def to_onnx(estimator, n_features: int) -> bytes:
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    onx = convert_sklearn(
        estimator,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        options=options,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onx.SerializeToString()


def offline_metrics(task_type: str, estimator, x, y) -> dict[str, float]:
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


def dataset_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        frame.to_csv(buffer, index=False)
    return buffer.getvalue()
