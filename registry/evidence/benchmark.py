"""The benchmark method (MLPerf LoadGen and trtexec conventions).

For each batch size: inputs generated from the signature with a fixed seed (symbolic dimensions set to the
batch size); a warm-up of at least ``warmup_ms`` and ``warmup_iterations``; then a measured phase of at least
``min_iterations`` and ``min_seconds``, timing each inference from submission to results on the host (the
runtime synchronises the device before returning). Reports p50/p90/p95/p99/max and mean latency, throughput
in samples/s over the measured wall time, host and GPU memory, NVML utilisation, power and clocks, and
whether the last three windows agree within 10% (perf_analyzer's stability rule). Nothing is estimated.
"""

from __future__ import annotations

import itertools
import time
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from registry.evidence import Runtime, TensorSpec
from registry.evidence.environment import Sampler, rss_mib

STABILITY_BAND = 0.10
WINDOWS = 3


@dataclass
class BenchmarkParams:
    batch_sizes: list[int] = field(default_factory=lambda: [1, 8, 32])
    warmup_ms: int = 200
    warmup_iterations: int = 10
    min_iterations: int = 100
    min_seconds: float = 3.0
    # A safety stop per batch size when min_iterations takes far longer than min_seconds; the record says
    # when it was reached. None means twice the measured phase plus a minute.
    max_seconds: float | None = None
    seed: int = 0
    # Values for symbolic dimensions other than the batch, each measured: {"sequence": [128, 512]}.
    dims: dict[str, list[int]] = field(default_factory=dict)
    # Integer inputs drawn from [low, high): {"input_ids": [0, 30522]} for token ids (default [0, 10)).
    input_ranges: dict[str, list[int]] = field(default_factory=dict)
    # TensorRT provider options, on a node that has it: {"fp16": true, "engine_cache": true}.
    tensorrt: dict[str, bool] = field(default_factory=dict)

    LIMITS = {
        "batch_size": (1, 4096),
        "warmup_ms": (0, 60_000),
        "warmup_iterations": (0, 100_000),
        "min_iterations": (10, 10_000_000),
        "min_seconds": (0.1, 600.0),
        "dim": (1, 1_000_000),
    }
    MAX_CASES = 64  # batch sizes times every combination of dims
    TENSORRT_OPTIONS = ("fp16", "engine_cache")

    def cases(self) -> list[tuple[int, dict[str, int]]]:
        """(batch, dims) for every batch size and every combination of the dims' values, in that order."""
        names = sorted(self.dims)
        combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*(self.dims[n] for n in names))]
        return [(batch, combo) for batch in self.batch_sizes for combo in combos]

    def __post_init__(self) -> None:
        if self.max_seconds is None:
            self.max_seconds = self.min_seconds * 2 + 60

    def validate(self) -> None:
        def within(name: str, value) -> None:
            low, high = self.LIMITS[name]
            if not low <= value <= high:
                raise ValueError(f"{name.replace('_', ' ')} must be between {low} and {high}, not {value}.")

        if not self.batch_sizes:
            raise ValueError("Give at least one batch size.")
        for size in self.batch_sizes:
            within("batch_size", size)
        for name in ("warmup_ms", "warmup_iterations", "min_iterations", "min_seconds"):
            within(name, getattr(self, name))
        for name, values in self.dims.items():
            if not isinstance(values, list) or not values or len(values) > 16:
                raise ValueError(f"dims {name!r} takes a list of 1 to 16 sizes, e.g. [128, 512].")
            for value in values:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"dims {name!r}: {value!r} is not a whole number.")
                within("dim", value)
        if len(self.cases()) > self.MAX_CASES:
            raise ValueError(
                f"{len(self.cases())} cases (batch sizes times the dims' combinations); at most {self.MAX_CASES}."
            )
        for name, bounds in self.input_ranges.items():
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or any(isinstance(b, bool) or not isinstance(b, int) for b in bounds)
                or bounds[0] >= bounds[1]
            ):
                raise ValueError(f"input_ranges {name!r} is [low, high) in whole numbers, e.g. [0, 30522].")
        unknown = sorted(set(self.tensorrt) - set(self.TENSORRT_OPTIONS))
        if unknown or any(not isinstance(v, bool) for v in self.tensorrt.values()):
            raise ValueError(f"tensorrt takes true or false for {', '.join(self.TENSORRT_OPTIONS)}.")
        if not self.min_seconds <= self.max_seconds <= 3600:
            raise ValueError("max seconds must be at least the measured phase and at most 3600.")


def make_inputs(
    specs: list[TensorSpec],
    batch: int,
    seed: int,
    *,
    dims: dict[str, int] | None = None,
    ranges: dict[str, list[int]] | None = None,
) -> dict[str, np.ndarray]:
    """Random inputs shaped by the signature: a symbolic dimension named in ``dims`` takes its value; the first
    dimension and any other symbolic one is the batch. Integer inputs are drawn from ``ranges`` (token ids),
    [0, 10) by default."""
    rng = np.random.default_rng(seed)
    dims, ranges = dims or {}, ranges or {}
    feeds = {}
    for spec in specs:
        shape = []
        for index, dim in enumerate(spec.shape):
            fixed = isinstance(dim, int) and dim > 0
            if index == 0 and fixed and dim != batch:
                raise ValueError(
                    f"Input '{spec.name}' has a fixed batch dimension of {dim}; it cannot run at batch {batch}."
                )
            if fixed:
                shape.append(dim)
            elif isinstance(dim, str) and dim in dims:
                shape.append(dims[dim])
            elif index == 0 or isinstance(dim, str):
                shape.append(batch)  # the batch dimension, or a symbolic one
            else:
                shape.append(1)  # unknown and unnamed
        if spec.dtype.startswith("float"):
            feeds[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
        elif spec.dtype.startswith(("int", "uint")):
            low, high = ranges.get(spec.name, (0, 10))
            feeds[spec.name] = rng.integers(low, high, size=shape).astype(spec.dtype)
        elif spec.dtype == "bool":
            feeds[spec.name] = rng.integers(0, 2, size=shape).astype(bool)
        else:
            raise ValueError(f"Input '{spec.name}' has type {spec.dtype}, which the benchmark cannot generate.")
    return feeds


def _percentiles(latencies_ms: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(latencies_ms.mean()),
        "p50": float(np.percentile(latencies_ms, 50)),
        "p90": float(np.percentile(latencies_ms, 90)),
        "p95": float(np.percentile(latencies_ms, 95)),
        "p99": float(np.percentile(latencies_ms, 99)),
        "max": float(latencies_ms.max()),
        "min": float(latencies_ms.min()),
    }


def _stability(latencies_ms: np.ndarray, batch: int) -> dict[str, Any]:
    """Split the measured phase into windows; the last three must agree within 10% on throughput."""
    windows = np.array_split(latencies_ms, WINDOWS)
    throughputs = [float(len(w) * batch / (w.sum() / 1000)) for w in windows if len(w)]
    p50s = [float(np.percentile(w, 50)) for w in windows if len(w)]
    spread = (max(throughputs) - min(throughputs)) / max(throughputs) if throughputs else 1.0
    return {
        "window_throughputs": [round(t, 2) for t in throughputs],
        "window_p50_ms": [round(p, 5) for p in p50s],
        "spread": round(float(spread), 4),
        "stable": bool(spread <= STABILITY_BAND),
    }


def _warm_up(runtime: Runtime, feeds, params: BenchmarkParams, should_stop) -> dict[str, float]:
    """Run until both the warm-up iterations and the warm-up time are done."""
    start = time.perf_counter()
    iterations = 0
    while iterations < params.warmup_iterations or (time.perf_counter() - start) * 1000 < params.warmup_ms:
        runtime.run(feeds)
        iterations += 1
        if iterations % 50 == 0 and should_stop():
            raise InterruptedError("cancelled")
    runtime.synchronize()
    return {"iterations": iterations, "ms": round((time.perf_counter() - start) * 1000, 1)}


def _measure(runtime: Runtime, feeds, params: BenchmarkParams, should_stop, report) -> tuple[array, float, bool]:
    """The measured phase: at least ``min_iterations`` and ``min_seconds``, at most ``max_seconds``; each
    iteration timed on the host with the device synchronised. ``report(done, iterations)`` shows progress."""
    latencies = array("d")  # 8 bytes an iteration, however long the run
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        runtime.run(feeds)
        runtime.synchronize()
        latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        if len(latencies) >= params.min_iterations and elapsed >= params.min_seconds:
            return latencies, time.perf_counter() - start, False
        if elapsed >= params.max_seconds:
            return latencies, time.perf_counter() - start, True
        if len(latencies) % 50 == 0:
            if should_stop():
                raise InterruptedError("cancelled")
            # Both minimums must be met, so the phase is as far along as the slower of the two.
            report(min(1.0, len(latencies) / params.min_iterations, elapsed / params.min_seconds), len(latencies))


class InferenceFailed(ValueError):
    """The model could not run on its generated inputs: the job fails with the runtime's reason."""


def _batch(
    runtime: Runtime, batch: int, dims: dict[str, int], params: BenchmarkParams, *, gpu_index, should_stop, report
) -> dict:
    """Warm up, then measure one case, with the host's memory and (on a GPU) NVML sampled meanwhile."""
    feeds = make_inputs(runtime.info.inputs, batch, params.seed, dims=dims, ranges=params.input_ranges)
    report(0.0, "warm-up")
    rss_before = rss_mib()
    try:
        warmup = _warm_up(runtime, feeds, params, should_stop)
        report(0.1, "measuring")
        with Sampler(interval=0.1, gpu_index=gpu_index) as sampler:
            latencies, wall, deadline_hit = _measure(
                runtime, feeds, params, should_stop, lambda done, n: report(0.1 + 0.9 * done, f"{n} iterations")
            )
    except (InterruptedError, MemoryError):
        raise
    except Exception as exc:  # the runtime's own error types: the model failed on its inputs
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        where = f"batch {batch}" + "".join(f", {name} {value}" for name, value in dims.items())
        raise InferenceFailed(f"Inference failed at {where}: {reason}") from exc
    latencies_ms = np.frombuffer(latencies, dtype=np.float64) * 1000
    rss_after = rss_mib()
    sampled = sampler.summary()
    return {
        "batch_size": batch,
        "dims": dims,
        "input_shapes": {name: list(value.shape) for name, value in feeds.items()},
        "warmup": warmup,
        "iterations": len(latencies),
        "measured_seconds": round(wall, 4),
        "throughput_samples_s": len(latencies) * batch / wall,
        "latency_ms": _percentiles(latencies_ms),
        # A compact histogram for the charts (the raw latencies would be large).
        "latency_histogram_ms": _histogram(latencies_ms),
        "stability": _stability(latencies_ms, batch),
        "max_seconds_reached": deadline_hit,
        "host_rss_mib": {
            "before": round(rss_before, 1),
            "after": round(rss_after, 1),
            "peak": round(max(rss_after, sampled.get("host_rss_peak_mib", 0)), 1),
        },
        "sampled": sampled,
    }


def run_benchmark(
    runtime: Runtime,
    params: BenchmarkParams,
    *,
    progress: Callable[[float, str], None] = lambda fraction, message: None,
    should_stop: Callable[[], bool] = lambda: False,
    gpu_index: int | None = None,
) -> dict[str, Any]:
    params.validate()
    info = runtime.info
    cases = params.cases()
    total = len(cases)
    results = []
    for position, (batch, dims) in enumerate(cases):
        label = f"batch {batch}" + "".join(f", {name} {value}" for name, value in dims.items())

        def report(done: float, what: str, position=position, label=label) -> None:
            progress((position + done) / total, f"{label}: {what}")

        results.append(
            _batch(
                runtime,
                batch,
                dims,
                params,
                gpu_index=gpu_index if info.device == "gpu" else None,
                should_stop=should_stop,
                report=report,
            )
        )
    progress(1.0, "done")
    return {
        "method": {
            **asdict(params),
            "timing": "host wall clock per inference, results on the host",
            "stability_rule": f"last {WINDOWS} windows within {int(STABILITY_BAND * 100)}% on throughput",
        },
        "runtime": {
            "name": info.runtime,
            "version": info.runtime_version,
            "provider": info.provider,
            "device": info.device,
            "requested_device": info.requested_device,
            "fell_back_to_cpu": info.fell_back_to_cpu,
            **info.extra,
        },
        "results": results,
        "stable": all(r["stability"]["stable"] for r in results),
    }


def _histogram(latencies_ms: np.ndarray, bins: int = 40) -> dict[str, list[float]]:
    low, high = float(np.percentile(latencies_ms, 0.5)), float(np.percentile(latencies_ms, 99.5))
    if high <= low:
        high = low + 1e-6
    counts, edges = np.histogram(np.clip(latencies_ms, low, high), bins=bins, range=(low, high))
    return {"edges": [round(e, 5) for e in edges.tolist()], "counts": counts.tolist()}


def by_batch(results: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """One result per batch size: with several dims, the most demanding (largest inputs), which an SLO must
    hold at; results are in the order of params.cases(), so that is the last one of each batch."""
    return {r["batch_size"]: r for r in results}


def slo_verdict(result: dict[str, Any], *, p99_ms: float | None, min_throughput: float | None) -> dict[str, Any]:
    """Judge a benchmark against the model's SLO: p99 latency at batch 1, throughput at the largest batch (at
    the largest dims, when several were measured)."""
    batches = by_batch(result["results"])
    checks = []
    if p99_ms is not None:
        if 1 in batches:
            actual = batches[1]["latency_ms"]["p99"]
            checks.append(
                {
                    "name": "p99 latency at batch 1",
                    "target": f"≤ {p99_ms} ms",
                    "actual": round(actual, 4),
                    "unit": "ms",
                    "passed": actual <= p99_ms,
                }
            )
        else:
            checks.append(
                {
                    "name": "p99 latency at batch 1",
                    "target": f"≤ {p99_ms} ms",
                    "actual": None,
                    "passed": False,
                    "message": "Batch size 1 was not measured; include it.",
                }
            )
    if min_throughput is not None:
        largest = max(batches)
        actual = batches[largest]["throughput_samples_s"]
        checks.append(
            {
                "name": f"throughput at batch {largest}",
                "target": f"≥ {min_throughput:,.0f} samples/s",
                "actual": round(actual, 2),
                "unit": "samples/s",
                "passed": actual >= min_throughput,
            }
        )
    return {"checks": checks, "passed": all(c["passed"] for c in checks) if checks else None}


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The figures benchmarks on different devices are compared by: p50/p99 at batch 1, throughput at the
    largest batch, the peak GPU memory NVML saw, mean board power at the largest batch and samples per second
    per watt. A figure the run did not measure (no batch 1; no NVML on a CPU) is None, never a guess."""
    batches = by_batch(result.get("results", []))
    if not batches:
        return {}
    largest = batches[max(batches)]
    one = batches.get(1)
    sampled = [r.get("sampled") or {} for r in result.get("results", [])]  # the peak over every case
    memory = [s["gpu_mem_used_mib"]["max"] for s in sampled if "gpu_mem_used_mib" in s]
    power = (largest.get("sampled") or {}).get("power_w", {}).get("mean")
    throughput = largest.get("throughput_samples_s")
    return {
        "p50_ms_batch_1": one.get("latency_ms", {}).get("p50") if one else None,
        "p99_ms_batch_1": one.get("latency_ms", {}).get("p99") if one else None,
        "largest_batch": largest["batch_size"],
        "throughput_samples_s": throughput,
        "peak_gpu_memory_mib": max(memory) if memory else None,
        "mean_power_w": power,
        "samples_per_s_per_w": throughput / power if power and throughput is not None else None,
    }
