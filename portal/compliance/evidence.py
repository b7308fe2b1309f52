"""The pack's evidence sections: the validations (section 4) and benchmarks (section 5) that ran on the version's
exact digest, each with its checks, figures, device and environment as the worker recorded them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.compliance.rows import Rows, bounded_list, max_rows
from registry.evidence.benchmark import headline
from registry.models import Job


@dataclass
class ValidationRow:  # section 4
    job: int
    status: str
    verdict: str
    dataset: str
    dataset_sha256: str
    rows: int | None
    floors: dict
    margin: float | None
    checks: Rows[dict]  # a check per step and per floor: bounded all the same
    metrics: dict
    error: str
    requested_by: str
    finished_at: Any


@dataclass
class BenchmarkRow:  # section 5
    job: int
    status: str
    verdict: str
    device_asked: str
    device_class: str
    gpu_uuid: str
    runtime: dict  # name, version, provider, device, fell back to the CPU
    environment: dict  # host, os, cpu, python, libraries, GPUs as NVML saw them
    headline: dict
    batches: list[dict]
    slo_checks: list[dict]
    requested_by: str
    finished_at: Any


def validation_row(job: Job) -> ValidationRow:
    result = job.result or {}
    return ValidationRow(
        job=job.pk,
        status=job.status,
        verdict=job.verdict,
        dataset=job.dataset.name if job.dataset else "",
        dataset_sha256=job.dataset.sha256 if job.dataset else "",
        rows=result.get("rows"),
        floors=job.parameters.get("floors", {}),
        margin=job.parameters.get("margin"),
        checks=bounded_list(
            [
                {"name": c.get("name", ""), "verdict": c.get("verdict", ""), "message": c.get("message", "")}
                for c in result.get("checks", [])
            ]
        ),
        metrics=result.get("metrics") or {},
        error=job.error,
        requested_by=job.requested_by.get_username(),
        finished_at=job.finished_at,
    )


def _environment(env: dict) -> dict:
    nvml = env.get("nvml") or {}
    return {
        "host": env.get("host", ""),
        "os": env.get("os", ""),
        "cpu": env.get("cpu", ""),
        "cpu_count": env.get("cpu_count"),
        "memory_total_mib": env.get("memory_total_mib"),
        "python": env.get("python", ""),
        "libraries": {k: v for k, v in (env.get("libraries") or {}).items() if v},
        "execution_providers": env.get("execution_providers", []),
        "gpus": [f"{g.get('name', '?')} ({g.get('uuid', '')})" for g in nvml.get("gpus", [])],
        "driver": nvml.get("driver", ""),
        "nvml": "available" if nvml.get("available") else nvml.get("reason", ""),
    }


def benchmark_row(job: Job) -> BenchmarkRow:
    result = job.result or {}
    runtime = result.get("runtime") or {}
    return BenchmarkRow(
        job=job.pk,
        status=job.status,
        verdict=job.verdict,
        device_asked=job.device,
        device_class=job.device_class,
        gpu_uuid=job.gpu_uuid,
        runtime={
            k: runtime.get(k) for k in ("name", "version", "provider", "device", "fell_back_to_cpu") if k in runtime
        },
        environment=_environment(job.environment or {}),
        headline=headline(result),
        batches=[
            {
                "batch_size": r.get("batch_size"),
                "p50_ms": (r.get("latency_ms") or {}).get("p50"),
                "p99_ms": (r.get("latency_ms") or {}).get("p99"),
                "throughput_samples_s": r.get("throughput_samples_s"),
                "iterations": r.get("iterations"),
                "stable": (r.get("stability") or {}).get("stable"),
            }
            for r in result.get("results", [])[: max_rows()]
        ],
        slo_checks=[
            {k: c.get(k) for k in ("name", "target", "actual", "passed", "message") if k in c}
            for c in (result.get("slo") or {}).get("checks", [])
        ],
        requested_by=job.requested_by.get_username(),
        finished_at=job.finished_at,
    )
