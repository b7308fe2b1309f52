"""Writes of the fleet: what workers report about themselves. Called from the worker process (fleet.worker)
and, for the job a worker runs, from the registry's runner."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from fleet.choices import AuditAction
from fleet.models import Worker
from portal.core.services import audit_event_record

# What a heartbeat may set; the job fields are the runner's, written on their own so neither overwrites the other.
REPORTED = (
    "hostname",
    "pid",
    "queues",
    "device_class",
    "declared_class",
    "gpus",
    "nvml_note",
    "driver_version",
    "cuda_version",
    "cpu_model",
    "cpu_count",
    "memory_total_mib",
    "software",
)


def worker_heartbeat(*, name: str, report: dict[str, Any], starting: bool = False, now: dt.datetime | None = None):
    """Store a worker's report. ``starting``: its first beat since it started (a restart clears stopped_at and
    the job it was running when it died). A name seen for the first time joins the fleet, audited."""
    now = now or timezone.now()
    fields = {key: report[key] for key in REPORTED if key in report}
    fields["last_seen_at"] = now
    if starting:
        fields.update(started_at=now, stopped_at=None, current_job_id=None, current_job_since=None)
    if Worker.objects.filter(name=name).update(**fields):
        return
    try:
        with transaction.atomic():
            worker = Worker.objects.create(name=name, **{"started_at": now, **fields})
            audit_event_record(
                actor=None,
                action=AuditAction.WORKER_JOINED,
                obj=worker,
                after={"queues": worker.queues, "device_class": worker.device_class, "gpus": len(worker.gpus)},
            )
    except IntegrityError:  # two first beats at once (a restart racing its old thread): the other one won
        Worker.objects.filter(name=name).update(**fields)


def worker_stopped(*, name: str) -> None:
    """A worker that shuts down cleanly says so: it is offline at once, not after the threshold."""
    now = timezone.now()
    Worker.objects.filter(name=name).update(
        stopped_at=now, last_seen_at=now, current_job_id=None, current_job_since=None
    )


def worker_job(*, name: str, job_id: int | None, ending: int | None = None) -> None:
    """The job a worker started (``job_id``), or that it ended one (``ending``: cleared if still that one)."""
    workers = Worker.objects.filter(name=name)
    if job_id is not None:
        workers.update(current_job_id=job_id, current_job_since=timezone.now())
    elif ending is not None:
        workers.filter(current_job_id=ending).update(current_job_id=None, current_job_since=None)
