"""What a worker holds: CPU, memory and, through NVML (nvidia-ml-py), its GPUs. Imports nothing from Django.

NVML sees every card on the node whatever CUDA_VISIBLE_DEVICES says, so the GPUs are filtered to the ones
CUDA will give this process, in CUDA's order: a worker started for one card reports that card only, and
CUDA device 0 is the first GPU listed here.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from typing import Any

from fleet.devices import check_class, gpu_class


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _optional(read: Callable[[], Any]) -> Any:
    """A reading a card may not support (temperature on some boards, MIG on most): None, not an error."""
    try:
        return read()
    except Exception:  # pynvml.NVMLError_NotSupported and kin
        return None


def _gpu(nv, index: int) -> dict[str, Any]:
    handle = nv.nvmlDeviceGetHandleByIndex(index)
    memory = nv.nvmlDeviceGetMemoryInfo(handle)
    name = _text(nv.nvmlDeviceGetName(handle))
    utilization = _optional(lambda: nv.nvmlDeviceGetUtilizationRates(handle))
    mig = _optional(lambda: nv.nvmlDeviceGetMigMode(handle))
    power = _optional(lambda: nv.nvmlDeviceGetPowerUsage(handle))
    return {
        "index": index,
        "uuid": _text(nv.nvmlDeviceGetUUID(handle)),
        "name": name,
        "class": gpu_class(name),
        "memory_total_mib": memory.total // 2**20,
        "memory_used_mib": memory.used // 2**20,
        "utilization_pct": utilization.gpu if utilization is not None else None,
        "temperature_c": _optional(lambda: nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU)),
        "power_w": round(power / 1000, 1) if power is not None else None,
        # (current, pending); None where the card has no MIG.
        "mig": None if mig is None else ("enabled" if mig[0] == nv.NVML_DEVICE_MIG_ENABLE else "disabled"),
    }


def visible(gpus: list[dict[str, Any]], cuda_visible_devices: str | None) -> list[dict[str, Any]]:
    """The GPUs CUDA shows a process with this CUDA_VISIBLE_DEVICES, in CUDA's order. Entries are indices or
    UUIDs (or their unique prefixes); like CUDA, the list stops at the first entry that names no card."""
    if cuda_visible_devices is None:
        return gpus
    shown: list[dict[str, Any]] = []
    for entry in (e.strip() for e in cuda_visible_devices.split(",")):
        if entry.isdigit():
            match = [g for g in gpus if g["index"] == int(entry)]
        elif entry.startswith("GPU-"):
            match = [g for g in gpus if g["uuid"].startswith(entry)]
        else:  # "", -1, MIG-… (a MIG instance is not a whole card): CUDA stops here
            match = []
        if len(match) != 1 or match[0] in shown:
            break
        shown.append(match[0])
    return shown


def nvml() -> dict[str, Any]:
    """The node's driver and CUDA version and the GPUs this process may use, or why there are none."""
    try:
        import pynvml  # noqa: PLC0415 - optional (the gpu extra); its absence is reported
    except ImportError:
        return {"available": False, "reason": "nvidia-ml-py is not installed (the gpu extra)", "gpus": []}
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError when there is no driver or no GPU
        return {"available": False, "reason": f"NVML could not start: {exc}", "gpus": []}
    try:
        cuda = pynvml.nvmlSystemGetCudaDriverVersion_v2()
        every = [_gpu(pynvml, index) for index in range(pynvml.nvmlDeviceGetCount())]
        gpus = visible(every, os.environ.get("CUDA_VISIBLE_DEVICES"))
        out = {
            "available": True,
            "driver": _text(pynvml.nvmlSystemGetDriverVersion()),
            "cuda_driver": f"{cuda // 1000}.{cuda % 1000 // 10}",
            "gpus": gpus,
        }
        if len(gpus) < len(every):
            out["hidden_by_cuda_visible_devices"] = len(every) - len(gpus)
        if not gpus:
            out["reason"] = (
                f"NVML sees {len(every)} GPU(s), CUDA_VISIBLE_DEVICES hides them all" if every else "NVML sees no GPU"
            )
        return out
    finally:
        pynvml.nvmlShutdown()


def declared_class() -> str:
    """GATEHOUSE_DEVICE_CLASS: the class a worker serves where NVML cannot name it (or has no GPU to name)."""
    value = os.environ.get("GATEHOUSE_DEVICE_CLASS", "").strip()
    return check_class(value) if value else ""


def classes(gpus: list[dict[str, Any]]) -> list[str]:
    """The classes a worker serves: the declared one, else those of its GPUs that NVML names."""
    declared = declared_class()
    if declared:
        return [declared]
    return sorted({g["class"] for g in gpus if g.get("class")})


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total_mib() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None
