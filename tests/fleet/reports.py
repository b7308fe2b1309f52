"""Workers reporting in through the fleet's service, as fleet.worker's heartbeat does, for tests that need a
fleet without starting one (the tests in test_workers.py start real worker processes)."""

from __future__ import annotations

from fleet.devices import queue_for
from fleet.services import worker_heartbeat

H100 = {
    "index": 0,
    "uuid": "GPU-5f1e7c1a-0d7b-4a31-9c52-6f3b0f6f2a11",
    "name": "NVIDIA H100 80GB HBM3",
    "class": "h100",
    "memory_total_mib": 81559,
    "memory_used_mib": 1024,
    "utilization_pct": 37,
    "temperature_c": 41,
    "power_w": 212.4,
    "mig": "disabled",
}


def report_in(name: str, *, queues=("cpu",), device_class: str = "", gpus=(), starting: bool = True, **extra):
    """The worker ``name`` reports now, consuming ``queues`` (and gpu.<class> when it serves a class)."""
    queues = sorted({*queues, *([queue_for(device_class)] if device_class else [])})
    report = {
        "hostname": name.split("@")[-1],
        "queues": queues,
        "device_class": device_class,
        "gpus": list(gpus),
        "nvml_note": "" if gpus else "NVML could not start: Driver Not Loaded",
        "cpu_model": "Test CPU",
        "cpu_count": 2,
        "software": {"gatehouse": "0.1.0"},
        **extra,
    }
    worker_heartbeat(name=name, report=report, starting=starting)
