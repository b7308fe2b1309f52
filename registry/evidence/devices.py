"""Device classes: what kind of GPU a benchmark ran on, from the name NVML reports. Imports nothing from Django."""

from __future__ import annotations

import re
from typing import Any

_GPU_CLASS = re.compile(
    r"\b(GB200|B200|B100|H200|H100|H20|A100|A10G|A10|A30|A40|L40S|L40|L4|T4|V100|P100|RTX\s?\w+)\b", re.IGNORECASE
)


def gpu_class(name: str) -> str:
    """The device class of an NVML GPU name: "NVIDIA H100 80GB HBM3" → "h100", "NVIDIA L40S" → "l40s"."""
    match = _GPU_CLASS.search(name or "")
    return match.group(1).lower().replace(" ", "") if match else ""


def ran_on(result: dict[str, Any] | None, environment: dict[str, Any] | None, device: str) -> bool:
    """Whether a benchmark (its result and the environment it recorded) ran on ``device``: "" any, "cpu", "gpu",
    or a GPU class such as "h100" or "a100", matched against the GPU names NVML reported on the worker."""
    runtime = (result or {}).get("runtime", {})
    if not device:
        return True
    if device in ("cpu", "gpu"):
        return runtime.get("device") == device
    names = [g.get("name", "") for g in ((environment or {}).get("nvml") or {}).get("gpus", [])]
    return runtime.get("device") == "gpu" and any(gpu_class(name) == device.lower() for name in names)
