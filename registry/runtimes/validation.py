"""Validation of a model version on a dataset (DESIGN §6). Imports nothing from Django.

Each check records a verdict (pass, fail, warn, skip) and a message a person can act on. A check that makes
the rest meaningless (a missing column, inference that raises, labels the model never saw) stops the run
with ``ValidationStopped``; the checks done so far travel with it.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from registry.runtimes.drift import ReferenceBuilder

# Metrics where lower is better: a floor on them is a ceiling, and non-inferiority allows + margin.
LOWER_IS_BETTER = {"rmse", "mae", "log_loss", "mse"}
METRICS = {
    "binary-classification": ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
    "multiclass": ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc_ovr", "log_loss"),
}
REGRESSION_METRICS = ("rmse", "mae", "r2")


def metric_names(task_type: str) -> tuple[str, ...]:
    """The metrics a validation computes for a task type (other task types are scored as regressions)."""
    return METRICS.get(task_type, REGRESSION_METRICS)
EPSILON = 1e-9


@dataclass
class Check:
    name: str
    verdict: str  # pass | fail | warn | skip
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class ValidationStopped(Exception):
    def __init__(self, message: str, checks: list[Check]):
        super().__init__(message)
        self.message = message
        self.checks = checks


@dataclass
class ValidationInput:
    artifact_path: str
    expected_sha256: str
    dataset_path: str
    dataset_format: str  # csv | parquet
    dataset_rows: int
    label_column: str
    task_type: str  # binary-classification | multiclass | regression | ...
    floors: dict[str, float] = field(default_factory=dict)
    champion: dict[str, Any] | None = None  # {"version": n, "metrics": {...}, "signature": {...}}
    production_signature: dict[str, Any] | None = None
    margin: float = 0.01
    batch_rows: int = 50_000


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(spec: ValidationInput) -> Iterator[Any]:
    """The dataset in pandas frames of at most ``batch_rows`` rows, never the whole file at once."""
    import pandas as pd

    if spec.dataset_format == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(spec.dataset_path).iter_batches(batch_size=spec.batch_rows):
            yield batch.to_pandas()
    else:
        yield from pd.read_csv(spec.dataset_path, chunksize=spec.batch_rows, low_memory=False)


def _class_labels(model_proto) -> list | None:
    """Class labels stored in the graph (skl2onnx classifiers keep them as node attributes)."""
    for node in model_proto.graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_int64s" and attr.ints:
                return list(attr.ints)
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
    return None


def _signature_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = []
    for side in ("inputs", "outputs"):
        before = {io["name"]: io for io in old.get(side, [])}
        after = {io["name"]: io for io in new.get(side, [])}
        for name in before.keys() - after.keys():
            changes.append(f"{side[:-1]} '{name}' was removed")
        for name in after.keys() - before.keys():
            if side == "inputs":
                changes.append(f"input '{name}' is new, so callers must send it")
        for name in before.keys() & after.keys():
            a, b = before[name], after[name]
            if a["dtype"] != b["dtype"]:
                changes.append(f"{side[:-1]} '{name}' changed type from {a['dtype']} to {b['dtype']}")
            sa, sb = a.get("shape") or [], b.get("shape") or []
            fixed = [(x, y) for x, y in zip(sa, sb, strict=False) if isinstance(x, int) and isinstance(y, int)]
            if len(sa) != len(sb) or any(x != y for x, y in fixed):
                changes.append(f"{side[:-1]} '{name}' changed shape from {sa} to {sb}")
    return changes


class _Feeder:
    """Turns a frame of rows into the model's input feeds, checked once against the first frame."""

    def __init__(self, inputs, frame, label_column: str):
        self.inputs = inputs
        self.label = label_column
        features = [c for c in frame.columns if c != label_column]
        if len(inputs) == 1:
            spec = inputs[0]
            self.mode = "tensor"
            width = spec.shape[-1] if spec.shape and isinstance(spec.shape[-1], int) else None
            if width is not None and width != len(features):
                raise ValueError(
                    f"The model's input '{spec.name}' takes {width} features but the dataset has {len(features)} "
                    f"columns besides the label: {', '.join(map(str, features[:12]))}"
                    f"{' …' if len(features) > 12 else ''}."
                )
            text = [c for c in features if frame[c].dtype == object]
            if text and spec.dtype != "str":
                raise ValueError(
                    f"Columns {', '.join(map(str, text))} hold text, but the input '{spec.name}' takes {spec.dtype}."
                )
            self.columns = features
        else:
            self.mode = "named"
            missing = [spec.name for spec in inputs if spec.name not in frame.columns]
            if missing:
                raise ValueError(
                    f"The model's inputs {', '.join(missing)} have no column of that name in the dataset "
                    f"(its columns: {', '.join(map(str, features[:20]))})."
                )

    def feeds(self, frame) -> dict[str, np.ndarray]:
        if self.mode == "tensor":
            spec = self.inputs[0]
            missing = [c for c in self.columns if c not in frame.columns]
            if missing:
                raise ValueError(f"Columns {', '.join(missing)} are missing from part of the dataset.")
            return {spec.name: frame[self.columns].to_numpy(dtype=spec.dtype)}
        feeds = {}
        for spec in self.inputs:
            values = frame[spec.name].to_numpy(dtype=spec.dtype if spec.dtype != "str" else object)
            feeds[spec.name] = values.reshape(-1, 1) if len(spec.shape) != 1 else values
        return feeds


def _split_outputs(outputs: list) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(labels, scores) from a classifier's outputs: a label tensor and/or a score matrix."""
    labels = scores = None
    for value in outputs:
        if isinstance(value, list) and value and isinstance(value[0], dict):  # ZipMap: one dict per row
            keys = sorted(value[0])
            value = np.array([[row[k] for k in keys] for row in value], dtype=np.float64)
        array = np.asarray(value)
        if labels is None and (array.dtype.kind in "iuUSO") and array.ndim <= 2:
            labels = array.reshape(-1)
        elif scores is None and array.dtype.kind == "f":
            scores = array.reshape(array.shape[0], -1)
    return labels, scores


def validate(
    spec: ValidationInput,
    runtime_factory: Callable[[str], Any],
    *,
    progress: Callable[[float, str], None] = lambda fraction, message: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    import onnx

    checks: list[Check] = []

    def stop(name: str, message: str, **details) -> None:
        checks.append(Check(name, "fail", message, details))
        raise ValidationStopped(message, checks)

    progress(0.01, "checking the artifact digest")
    actual = _sha256(spec.artifact_path)
    if actual != spec.expected_sha256:
        stop("digest", f"The stored artifact's SHA-256 is {actual}, not the registered {spec.expected_sha256}: "
                       "the file in storage was changed or corrupted. Upload the model again.")
    checks.append(Check("digest", "pass", f"The stored artifact matches the registered SHA-256 {actual[:12]}…"))

    progress(0.02, "checking the graph")
    model_proto = onnx.load(spec.artifact_path, load_external_data=False)
    try:
        onnx.checker.check_model(model_proto)
    except onnx.checker.ValidationError as exc:
        stop("graph", f"onnx.checker refused the graph: {str(exc).splitlines()[0][:300]}")
    checks.append(Check("graph", "pass", "The graph passes onnx.checker."))
    class_labels = _class_labels(model_proto)
    del model_proto

    runtime = runtime_factory(spec.artifact_path)
    signature = {"inputs": [{"name": i.name, "dtype": i.dtype, "shape": i.shape} for i in runtime.info.inputs],
                 "outputs": [{"name": o.name, "dtype": o.dtype, "shape": o.shape} for o in runtime.info.outputs]}
    if spec.production_signature is None:
        checks.append(Check("signature compatibility", "skip", "No version is in production to compare with."))
    else:
        changes = _signature_changes(spec.production_signature, _normalise(spec.production_signature, signature))
        if changes:
            checks.append(Check("signature compatibility", "warn",
                                "Breaking change against the production version: " + "; ".join(changes)
                                + ". Callers of the production model must change with it.", {"changes": changes}))
        else:
            checks.append(Check("signature compatibility", "pass", "Inputs and outputs match the production version."))

    # Inference over the whole dataset, batch by batch.
    classification = spec.task_type in ("binary-classification", "multiclass")
    y_true_parts, label_parts, score_parts = [], [], []
    feeder = None
    rows = 0
    non_finite = 0
    first_bad_row = None
    reference = ReferenceBuilder()  # the feature histograms production drift is measured against
    for frame in _chunks(spec):
        if should_stop():
            raise InterruptedError("cancelled")
        if spec.label_column not in frame.columns:
            stop("inputs", f"The label column '{spec.label_column}' is missing from the dataset.")
        if feeder is None:
            try:
                feeder = _Feeder(runtime.info.inputs, frame, spec.label_column)
            except ValueError as exc:
                stop("inputs", str(exc))
            checks.append(Check("inputs", "pass", "The dataset's columns and types fit the model's inputs."))
        try:
            feeds = feeder.feeds(frame)
        except (ValueError, TypeError) as exc:
            stop("inputs", f"Rows {rows + 1}–{rows + len(frame)} could not be converted for the model: {exc}")
        try:
            outputs = runtime.run(feeds)
        except Exception as exc:  # the runtime's own error types
            stop("inference", f"Inference failed on rows {rows + 1}–{rows + len(frame)}: "
                              f"{str(exc).strip().splitlines()[0][:400]}")
        for value in outputs:
            array = np.asarray(value) if not (isinstance(value, list) and value and isinstance(value[0], dict)) \
                else np.array([list(row.values()) for row in value])
            if array.dtype.kind == "f":
                bad = ~np.isfinite(array.reshape(len(frame), -1)).all(axis=1)
                if bad.any():
                    non_finite += int(bad.sum())
                    first_bad_row = first_bad_row or rows + int(np.argmax(bad)) + 1
        y_true_parts.append(frame[spec.label_column].to_numpy())
        reference.add({str(c): frame[c].to_numpy() for c in frame.columns if c != spec.label_column})
        if classification:
            labels, scores = _split_outputs(outputs)
            label_parts.append(labels)
            score_parts.append(scores)
        else:
            score_parts.append(np.asarray(outputs[0], dtype=np.float64).reshape(len(frame), -1)[:, 0])
        rows += len(frame)
        progress(0.05 + 0.85 * min(1.0, rows / max(spec.dataset_rows, 1)), f"{rows:,} of {spec.dataset_rows:,} rows")

    if rows == 0:
        stop("inference", "The dataset has no rows.")
    if non_finite:
        stop("numerics", f"{non_finite:,} row(s) produced NaN or Inf, the first at row {first_bad_row}.")
    checks.append(Check("inference", "pass", f"Ran over all {rows:,} rows."))
    checks.append(Check("numerics", "pass", "No output is NaN or infinite."))

    progress(0.92, "computing metrics")
    y_true = np.concatenate(y_true_parts)
    if classification:
        metrics, notes = _classification_metrics(spec, y_true, label_parts, score_parts, class_labels, checks, stop)
    else:
        metrics, notes = _regression_metrics(y_true, np.concatenate(score_parts)), []
    checks.append(Check("metrics", "pass", "Computed with scikit-learn: " + ", ".join(
        f"{k} {v:.4f}" for k, v in metrics.items()) + (". " + " ".join(notes) if notes else ".")))

    checks.extend(_threshold_checks(spec, metrics))
    verdict = "failed" if any(c.verdict == "fail" for c in checks) else "passed"
    progress(1.0, f"validation {verdict}")
    return {
        "verdict": verdict,
        "rows": rows,
        "metrics": metrics,
        "checks": [c.__dict__ for c in checks],
        "classes": [str(c) for c in class_labels] if class_labels is not None else None,
        "signature": signature,
        "reference_histograms": reference.result(),
    }


def _normalise(reference: dict[str, Any], signature: dict[str, Any]) -> dict[str, Any]:
    """The runtime names numpy dtypes (float32); the registry stores ONNX names (float): compare like with like."""
    names = {"float32": "float", "float64": "double", "str": "string"}
    return {side: [{**io, "dtype": names.get(io["dtype"], io["dtype"])} for io in signature[side]]
            for side in ("inputs", "outputs")}


def _classification_metrics(spec, y_true, label_parts, score_parts, class_labels, checks, stop):
    from scipy.special import softmax
    from sklearn import metrics as m

    notes = []
    scores = np.concatenate(score_parts) if all(s is not None for s in score_parts) else None
    labels = np.concatenate(label_parts) if all(lbl is not None for lbl in label_parts) else None
    if scores is not None and scores.shape[1] == 1:  # a single logit or probability of the positive class
        scores = np.hstack([1 - scores, scores]) if ((scores >= 0) & (scores <= 1)).all() else \
            np.hstack([-scores, scores])
    is_probability = scores is not None and ((scores >= 0) & (scores <= 1)).all() \
        and np.allclose(scores.sum(axis=1), 1, atol=1e-3)
    if scores is not None and not is_probability:
        scores = softmax(scores, axis=1)
        notes.append("The model outputs scores, not probabilities; softmax was applied.")
    classes = list(class_labels) if class_labels is not None else (
        list(range(scores.shape[1])) if scores is not None else sorted(set(labels.tolist())))
    if labels is None:
        labels = np.asarray(classes, dtype=object)[scores.argmax(axis=1)]
        notes.append("Labels are the classes with the highest score.")
    if y_true.dtype.kind in "iu" or all(isinstance(c, int) for c in classes):
        try:
            y_true = y_true.astype(np.int64)
            labels = labels.astype(np.int64)
            classes = [int(c) for c in classes]
        except (TypeError, ValueError):
            pass
    else:
        y_true = y_true.astype(str)
        labels = labels.astype(str)
        classes = [str(c) for c in classes]
    unseen = sorted(set(np.unique(y_true).tolist()) - set(classes), key=str)
    if unseen:
        stop("labels", f"The dataset's label column holds classes the model never saw: "
                       f"{', '.join(map(str, unseen[:10]))}. The model knows {', '.join(map(str, classes[:20]))}.")
    checks.append(Check("labels", "pass", f"Every label is one of the model's {len(classes)} classes."))

    out = {"accuracy": float(m.accuracy_score(y_true, labels))}
    if spec.task_type == "binary-classification" and len(classes) == 2:
        positive = classes[1]
        out.update(
            precision=float(m.precision_score(y_true, labels, pos_label=positive, zero_division=0)),
            recall=float(m.recall_score(y_true, labels, pos_label=positive, zero_division=0)),
            f1=float(m.f1_score(y_true, labels, pos_label=positive, zero_division=0)),
        )
        if scores is not None and len(np.unique(y_true)) == 2:
            out["roc_auc"] = float(m.roc_auc_score(y_true == positive, scores[:, 1]))
    else:
        out.update(
            precision_macro=float(m.precision_score(y_true, labels, average="macro", labels=classes, zero_division=0)),
            recall_macro=float(m.recall_score(y_true, labels, average="macro", labels=classes, zero_division=0)),
            f1_macro=float(m.f1_score(y_true, labels, average="macro", labels=classes, zero_division=0)),
        )
        if scores is not None and len(np.unique(y_true)) == len(classes):
            out["roc_auc_ovr"] = float(m.roc_auc_score(y_true, scores, multi_class="ovr", labels=classes))
        elif scores is not None:
            notes.append("ROC AUC needs every class in the dataset; some are absent, so it was not computed.")
    if scores is not None:
        with warnings.catch_warnings():  # float32 probabilities sum to 1 only within rounding
            warnings.simplefilter("ignore", UserWarning)
            out["log_loss"] = float(m.log_loss(y_true, np.clip(scores, 1e-15, 1), labels=classes))
    return out, notes


def _regression_metrics(y_true, predictions) -> dict[str, float]:
    from sklearn import metrics as m

    y_true = y_true.astype(np.float64)
    return {
        "rmse": float(math.sqrt(m.mean_squared_error(y_true, predictions))),
        "mae": float(m.mean_absolute_error(y_true, predictions)),
        "r2": float(m.r2_score(y_true, predictions)),
    }


def _threshold_checks(spec: ValidationInput, metrics: dict[str, float]) -> list[Check]:
    checks = []
    for name, floor in sorted(spec.floors.items()):
        if name not in metrics:
            checks.append(Check(f"floor {name}", "fail",
                                f"A floor is set on '{name}', which this task does not compute "
                                f"(computed: {', '.join(metrics)}). Fix the model's floors."))
            continue
        value = metrics[name]
        lower = name in LOWER_IS_BETTER
        ok = value <= floor if lower else value >= floor
        relation = "≤" if lower else "≥"
        checks.append(Check(f"floor {name}", "pass" if ok else "fail",
                            f"{name} {value:.4f} {'meets' if ok else 'misses'} the required {relation} {floor}.",
                            {"value": value, "threshold": floor}))
    if spec.champion is None:
        checks.append(Check("non-inferiority", "skip",
                            "No validated production version on this dataset to compare with."))
        return checks
    champion = spec.champion["metrics"]
    worse = []
    for name, value in metrics.items():
        if name not in champion:
            continue
        lower = name in LOWER_IS_BETTER
        # EPSILON: the same predictions computed twice may differ in the last bits of a float.
        limit = champion[name] + spec.margin + EPSILON if lower else champion[name] - spec.margin - EPSILON
        if (value > limit) if lower else (value < limit):
            worse.append(f"{name} {value:.4f} vs {champion[name]:.4f}")
    version = spec.champion.get("version")
    if worse:
        checks.append(Check("non-inferiority", "fail",
                            f"Worse than production v{version} by more than the margin {spec.margin}: "
                            + "; ".join(worse) + ".", {"champion": champion, "version": version}))
    else:
        checks.append(Check("non-inferiority", "pass",
                            f"No metric is worse than production v{version} by more than {spec.margin}.",
                            {"champion": champion, "version": version}))
    return checks
