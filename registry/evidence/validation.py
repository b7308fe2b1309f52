"""Validation of a model version on a dataset (docs/architecture.md, "Evidence"). Imports nothing from Django.

Each check records a verdict (pass, fail, warn, skip) and a message a person can act on. A check that makes
the rest meaningless (a missing column, inference that raises, labels the model never saw) stops the run
with ``ValidationStopped``; the checks done so far travel with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pyarrow.parquet as pq

from registry.evidence.checks import Check, ValidationStopped
from registry.evidence.drift import ReferenceBuilder
from registry.evidence.metrics import classification_metrics, regression_metrics
from registry.evidence.scoring import threshold_checks
from registry.evidence.signatures import normalise, signature_changes
from registry.manifests import version_digest

__all__ = ["Check", "ValidationInput", "ValidationStopped", "validate"]
CLASSIFICATION = ("binary-classification", "multiclass")


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
    # The version's manifest ({path, size, sha256}): a set's files lie beside the ONNX file at their paths.
    files: list[dict] = field(default_factory=list)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(spec: ValidationInput) -> Iterator[Any]:
    """The dataset in pandas frames of at most ``batch_rows`` rows, never the whole file at once."""
    if spec.dataset_format == "parquet":
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


class _Run:
    """One validation: the checks so far, and a stop that records the failing one and ends the run."""

    def __init__(self, spec: ValidationInput, progress, should_stop):
        self.spec, self.progress, self.should_stop = spec, progress, should_stop
        self.checks: list[Check] = []

    def check(self, name: str, verdict: str, message: str, details: dict | None = None) -> None:
        self.checks.append(Check(name, verdict, message, details or {}))

    def stop(self, name: str, message: str, **details) -> None:
        self.checks.append(Check(name, "fail", message, details))
        raise ValidationStopped(message, self.checks)

    def artifact(self) -> list | None:
        """The stored bytes are the registered ones and the graph passes the checker; returns its class labels."""
        spec = self.spec
        self.progress(0.01, "checking the artifact digest")
        if len(spec.files) > 1:  # a set: every file hashed, and the root digest over them (registry.manifests)
            folder = Path(spec.artifact_path).parent
            actual = version_digest([{**f, "sha256": _sha256(str(folder / f["path"]))} for f in spec.files])
        else:
            actual = _sha256(spec.artifact_path)
        if actual != spec.expected_sha256:
            self.stop(
                "digest",
                f"The stored artifact's digest is {actual}, not the registered "
                f"{spec.expected_sha256}: the files in storage were changed or corrupted. Upload the "
                "model again.",
            )
        files = f" over its {len(spec.files)} files" if len(spec.files) > 1 else ""
        self.check("digest", "pass", f"The stored artifact matches the registered digest {actual[:12]}…{files}")
        self.progress(0.02, "checking the graph")
        model_proto = onnx.load(spec.artifact_path, load_external_data=False)
        try:
            # By path for a set: the checker then reads the external tensors where they lie.
            onnx.checker.check_model(spec.artifact_path if len(spec.files) > 1 else model_proto)
        except (onnx.checker.ValidationError, ValueError) as exc:
            self.stop("graph", f"onnx.checker refused the graph: {str(exc).splitlines()[0][:300]}")
        self.check("graph", "pass", "The graph passes onnx.checker.")
        return _class_labels(model_proto)

    def signature(self, runtime) -> dict:
        signature = {
            side: [{"name": t.name, "dtype": t.dtype, "shape": t.shape} for t in tensors]
            for side, tensors in (("inputs", runtime.info.inputs), ("outputs", runtime.info.outputs))
        }
        production = self.spec.production_signature
        if production is None:
            self.check("signature compatibility", "skip", "No version is in production to compare with.")
            return signature
        changes = signature_changes(production, normalise(production, signature))
        if changes:
            self.check(
                "signature compatibility",
                "warn",
                "Breaking change against the production version: "
                + "; ".join(changes)
                + ". Callers of the production model must change with it.",
                {"changes": changes},
            )
        else:
            self.check("signature compatibility", "pass", "Inputs and outputs match the production version.")
        return signature


class _Inference:
    """Runs the model over the dataset batch by batch, keeping what the metrics and the reference need."""

    def __init__(self, run: _Run, runtime):
        self.run, self.runtime = run, runtime
        self.classification = run.spec.task_type in CLASSIFICATION
        self.y_true, self.labels, self.scores = [], [], []
        self.rows = self.non_finite = 0
        self.first_bad_row = None
        self.feeder = None
        self.reference = ReferenceBuilder()  # the feature histograms production drift is measured against

    def batch(self, frame) -> None:
        run, spec, rows = self.run, self.run.spec, self.rows
        if spec.label_column not in frame.columns:
            run.stop("inputs", f"The label column '{spec.label_column}' is missing from the dataset.")
        if self.feeder is None:
            try:
                self.feeder = _Feeder(self.runtime.info.inputs, frame, spec.label_column)
            except ValueError as exc:
                run.stop("inputs", str(exc))
            run.check("inputs", "pass", "The dataset's columns and types fit the model's inputs.")
        try:
            feeds = self.feeder.feeds(frame)
        except (ValueError, TypeError) as exc:
            run.stop("inputs", f"Rows {rows + 1}–{rows + len(frame)} could not be converted for the model: {exc}")
        try:
            outputs = self.runtime.run(feeds)
        except Exception as exc:  # the runtime's own error types
            run.stop(
                "inference",
                f"Inference failed on rows {rows + 1}–{rows + len(frame)}: {str(exc).strip().splitlines()[0][:400]}",
            )
        self._count_non_finite(outputs, len(frame))
        self.y_true.append(frame[spec.label_column].to_numpy())
        self.reference.add({str(c): frame[c].to_numpy() for c in frame.columns if c != spec.label_column})
        if self.classification:
            labels, scores = _split_outputs(outputs)
            self.labels.append(labels)
            self.scores.append(scores)
        else:
            self.scores.append(np.asarray(outputs[0], dtype=np.float64).reshape(len(frame), -1)[:, 0])
        self.rows += len(frame)

    def _count_non_finite(self, outputs, length: int) -> None:
        for value in outputs:
            array = (
                np.asarray(value)
                if not (isinstance(value, list) and value and isinstance(value[0], dict))
                else np.array([list(row.values()) for row in value])
            )
            if array.dtype.kind == "f":
                bad = ~np.isfinite(array.reshape(length, -1)).all(axis=1)
                if bad.any():
                    self.non_finite += int(bad.sum())
                    self.first_bad_row = self.first_bad_row or self.rows + int(np.argmax(bad)) + 1

    def finish(self) -> None:
        run = self.run
        if self.rows == 0:
            run.stop("inference", "The dataset has no rows.")
        if self.non_finite:
            run.stop(
                "numerics", f"{self.non_finite:,} row(s) produced NaN or Inf, the first at row {self.first_bad_row}."
            )
        run.check("inference", "pass", f"Ran over all {self.rows:,} rows.")
        run.check("numerics", "pass", "No output is NaN or infinite.")


def validate(
    spec: ValidationInput,
    runtime_factory: Callable[[str], Any],
    *,
    progress: Callable[[float, str], None] = lambda fraction, message: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    run = _Run(spec, progress, should_stop)
    class_labels = run.artifact()
    runtime = runtime_factory(spec.artifact_path)
    signature = run.signature(runtime)
    inference = _Inference(run, runtime)
    for frame in _chunks(spec):
        if should_stop():
            raise InterruptedError("cancelled")
        inference.batch(frame)
        progress(
            0.05 + 0.85 * min(1.0, inference.rows / max(spec.dataset_rows, 1)),
            f"{inference.rows:,} of {spec.dataset_rows:,} rows",
        )
    inference.finish()

    progress(0.92, "computing metrics")
    y_true = np.concatenate(inference.y_true)
    if inference.classification:
        metrics, notes = classification_metrics(
            spec, y_true, inference.labels, inference.scores, class_labels, run.checks, run.stop
        )
    else:
        metrics, notes = regression_metrics(y_true, np.concatenate(inference.scores)), []
    run.check(
        "metrics",
        "pass",
        "Computed with scikit-learn: "
        + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        + (". " + " ".join(notes) if notes else "."),
    )
    run.checks.extend(threshold_checks(spec, metrics))
    verdict = "failed" if any(c.verdict == "fail" for c in run.checks) else "passed"
    progress(1.0, f"validation {verdict}")
    return {
        "verdict": verdict,
        "rows": inference.rows,
        "metrics": metrics,
        "checks": [c.__dict__ for c in run.checks],
        "classes": [str(c) for c in class_labels] if class_labels is not None else None,
        "signature": signature,
        "reference_histograms": inference.reference.result(),
    }
