"""The candidate against the version in production: what an approver compares on one screen."""

from __future__ import annotations

from registry.choices import JobKind
from registry.evidence.scoring import LOWER_IS_BETTER
from registry.evidence.signatures import signature_changes
from registry.models import Job, ModelVersion


def _latest(version: ModelVersion, kind: str, **filters) -> Job | None:
    return (
        Job.objects.filter(version=version, artifact_sha256=version.sha256, **filters)
        .evidence(kind)
        .order_by("-finished_at")
        .first()
    )


def against_production(version: ModelVersion) -> dict | None:
    production = ModelVersion.objects.production_other_than(version)
    if production is None:
        return None
    out: dict = {
        "production": production,
        "size_delta": version.size_bytes - production.size_bytes,
        "signature_changes": signature_changes(production.signature, version.signature),
    }
    candidate_validation = _latest(version, JobKind.VALIDATION)
    metrics = []
    if candidate_validation:
        champion = _latest(production, JobKind.VALIDATION, dataset_id=candidate_validation.dataset_id)
        for name, value in (candidate_validation.result or {}).get("metrics", {}).items():
            before = (champion.result or {}).get("metrics", {}).get(name) if champion else None
            delta = value - before if before is not None else None
            better = None if delta is None else (delta < 0 if name in LOWER_IS_BETTER else delta > 0)
            metrics.append({"name": name, "candidate": value, "production": before, "delta": delta, "better": better})
        out["dataset"] = candidate_validation.dataset
    out["metrics"] = metrics
    # Throughput on an H100 says nothing against an L4's: production's benchmark on the same class of device.
    bench_c = _latest(version, JobKind.BENCHMARK)
    bench_p = _latest(production, JobKind.BENCHMARK, device_class=bench_c.device_class) if bench_c else None
    out["device_class"] = bench_c.device_class if bench_c else ""
    out["production_benchmarked_elsewhere"] = bool(
        bench_c and bench_p is None and _latest(production, JobKind.BENCHMARK) is not None
    )
    perf = []
    if bench_c and bench_p:
        by_batch = {r["batch_size"]: r for r in bench_p.result["results"]}
        for r in bench_c.result["results"]:
            p = by_batch.get(r["batch_size"])
            if p:
                perf.append(
                    {
                        "batch": r["batch_size"],
                        "p99": (r["latency_ms"]["p99"], p["latency_ms"]["p99"]),
                        "throughput": (r["throughput_samples_s"], p["throughput_samples_s"]),
                        "throughput_delta_pct": (r["throughput_samples_s"] - p["throughput_samples_s"])
                        / p["throughput_samples_s"]
                        * 100,
                    }
                )
        out["same_device"] = bench_c.result["runtime"]["provider"] == bench_p.result["runtime"]["provider"]
    out["performance"] = perf
    return out
