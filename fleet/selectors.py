"""Reads of the fleet: who is online, what each class has, which queue anyone serves."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from fleet.devices import ANY_GPU, CPU, queue_for
from fleet.models import Worker


def worker_list() -> QuerySet[Worker]:
    return Worker.objects.order_by("-stopped_at", "name")


def online_workers() -> list[Worker]:
    """Every online worker, in one query (a fleet is hundreds of rows, not millions)."""
    return list(Worker.objects.online().order_by("name"))


@dataclass
class Fleet:
    """What is online now, from one read of the workers: routing decisions and messages are made from it."""

    online: list[Worker]
    classes: dict[str, list[Worker]] = field(default_factory=dict)

    def __post_init__(self):
        for worker in self.online:
            if worker.device_class:
                self.classes.setdefault(worker.device_class, []).append(worker)

    @property
    def gpu_online(self) -> bool:
        return any(w.serves_gpu for w in self.online)

    def serves(self, queue: str) -> bool:
        return any(queue in w.queues for w in self.online)

    def waiting_reason(self, device: str, queue: str) -> str:
        """Why a job for ``device`` in ``queue`` waits, when no online worker consumes that queue; else ""."""
        if self.serves(queue):
            return ""
        if device == CPU:
            what = "No CPU worker is online (none consumes queue cpu)"
        elif device == ANY_GPU:
            what = "No GPU worker is online (none consumes queue gpu)"
        else:
            what = f"No worker of class {device} is online (none consumes queue {queue_for(device)})"
        return f"{what}; the job waits until one starts."


def fleet_now() -> Fleet:
    return Fleet(online_workers())
