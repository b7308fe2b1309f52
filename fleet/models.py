"""The fleet: every Celery worker that has reported in, kept after it stops (shown offline, never deleted)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkerQuerySet(models.QuerySet):
    def online(self, now: dt.datetime | None = None):
        """Workers that reported within GATEHOUSE_WORKER_OFFLINE_AFTER_S and have not said they stopped."""
        since = (now or timezone.now()) - dt.timedelta(seconds=settings.GATEHOUSE_WORKER_OFFLINE_AFTER_S)
        return self.filter(last_seen_at__gte=since, stopped_at__isnull=True)


class Worker(models.Model):
    """A worker process as it last reported itself, every GATEHOUSE_WORKER_HEARTBEAT_S from a thread of its own."""

    name = models.CharField(max_length=200, unique=True, help_text="Celery's node name, e.g. gpu0@node-7.")
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField(null=True)
    queues = models.JSONField(default=list, help_text="The broker queues it consumes.")
    device_class = models.CharField(
        max_length=20, blank=True, db_index=True, help_text="The GPU class it serves (queue gpu.<class>); blank: none."
    )
    declared_class = models.BooleanField(default=False, help_text="Named by GATEHOUSE_DEVICE_CLASS, not by NVML.")
    gpus = models.JSONField(default=list, help_text="Per GPU through NVML: index, UUID, name, memory, utilisation…")
    nvml_note = models.CharField(max_length=300, blank=True, help_text="Why NVML showed no GPU, when it showed none.")
    driver_version = models.CharField(max_length=40, blank=True)
    cuda_version = models.CharField(max_length=20, blank=True)
    cpu_model = models.CharField(max_length=200, blank=True)
    cpu_count = models.PositiveIntegerField(null=True)
    memory_total_mib = models.PositiveIntegerField(null=True)
    software = models.JSONField(default=dict, help_text="Gatehouse, Python, Celery, onnxruntime and its providers.")
    # A plain id, not a foreign key: the fleet sits below the registry, which owns jobs (docs/architecture.md).
    current_job_id = models.PositiveBigIntegerField(null=True, blank=True)
    current_job_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_online(self) -> bool:
        limit = dt.timedelta(seconds=settings.GATEHOUSE_WORKER_OFFLINE_AFTER_S)
        return self.stopped_at is None and timezone.now() - self.last_seen_at <= limit

    @property
    def offline_since(self) -> dt.datetime | None:
        """When it stopped, or its last heartbeat when it went silent."""
        return None if self.is_online else (self.stopped_at or self.last_seen_at)

    @property
    def serves_gpu(self) -> bool:
        """A GPU worker: it has a card, or was declared a class (how a node NVML cannot read is named)."""
        return bool(self.gpus or self.device_class)
