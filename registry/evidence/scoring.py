"""What a validation measures: the metrics per task type, which way each is better, and the checks of a
run's metrics against the model's floors and the production version's (non-inferiority). Light: the pages
and the services read it; the computation itself (scikit-learn) is in registry.evidence.metrics."""

from __future__ import annotations

from registry.evidence.checks import Check

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


def threshold_checks(spec, metrics: dict[str, float]) -> list[Check]:
    checks = []
    for name, floor in sorted(spec.floors.items()):
        if name not in metrics:
            checks.append(
                Check(
                    f"floor {name}",
                    "fail",
                    f"A floor is set on '{name}', which this task does not compute "
                    f"(computed: {', '.join(metrics)}). Fix the model's floors.",
                )
            )
            continue
        value = metrics[name]
        lower = name in LOWER_IS_BETTER
        ok = value <= floor if lower else value >= floor
        relation = "≤" if lower else "≥"
        checks.append(
            Check(
                f"floor {name}",
                "pass" if ok else "fail",
                f"{name} {value:.4f} {'meets' if ok else 'misses'} the required {relation} {floor}.",
                {"value": value, "threshold": floor},
            )
        )
    if spec.champion is None:
        checks.append(
            Check("non-inferiority", "skip", "No validated production version on this dataset to compare with.")
        )
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
        checks.append(
            Check(
                "non-inferiority",
                "fail",
                f"Worse than production v{version} by more than the margin {spec.margin}: " + "; ".join(worse) + ".",
                {"champion": champion, "version": version},
            )
        )
    else:
        checks.append(
            Check(
                "non-inferiority",
                "pass",
                f"No metric is worse than production v{version} by more than {spec.margin}.",
                {"champion": champion, "version": version},
            )
        )
    return checks
