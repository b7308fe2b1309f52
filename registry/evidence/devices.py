"""Whether a benchmark ran on the device it was asked for. Imports nothing from Django."""

from __future__ import annotations

from typing import Any

from fleet.devices import ANY_GPU, CPU, gpu_class


def ran_on(result: dict[str, Any] | None, environment: dict[str, Any] | None, device: str) -> bool:
    """Whether a benchmark (its result and the environment it recorded) ran on ``device``: "" any, "cpu", "gpu",
    or a GPU class such as "h100": the class of the card it ran on (recorded by the runner), else of a GPU NVML
    showed the worker, else the class the worker was declared to serve."""
    runtime = (result or {}).get("runtime", {})
    if not device:
        return True
    if device in (CPU, ANY_GPU):
        return runtime.get("device") == device
    if runtime.get("device") != "gpu":
        return False
    environment = environment or {}
    if runtime.get("device_class"):
        return runtime["device_class"] == device.lower()
    names = [g.get("name", "") for g in (environment.get("nvml") or {}).get("gpus", [])]
    return any(gpu_class(name) == device.lower() for name in names) or environment.get("device_class") == device
