"""Logs and registers models with the real MLflow client: run by var/mlflow-venv/bin/python (tests/imports).

    mlflow_log.py TRACKING_URI initial      # iris (skl2onnx) v1 and v2 (alias, stage), the torch transformer,
                                            # and a scikit-learn pickle
    mlflow_log.py TRACKING_URI new-version  # one more iris version
    mlflow_log.py TRACKING_URI bench N V    # N models of V versions each (bench/import_mlflow.py)

Prints one JSON line: what was logged.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import mlflow
import numpy as np
import onnx
from mlflow import MlflowClient
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def iris(c: float):
    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    clf = LogisticRegression(C=c, max_iter=500).fit(x, y)
    return clf, x, y


def log_iris(c: float, name: str = "Iris Classifier") -> dict:
    clf, x, y = iris(c)
    graph = to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}, target_opset=17)
    with mlflow.start_run() as run:
        mlflow.log_param("C", c)
        mlflow.log_param("max_iter", 500)
        mlflow.log_metric("accuracy", float(clf.score(x, y)))
        mlflow.log_metric("train_rows", float(len(y)))
        info = mlflow.onnx.log_model(graph, name="model", registered_model_name=name)
    return {"run_id": run.info.run_id, "version": info.registered_model_version}


def initial() -> dict:
    client = MlflowClient()
    out = {"iris": [log_iris(1.0), log_iris(0.5)]}
    client.update_registered_model("Iris Classifier", description="Iris species from petal and sepal sizes.")
    client.set_registered_model_tag("Iris Classifier", "task_type", "multiclass")
    client.set_registered_model_tag("Iris Classifier", "domain", "botany")
    client.set_registered_model_alias("Iris Classifier", "champion", "2")
    client.transition_model_version_stage("Iris Classifier", "2", "Staging")
    # A model PyTorch exported, its weights in an external data file (tests/fixtures/make_transformer.py).
    transformer = onnx.load(str(FIXTURES / "tiny-transformer" / "model.onnx"))
    with mlflow.start_run() as run:
        mlflow.log_metric("val_loss", 0.42)
        info = mlflow.onnx.log_model(
            transformer, name="model", registered_model_name="tiny-transformer", save_as_external_data=True
        )
    out["transformer"] = {"run_id": run.info.run_id, "version": info.registered_model_version}
    clf, _, _ = iris(1.0)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(clf, name="model", registered_model_name="sk-pickle")
    out["pickle"] = {"run_id": run.info.run_id, "version": info.registered_model_version}
    return out


def bench(models: int, versions: int) -> dict:
    """Many small ONNX versions, each distinct (Gatehouse refuses a file identical to an earlier version)."""
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    count = 0
    for m in range(models):
        for v in range(versions):
            c = np.array([m * 1000 + v + 0.5], dtype=np.float32)
            graph = helper.make_graph(
                [helper.make_node("Add", ["x", "c"], ["y"])],
                "bench",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
                initializer=[numpy_helper.from_array(c, "c")],
            )
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
            model.ir_version = 8
            with mlflow.start_run():
                mlflow.log_metric("score", float(v))
                mlflow.onnx.log_model(model, name="model", registered_model_name=f"bench-{m:04d}")
            count += 1
    return {"versions": count}


def main() -> None:
    mlflow.set_tracking_uri(sys.argv[1])
    what = sys.argv[2]
    if what == "initial":
        out = initial()
    elif what == "new-version":
        out = log_iris(0.25)
    else:
        out = bench(int(sys.argv[3]), int(sys.argv[4]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
