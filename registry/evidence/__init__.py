"""Model runtimes and the evidence methods (validation, benchmark). Imports nothing from Django.

The same code runs in a Celery worker, in a test and in a bare script on a GPU node that has only the
runtime installed (bench/gpu_check.py). Heavy imports (onnxruntime, torch, pynvml) happen inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class RuntimeUnavailable(Exception):
    """The runtime or device asked for is not installed here."""


@dataclass
class TensorSpec:
    name: str
    dtype: str  # numpy dtype name, or "seq"/"map" for non-tensor outputs
    shape: list[int | str | None]


@dataclass
class LoadedModel:
    """What every runtime reports about a loaded model."""

    runtime: str  # "onnxruntime" or "torch"
    runtime_version: str
    provider: str  # the execution provider actually used: CUDAExecutionProvider, CPUExecutionProvider, cuda, cpu
    device: str  # "gpu" or "cpu": where it really runs
    requested_device: str
    fell_back_to_cpu: bool
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    extra: dict[str, Any] = field(default_factory=dict)


class Runtime(Protocol):
    info: LoadedModel

    def run(self, feeds: dict[str, np.ndarray]) -> list[Any]:
        """Run one inference and return the outputs in graph order, on the host."""

    def synchronize(self) -> None:
        """Wait until the device has finished the work queued so far (no-op on the CPU)."""


def load_runtime(
    path: str,
    *,
    fmt: str = "onnx",
    device: str = "cpu",
    threads: int | None = None,
    tensorrt: dict[str, bool] | None = None,
    engine_cache_dir: str | None = None,
) -> Runtime:
    if fmt == "onnx":
        from registry.evidence.onnx import OnnxRuntime  # noqa: PLC0415 - onnxruntime starts a thread on import

        return OnnxRuntime(path, device=device, threads=threads, tensorrt=tensorrt, engine_cache_dir=engine_cache_dir)
    if fmt == "torchscript":
        from registry.evidence.torch import TorchScriptRuntime  # noqa: PLC0415 - torch is optional and large

        return TorchScriptRuntime(path, device=device)
    raise RuntimeUnavailable(f"no runtime for format {fmt!r}")
