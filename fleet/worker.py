"""The worker side of the fleet, hooked into Celery's worker signals (connected in FleetConfig.ready):

- after the -Q option is applied, a worker that consumes ``gpu`` also consumes ``gpu.<class>`` for the classes
  of its GPUs (or the one GATEHOUSE_DEVICE_CLASS declares), so a benchmark can ask for an H100;
- once ready, a thread of its own reports the worker every GATEHOUSE_WORKER_HEARTBEAT_S (a busy pool never
  delays it: the jobs run in the pool's processes);
- on a clean shutdown it says it stopped. A killed worker stops reporting and reads offline after
  GATEHOUSE_WORKER_OFFLINE_AFTER_S.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import socket
import threading
from typing import Any

import celery
from celery.signals import celeryd_after_setup, worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection

from fleet import hardware, services
from fleet.devices import ANY_GPU, queue_for

logger = logging.getLogger(__name__)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def report(queues: list[str]) -> dict[str, Any]:
    """What a worker says about itself in a heartbeat."""
    nvml = hardware.nvml()
    gpus = nvml["gpus"]
    classes = hardware.classes(gpus)
    providers: list[str] = []
    try:
        import onnxruntime  # noqa: PLC0415 - a worker loads it for its jobs anyway; a bare one may lack it

        providers = onnxruntime.get_available_providers()
    except ImportError:
        pass
    return {
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "queues": sorted(queues),
        "device_class": classes[0] if classes and ANY_GPU in queues else "",
        "declared_class": bool(hardware.declared_class()),
        "gpus": gpus,
        "nvml_note": "" if gpus else nvml.get("reason", "")[:300],
        "driver_version": nvml.get("driver", ""),
        "cuda_version": nvml.get("cuda_driver", ""),
        "cpu_model": hardware.cpu_model()[:200],
        "cpu_count": os.cpu_count(),
        "memory_total_mib": hardware.memory_total_mib(),
        "software": {
            "gatehouse": _version("gatehouse"),
            "python": platform.python_version(),
            "celery": celery.__version__,
            "onnxruntime": _version("onnxruntime") or _version("onnxruntime-gpu"),
            "execution_providers": providers,
        },
    }


class Heartbeat:
    def __init__(self, name: str, queues: list[str]):
        self.name = name
        self.queues = queues
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fleet-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        starting = True
        try:
            while True:
                try:
                    services.worker_heartbeat(name=self.name, report=report(self.queues), starting=starting)
                    starting = False
                except Exception:  # a database or NVML hiccup must not end the heartbeat for good
                    logger.exception("worker %s: heartbeat failed; trying again", self.name)
                    connection.close()
                if self._stop.wait(settings.GATEHOUSE_WORKER_HEARTBEAT_S):
                    return
        finally:
            connection.close()  # this thread's own connection


_heartbeat: Heartbeat | None = None


@celeryd_after_setup.connect
def add_class_queues(sender, instance, **kwargs) -> None:
    queues = instance.app.amqp.queues
    if ANY_GPU not in queues.consume_from:
        return
    for device_class in hardware.classes(hardware.nvml()["gpus"]):
        queues.select_add(queue_for(device_class))
        logger.info("worker %s: consuming %s as well", sender, queue_for(device_class))


@worker_ready.connect
def start_heartbeat(sender, **kwargs) -> None:
    global _heartbeat
    _heartbeat = Heartbeat(sender.hostname, sorted(sender.app.amqp.queues.consume_from))
    _heartbeat.start()


@worker_shutdown.connect
def say_stopped(sender, **kwargs) -> None:
    if _heartbeat is None:
        return
    _heartbeat.stop()
    try:
        services.worker_stopped(name=_heartbeat.name)
    finally:
        connection.close()
