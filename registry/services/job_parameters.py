"""The parameters of evidence jobs, checked before a job is queued: a benchmark's batch sizes, dims, input
ranges and TensorRT options against the version's signature and the tensor budget; a validation's floors
and margin. Every refusal names the parameter and what it takes."""

from __future__ import annotations

import math
import re
from typing import Any

from django.conf import settings

from portal.core.errors import ApplicationError
from registry.evidence.benchmark import BenchmarkParams
from registry.evidence.limits import signature_bytes
from registry.evidence.scoring import metric_names
from registry.models import ModelVersion

BENCHMARK_KEYS = (
    "batch_sizes",
    "warmup_ms",
    "warmup_iterations",
    "min_iterations",
    "min_seconds",
    "max_seconds",
    "dims",
    "input_ranges",
    "tensorrt",
)
INTEGER_LIMITS = {"int8": 2**7, "uint8": 2**8, "int16": 2**15, "uint16": 2**16, "int32": 2**31, "uint32": 2**32}
VALIDATION_KEYS = ("floors", "margin", "batch_rows")


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApplicationError(f"{name} must be a whole number, not {value!r}.", field="parameters")
    try:
        return int(value)
    except ValueError:
        raise ApplicationError(f"{name} must be a whole number, not {value!r}.", field="parameters") from None


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApplicationError(f"{name} must be a number, not {value!r}.", field="parameters")
    try:
        number = float(value)
    except ValueError:
        raise ApplicationError(f"{name} must be a number, not {value!r}.", field="parameters") from None
    if not math.isfinite(number):
        raise ApplicationError(f"{name} must be a finite number, not {value!r}.", field="parameters")
    return number


def _no_unknown_keys(raw: dict[str, Any], allowed: tuple[str, ...], kind: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ApplicationError(
            f"Unknown {kind} parameter(s) {', '.join(unknown)}; the parameters are {', '.join(allowed)}.",
            field="parameters",
        )


def parse_batch_sizes(value: Any) -> list[int]:
    """[1, 8, 32], or the text "1, 8, 32" / "1 8 32"."""
    parts = re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else value
    if not isinstance(parts, list | tuple):
        raise ApplicationError("batch_sizes is a list of whole numbers, e.g. [1, 8, 32].", field="parameters")
    return sorted({_whole("batch size", part) for part in parts if part != ""})


def floors_check(floors: Any, task_type: str) -> dict[str, float]:
    """Floors as {metric: finite number}, naming only metrics the task type's validation computes."""
    if not isinstance(floors, dict):
        raise ApplicationError(
            'Floors are an object of metric name to number, e.g. {"accuracy": 0.9}.', field="metric_floors"
        )
    known = metric_names(task_type)
    unknown = sorted(set(floors) - set(known))
    if unknown:
        raise ApplicationError(
            f"No metric named {', '.join(unknown)} for a {task_type} model; use {', '.join(known)}.",
            field="metric_floors",
        )
    return {str(name): _number(f"floor {name}", value) for name, value in floors.items()}


def _object(name: str, value: Any, example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApplicationError(f"{name} is a JSON object, e.g. {example}.", field="parameters")
    return value


def _dims(raw: Any, signature: dict[str, Any]) -> dict[str, list[int]]:
    """Sizes for the model's symbolic dimensions other than the batch, each list sorted (the last case of a
    batch is then the most demanding, which the SLO is judged at)."""
    dims = _object("dims", raw, '{"sequence": [128, 512]}')
    inputs = signature.get("inputs", [])
    batch_axes = {io["shape"][0] for io in inputs if io.get("shape") and isinstance(io["shape"][0], str)}
    symbolic = {d for io in inputs for d in (io.get("shape") or [])[1:] if isinstance(d, str)} - batch_axes
    for name in dims:
        if name not in symbolic:
            offered = ", ".join(sorted(symbolic)) or "none"
            raise ApplicationError(
                f"dims names {name!r}, which is not a symbolic dimension of this model's inputs other than the batch "
                f"(those are: {offered}).",
                field="parameters",
            )
    return {
        name: sorted({_whole(f"dims {name}", v) for v in values}) if isinstance(values, list) else values
        for name, values in dims.items()
    }


def _input_ranges(raw: Any, signature: dict[str, Any]) -> dict[str, list[int]]:
    ranges = _object("input_ranges", raw, '{"input_ids": [0, 30522]}')
    dtypes = {io["name"]: str(io.get("dtype")) for io in signature.get("inputs", [])}
    for name, bounds in ranges.items():
        dtype = dtypes.get(name)
        if dtype is None or not dtype.startswith(("int", "uint")):
            integer = ", ".join(n for n, d in dtypes.items() if d.startswith(("int", "uint"))) or "none"
            raise ApplicationError(
                f"input_ranges names {name!r}, which is not an integer input of this model (those are: {integer}).",
                field="parameters",
            )
        if isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int) for b in bounds):
            top = INTEGER_LIMITS.get(dtype, 2**63)
            bottom = 0 if dtype.startswith("uint") else -top
            if bounds[0] < bottom or bounds[1] > top:
                raise ApplicationError(
                    f"input_ranges {name!r} must lie within {dtype} ([{bottom}, {top})).", field="parameters"
                )
    return ranges


def benchmark_parameters(raw: dict[str, Any], signature: dict[str, Any]) -> dict[str, Any]:
    _no_unknown_keys(raw, BENCHMARK_KEYS, "benchmark")
    params = BenchmarkParams(
        batch_sizes=parse_batch_sizes(raw.get("batch_sizes", [1, 8, 32])),
        warmup_ms=_whole("warmup_ms", raw.get("warmup_ms", 200)),
        warmup_iterations=_whole("warmup_iterations", raw.get("warmup_iterations", 10)),
        min_iterations=_whole("min_iterations", raw.get("min_iterations", 100)),
        min_seconds=_number("min_seconds", raw.get("min_seconds", 3.0)),
        max_seconds=_number("max_seconds", raw["max_seconds"]) if raw.get("max_seconds") is not None else None,
        dims=_dims(raw.get("dims") or {}, signature),
        input_ranges=_input_ranges(raw.get("input_ranges") or {}, signature),
        tensorrt=_object("tensorrt", raw.get("tensorrt") or {}, '{"fp16": true, "engine_cache": true}'),
    )
    try:
        params.validate()
    except ValueError as exc:
        raise ApplicationError(f"Benchmark: {exc}", field="parameters") from None
    return params.__dict__


def validation_parameters(raw: dict[str, Any], version: ModelVersion) -> dict[str, Any]:
    _no_unknown_keys(raw, VALIDATION_KEYS, "validation")
    model = version.model
    floors = floors_check(raw.get("floors", model.metric_floors) or {}, model.task_type)
    margin = _number("margin", raw.get("margin", model.noninferiority_margin))
    if not 0 <= margin <= 1e6:
        raise ApplicationError("The non-inferiority margin is a number of at least 0.", field="parameters")
    batch_rows = _whole("batch_rows", raw.get("batch_rows", 50_000))
    if not 1_000 <= batch_rows <= 1_000_000:
        raise ApplicationError("batch_rows must be between 1000 and 1000000.", field="parameters")
    return {"floors": floors, "margin": margin, "batch_rows": batch_rows}


def fits_tensor_budget(version: ModelVersion, batch_sizes: list[int], dims: dict[str, list[int]] | None = None) -> None:
    """Refuse batch sizes whose inputs and outputs, by the version's signature at the largest dims, exceed
    the benchmark budget."""
    budget = settings.GATEHOUSE_BENCHMARK_MAX_TENSOR_MB * 1024 * 1024
    largest = {name: max(values) for name, values in (dims or {}).items()}

    def need_bytes(batch: int) -> int:
        return signature_bytes(version.signature, batch, largest)

    over = [b for b in batch_sizes if need_bytes(b) > budget]
    if not over:
        return
    fitting = next((b for b in range(min(over), 0, -1) if need_bytes(b) <= budget), 0)
    need = need_bytes(max(over)) / 2**20
    advice = f" Use batch sizes up to {fitting}." if fitting else " Even batch 1 does not fit."
    raise ApplicationError(
        f"At batch {max(over)} this model's inputs and outputs take {need:,.0f} MB by its signature; a benchmark "
        f"may use at most {settings.GATEHOUSE_BENCHMARK_MAX_TENSOR_MB:,} MB (GATEHOUSE_BENCHMARK_MAX_TENSOR_MB)."
        + advice,
        field="parameters",
    )
