"""TorchScript through PyTorch, when the `torch` extra is installed (used by bench/gpu_check.py).

Registry uploads accept ONNX only; TorchScript archives are loaded here only from files the operator built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from registry.evidence import LoadedModel, RuntimeUnavailable, TensorSpec


class TorchScriptRuntime:
    def __init__(self, path: str, *, device: str = "cpu", input_specs: list[TensorSpec] | None = None):
        try:
            import torch  # noqa: PLC0415 - optional (the torch extra)
        except ImportError as exc:
            raise RuntimeUnavailable("PyTorch is not installed: pip install '.[torch]'") from exc
        self.torch = torch
        on_gpu = device == "gpu" and torch.cuda.is_available()
        self.device = torch.device("cuda" if on_gpu else "cpu")
        self.module = torch.jit.load(path, map_location=self.device).eval()
        self.info = LoadedModel(
            runtime="torch",
            runtime_version=torch.__version__,
            provider="cuda" if on_gpu else "cpu",
            device="gpu" if on_gpu else "cpu",
            requested_device=device,
            fell_back_to_cpu=device == "gpu" and not on_gpu,
            inputs=input_specs or [TensorSpec("input", "float32", ["N", 16])],
            outputs=[TensorSpec("output", "float32", ["N", None])],
            extra={"cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0) if on_gpu else None},
        )

    def run(self, feeds: dict[str, np.ndarray]) -> list[Any]:
        with self.torch.inference_mode():
            tensors = [self.torch.from_numpy(a).to(self.device) for a in feeds.values()]
            out = self.module(*tensors)
            outs = out if isinstance(out, tuple | list) else [out]
            return [o.detach().cpu().numpy() for o in outs]  # .cpu() waits for the device

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()
