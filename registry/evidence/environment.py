"""What machine a job ran on: host, Python, libraries, execution providers and, through NVML (fleet.hardware), the
GPUs this worker may use."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import threading
import time
from typing import Any

from fleet import hardware


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def capture() -> dict[str, Any]:
    providers: list[str] = []
    try:
        import onnxruntime  # noqa: PLC0415 - starts a thread on import; a bare node may lack it

        providers = onnxruntime.get_available_providers()
    except ImportError:
        pass
    return {
        "host": socket.gethostname(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": hardware.cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_total_mib": hardware.memory_total_mib(),
        "libraries": {
            name: _version(name)
            for name in ("onnxruntime", "onnxruntime-gpu", "onnx", "numpy", "scikit-learn", "torch", "nvidia-ml-py")
        },
        "execution_providers": providers,
        "nvml": hardware.nvml(),
        # The class this worker was declared to serve, where NVML cannot name its card.
        "device_class": os.environ.get("GATEHOUSE_DEVICE_CLASS", ""),
    }


def rss_mib() -> float:
    """Resident memory of this process now."""
    with open("/proc/self/statm", encoding="utf-8") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampler:
    """Samples host RSS (and, with NVML, GPU utilisation, memory, power and clocks) every ``interval`` s."""

    def __init__(self, interval: float = 0.1, gpu_index: int | None = None):
        self.interval = interval
        self.gpu_index = gpu_index
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._nvml = None

    def __enter__(self) -> Sampler:
        if self.gpu_index is not None:
            try:
                import pynvml  # noqa: PLC0415 - optional, as above

                pynvml.nvmlInit()
                self._nvml = (pynvml, pynvml.nvmlDeviceGetHandleByIndex(self.gpu_index))
            except Exception:  # no NVML: host memory only
                self._nvml = None
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self._nvml:
            self._nvml[0].nvmlShutdown()

    def _loop(self) -> None:
        while not self._stop.is_set():
            sample = {"t": time.perf_counter(), "rss_mib": rss_mib()}
            if self._nvml:
                nv, handle = self._nvml
                util = nv.nvmlDeviceGetUtilizationRates(handle)
                sample.update(
                    gpu_util_pct=util.gpu,
                    gpu_mem_used_mib=nv.nvmlDeviceGetMemoryInfo(handle).used / 2**20,
                    power_w=nv.nvmlDeviceGetPowerUsage(handle) / 1000,
                    sm_clock_mhz=nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM),
                )
            self.samples.append(sample)
            self._stop.wait(self.interval)

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {}
        out: dict[str, Any] = {
            "samples": len(self.samples),
            "host_rss_peak_mib": round(max(s["rss_mib"] for s in self.samples), 1),
        }
        if self._nvml is not None or any("power_w" in s for s in self.samples):
            for key, label in (
                ("gpu_util_pct", "gpu_util_pct"),
                ("power_w", "power_w"),
                ("sm_clock_mhz", "sm_clock_mhz"),
                ("gpu_mem_used_mib", "gpu_mem_used_mib"),
            ):
                values = [s[key] for s in self.samples if key in s]
                if values:
                    out[label] = {"mean": round(sum(values) / len(values), 1), "max": round(max(values), 1)}
            out["power_source"] = "NVML board power"
        return out
