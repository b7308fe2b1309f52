"""Reference histograms and the Population Stability Index (PSI) of production data against them. Imports
nothing from Django.

Validation takes a reference histogram of every numeric input feature: ten bins cut at the deciles of the
first batch of the dataset, with open ends, counted over the whole dataset. Serving systems then report
counts on the same edges, and PSI compares the two:

    PSI = Σ (pᵢ − qᵢ) · ln(pᵢ / qᵢ)     (p: observed shares, q: reference shares)

with a share of zero replaced by ``EPSILON`` so an empty bin does not make the index infinite. Bands:
below 0.1 stable, from 0.1 amber (moderate shift), from 0.25 red (significant shift).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

BINS = 10
EPSILON = 1e-4
PSI_AMBER = 0.1
PSI_RED = 0.25


def bin_edges(values: np.ndarray, bins: int = BINS) -> list[float] | None:
    """Inner cut points at the quantiles of ``values`` (duplicates dropped); the outer bins are open.
    None when the column has no finite value."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    distinct = np.unique(finite)
    cuts = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    # A cut on a data value would make the binning depend on the last bit of that value (0.3 read as float32
    # is 0.30000001): move it half-way to the value below, so each distinct value sits inside a bin.
    index = np.searchsorted(distinct, cuts)
    on_value = (index < distinct.size) & (distinct[np.minimum(index, distinct.size - 1)] == cuts) & (index > 0)
    cuts = np.where(on_value, (distinct[np.maximum(index - 1, 0)] + cuts) / 2, cuts)
    cuts = np.unique(cuts[cuts > distinct[0]])  # a cut at the minimum would leave the first bin empty
    return [float(c) for c in cuts]


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts of finite values in the len(edges)+1 bins (-inf, e₀), [e₀, e₁), …, [eₙ, +inf)."""
    finite = values[np.isfinite(values)]
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), finite, side="right")
    return np.bincount(index, minlength=len(edges) + 1)


class ReferenceBuilder:
    """Accumulates per-feature counts batch by batch; the edges come from the first batch."""

    def __init__(self) -> None:
        self.edges: dict[str, list[float]] = {}
        self.counts: dict[str, np.ndarray] = {}

    def add(self, columns: dict[str, np.ndarray]) -> None:
        for name, raw in columns.items():
            values = np.asarray(raw)
            if values.dtype.kind not in "iuf":
                continue  # text and categorical features are not binned
            values = values.astype(np.float64, copy=False)
            if name not in self.edges:
                edges = bin_edges(values)
                if edges is None:
                    continue
                self.edges[name] = edges
                self.counts[name] = np.zeros(len(edges) + 1, dtype=np.int64)
            self.counts[name] += bin_counts(values, self.edges[name])

    def result(self) -> dict[str, dict[str, list]]:
        return {name: {"edges": self.edges[name], "counts": [int(c) for c in self.counts[name]]} for name in self.edges}


def psi(reference_counts: list[int] | np.ndarray, observed_counts: list[int] | np.ndarray) -> float:
    expected = np.asarray(reference_counts, dtype=np.float64)
    actual = np.asarray(observed_counts, dtype=np.float64)
    if expected.shape != actual.shape:
        raise ValueError(f"{actual.size} counts given, the reference has {expected.size} bins")
    if expected.sum() <= 0 or actual.sum() <= 0:
        raise ValueError("a histogram with no observations")
    q = np.maximum(expected / expected.sum(), EPSILON)
    p = np.maximum(actual / actual.sum(), EPSILON)
    value = float(np.sum((p - q) * np.log(p / q)))
    return 0.0 if math.isclose(value, 0.0, abs_tol=1e-12) else value


def psi_band(value: float | None) -> str:
    if value is None:
        return "none"
    if value >= PSI_RED:
        return "red"
    if value >= PSI_AMBER:
        return "amber"
    return "green"


def histogram_of(values: Any, edges: list[float]) -> list[int]:
    """Counts of raw values on a reference's edges (for clients that send values, and for the demo)."""
    return [int(c) for c in bin_counts(np.asarray(values, dtype=np.float64), edges)]
