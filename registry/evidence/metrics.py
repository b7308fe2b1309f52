"""Metrics by task type, computed with scikit-learn, and the checks against floors and the champion."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.special import softmax
from sklearn import metrics as m

from registry.evidence.checks import Check


def _probabilities(score_parts, notes: list[str]) -> np.ndarray | None:
    """The classifier's scores as class probabilities (softmax when they are not), or None without scores."""
    scores = np.concatenate(score_parts) if all(s is not None for s in score_parts) else None
    if scores is None:
        return None
    if scores.shape[1] == 1:  # a single logit or probability of the positive class
        in_unit = ((scores >= 0) & (scores <= 1)).all()
        scores = np.hstack([1 - scores, scores]) if in_unit else np.hstack([-scores, scores])
    is_probability = ((scores >= 0) & (scores <= 1)).all() and np.allclose(scores.sum(axis=1), 1, atol=1e-3)
    if not is_probability:
        notes.append("The model outputs scores, not probabilities; softmax was applied.")
        return softmax(scores, axis=1)
    return scores


def _aligned(y_true, labels, classes):
    """True and predicted labels and the classes, all of one type (integers when they can be, else text)."""
    if y_true.dtype.kind in "iu" or all(isinstance(c, int) for c in classes):
        try:
            return y_true.astype(np.int64), labels.astype(np.int64), [int(c) for c in classes]
        except (TypeError, ValueError):
            return y_true, labels, classes
    return y_true.astype(str), labels.astype(str), [str(c) for c in classes]


def _binary(y_true, labels, scores, classes) -> dict[str, float]:
    positive = classes[1]
    out = {
        "precision": float(m.precision_score(y_true, labels, pos_label=positive, zero_division=0)),
        "recall": float(m.recall_score(y_true, labels, pos_label=positive, zero_division=0)),
        "f1": float(m.f1_score(y_true, labels, pos_label=positive, zero_division=0)),
    }
    if scores is not None and len(np.unique(y_true)) == 2:
        out["roc_auc"] = float(m.roc_auc_score(y_true == positive, scores[:, 1]))
    return out


def _multiclass(y_true, labels, scores, classes, notes: list[str]) -> dict[str, float]:
    macro = {"average": "macro", "labels": classes, "zero_division": 0}
    out = {
        "precision_macro": float(m.precision_score(y_true, labels, **macro)),
        "recall_macro": float(m.recall_score(y_true, labels, **macro)),
        "f1_macro": float(m.f1_score(y_true, labels, **macro)),
    }
    if scores is not None and len(np.unique(y_true)) == len(classes):
        out["roc_auc_ovr"] = float(m.roc_auc_score(y_true, scores, multi_class="ovr", labels=classes))
    elif scores is not None:
        notes.append("ROC AUC needs every class in the dataset; some are absent, so it was not computed.")
    return out


def classification_metrics(spec, y_true, label_parts, score_parts, class_labels, checks, stop):
    notes: list[str] = []
    scores = _probabilities(score_parts, notes)
    labels = np.concatenate(label_parts) if all(lbl is not None for lbl in label_parts) else None
    classes = (
        list(class_labels)
        if class_labels is not None
        else (list(range(scores.shape[1])) if scores is not None else sorted(set(labels.tolist())))
    )
    if labels is None:
        labels = np.asarray(classes, dtype=object)[scores.argmax(axis=1)]
        notes.append("Labels are the classes with the highest score.")
    y_true, labels, classes = _aligned(y_true, labels, classes)
    unseen = sorted(set(np.unique(y_true).tolist()) - set(classes), key=str)
    if unseen:
        stop(
            "labels",
            f"The dataset's label column holds classes the model never saw: "
            f"{', '.join(map(str, unseen[:10]))}. The model knows {', '.join(map(str, classes[:20]))}.",
        )
    checks.append(Check("labels", "pass", f"Every label is one of the model's {len(classes)} classes."))
    out = {"accuracy": float(m.accuracy_score(y_true, labels))}
    if spec.task_type == "binary-classification" and len(classes) == 2:
        out.update(_binary(y_true, labels, scores, classes))
    else:
        out.update(_multiclass(y_true, labels, scores, classes, notes))
    if scores is not None:
        with warnings.catch_warnings():  # float32 probabilities sum to 1 only within rounding
            warnings.simplefilter("ignore", UserWarning)
            out["log_loss"] = float(m.log_loss(y_true, np.clip(scores, 1e-15, 1), labels=classes))
    return out, notes


def regression_metrics(y_true, predictions) -> dict[str, float]:
    y_true = y_true.astype(np.float64)
    return {
        "rmse": float(math.sqrt(m.mean_squared_error(y_true, predictions))),
        "mae": float(m.mean_absolute_error(y_true, predictions)),
        "r2": float(m.r2_score(y_true, predictions)),
    }
