"""onnxruntime behind the Runtime interface, with the execution provider chosen from those present."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import onnxruntime as ort

from registry.evidence import LoadedModel, TensorSpec

# Preference order on a GPU node; the CPU provider is always last and always present.
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")

_ORT_TO_NUMPY = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "str",
}


def _spec(arg) -> TensorSpec:
    dtype = _ORT_TO_NUMPY.get(arg.type, arg.type)
    shape = list(arg.shape) if isinstance(arg.shape, list | tuple) else []
    return TensorSpec(arg.name, dtype, [d if isinstance(d, int | str) else None for d in shape])


def tensorrt_options(tensorrt: dict[str, bool] | None, engine_cache_dir: str | None) -> dict[str, Any]:
    """onnxruntime's TensorRT provider options for a benchmark's ``tensorrt`` parameters: FP16 kernels, and
    engines (and their timing cache) kept on the node, so the second run of a model does not rebuild them."""
    tensorrt = tensorrt or {}
    options: dict[str, Any] = {}
    if tensorrt.get("fp16"):
        options["trt_fp16_enable"] = True
    if tensorrt.get("engine_cache") and engine_cache_dir:
        options.update(
            trt_engine_cache_enable=True,
            trt_engine_cache_path=engine_cache_dir,
            trt_timing_cache_enable=True,
            trt_timing_cache_path=engine_cache_dir,
        )
    return options


class OnnxRuntime:
    def __init__(
        self,
        path: str,
        *,
        device: str = "cpu",
        threads: int | None = None,
        tensorrt: dict[str, bool] | None = None,
        engine_cache_dir: str | None = None,
        provider: str | None = None,
    ):
        """``provider``: only this GPU provider, where it is present (bench/gpu_transformer_check.py compares
        CUDA with TensorRT on one node); by default the first of GPU_PROVIDERS present."""
        if device == "gpu" and hasattr(ort, "preload_dlls"):
            # CUDA/cuDNN installed as wheels (onnxruntime-gpu[cuda,cudnn]) are loaded before the session; without
            # them the CUDA provider is simply absent, which the benchmark's record then says.
            with contextlib.suppress(Exception):
                ort.preload_dlls()
        available = ort.get_available_providers()
        wanted = [p for p in GPU_PROVIDERS if p in available and provider in (None, p)] if device == "gpu" else []
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        trt = tensorrt_options(tensorrt, engine_cache_dir)
        providers = [(p, trt) if p == "TensorrtExecutionProvider" and trt else p for p in wanted]
        self.session = ort.InferenceSession(path, sess_options=options, providers=[*providers, "CPUExecutionProvider"])
        used = self.session.get_providers()[0]
        on_gpu = used in GPU_PROVIDERS
        self.info = LoadedModel(
            runtime="onnxruntime",
            runtime_version=ort.__version__,
            provider=used,
            device="gpu" if on_gpu else "cpu",
            requested_device=device,
            fell_back_to_cpu=device == "gpu" and not on_gpu,
            inputs=[_spec(i) for i in self.session.get_inputs()],
            outputs=[_spec(o) for o in self.session.get_outputs()],
            extra={
                "available_providers": available,
                "session_providers": self.session.get_providers(),
                # What was asked of TensorRT, and whether it ran: options are only applied where it did.
                "tensorrt_requested": dict(tensorrt or {}),
                "tensorrt_options": trt if used == "TensorrtExecutionProvider" else {},
            },
        )
        self._output_names = [o.name for o in self.info.outputs]

    def run(self, feeds: dict[str, np.ndarray]) -> list[Any]:
        # session.run returns host arrays, so the device work is complete when it returns.
        return self.session.run(self._output_names, feeds)

    def synchronize(self) -> None:
        return None
