"""Writes for evidence jobs: create (row first, task after commit), dispatch, cancel, and the reaper.

The runner that executes a job on a worker is registry.runner; Celery tasks are in registry.tasks.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from fleet import devices
from fleet.selectors import fleet_now
from portal.core.errors import ApplicationError
from portal.core.services import audit_event_record
from registry import permissions
from registry.choices import JOB_CREATED_ACTION, AuditAction, JobKind, JobStatus
from registry.models import Dataset, Job, ModelVersion
from registry.services.job_parameters import (  # noqa: F401 - parse_batch_sizes: part of this module's API
    benchmark_parameters,
    fits_tensor_budget,
    parse_batch_sizes,
    validation_parameters,
)

logger = logging.getLogger(__name__)

TASKS = {JobKind.VALIDATION: "registry.run_validation", JobKind.BENCHMARK: "registry.run_benchmark"}


def queue_for(kind: str, device: str) -> str:
    """Validation runs on CPU workers; a benchmark waits in its device's queue: cpu, gpu or gpu.<class>."""
    return devices.queue_for(device) if kind == JobKind.BENCHMARK else devices.CPU


def _checked(
    actor, version: ModelVersion, kind: str, dataset: Dataset | None, device: str, raw: dict[str, Any], scheduled: bool
) -> tuple[Dataset | None, str, dict[str, Any]]:
    """(dataset, device, parameters) of a job the actor may start, or the refusal."""
    model = version.model
    if kind == JobKind.VALIDATION:
        if not scheduled:
            permissions.require_run_validation(actor, model)
        if dataset is None:
            raise ApplicationError("Choose the dataset to validate on.", field="dataset")
        if dataset.model_id != model.pk:
            raise ApplicationError(f"Dataset {dataset.name} belongs to another model.", field="dataset")
        return dataset, devices.CPU, validation_parameters(raw, version)
    if kind == JobKind.BENCHMARK:
        if not scheduled:
            permissions.require_run_benchmark(actor, model)
        params = benchmark_parameters(raw, version.signature)
        fits_tensor_budget(version, params["batch_sizes"], params["dims"])
        try:
            device = devices.check_device(device)
        except ValueError as exc:
            raise ApplicationError(str(exc), field="device") from None
        return None, device, params
    raise ApplicationError(f"Unknown job kind {kind!r}.", field="kind")


def job_create(
    *,
    actor: AbstractBaseUser,
    version: ModelVersion,
    kind: str,
    dataset: Dataset | None = None,
    device: str = devices.CPU,
    parameters: dict[str, Any] | None = None,
    scheduled: bool = False,
    dispatch: bool = True,
) -> Job:
    """Create the Job row and send its task once the transaction commits. ``scheduled`` jobs are started by
    Gatehouse itself (revalidation), by the scheduler account, which has no role to check. ``dispatch=False``
    leaves the job for the caller to run in-process (the demo's history, played at past times)."""
    dataset, device, params = _checked(actor, version, kind, dataset, device, parameters or {}, scheduled)
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            version=version,
            dataset=dataset,
            artifact_sha256=version.sha256,
            parameters=params,
            device=device,
            queue=queue_for(kind, device),
            requested_by=actor,
            message="Waiting for a worker",
        )
        audit_event_record(
            actor=actor,
            action=JOB_CREATED_ACTION[kind],
            obj=job,
            after={
                "version": str(version),
                "dataset": dataset.name if dataset else None,
                "device": device,
                "queue": job.queue,
                "parameters": params,
            },
        )
        if dispatch:
            transaction.on_commit(lambda: job_dispatch(job_id=job.pk))
    return job


def job_dispatch(*, job_id: int) -> bool:
    """Send a queued job's task to the broker. If the broker is down the job stays queued with the reason,
    and the reaper sends it again later."""
    job = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).first()
    if job is None:
        return False
    task_id = uuid.uuid4().hex
    try:
        # A connection of its own, from the configured URL, so a broker that was down is found again.
        with current_app.connection_for_write() as conn:
            current_app.send_task(
                TASKS[job.kind],
                args=[job.pk],
                queue=job.queue,
                task_id=task_id,
                connection=conn,
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
            )
    except Exception as exc:  # kombu/redis connection errors: the broker is unreachable
        logger.warning("job %s: broker unreachable: %s", job_id, exc)
        Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            dispatched_at=timezone.now(),
            dispatches=F("dispatches") + 1,
            celery_task_id="",
            message=f"Waiting for the broker (unreachable: {str(exc)[:150]}); it will be sent again.",
        )
        return False
    Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        celery_task_id=task_id,
        dispatched_at=timezone.now(),
        dispatches=F("dispatches") + 1,
        message=f"Waiting for a worker on queue '{job.queue}'",
    )
    return True


@transaction.atomic
def job_cancel(*, actor: AbstractBaseUser, job: Job) -> Job:
    job = Job.objects.select_for_update().get(pk=job.pk)
    permissions.require_cancel_job(actor, job)
    if job.finished:
        raise ApplicationError(f"The job already ended ({job.get_status_display().lower()}).")
    before = {"status": job.status}
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.CANCELLED
        job.finished_at = timezone.now()
        job.message = f"Cancelled by {actor.get_username()} before it started"
        if job.celery_task_id:
            transaction.on_commit(lambda: _revoke(job.celery_task_id))
    else:
        job.cancel_requested = True  # the runner sees it at its next heartbeat and stops
        job.message = f"Cancelling (asked by {actor.get_username()})…"
    job.save()
    audit_event_record(
        actor=actor,
        action=AuditAction.JOB_CANCELLED,
        obj=job,
        before=before,
        after={"status": job.status, "cancel_requested": job.cancel_requested},
    )
    return job


def _revoke(task_id: str) -> None:
    try:
        current_app.control.revoke(task_id)
    except Exception:  # the row already says cancelled; the runner skips cancelled jobs anyway
        logger.warning("could not revoke task %s", task_id)


def reap_stale_jobs(*, now=None) -> dict[str, int]:
    """Beat task body: re-send jobs the broker never got; fail running jobs whose worker went silent."""
    now = now or timezone.now()
    resent = 0
    redispatch_before = now - timezone.timedelta(seconds=settings.GATEHOUSE_JOB_REDISPATCH_AFTER_S)
    # Re-send only what the broker never got (the last send failed), or what has waited very long (a message
    # lost with a worker): a job queued behind busy workers is not duplicated every run.
    lost_before = now - timezone.timedelta(seconds=settings.GATEHOUSE_JOB_REDISPATCH_AFTER_S * 15)
    waiting = Job.objects.filter(status=JobStatus.QUEUED, started_at__isnull=True).filter(
        Q(celery_task_id="", dispatched_at__lt=redispatch_before) | Q(dispatched_at__lt=lost_before)
    )
    fleet = fleet_now()
    for job_id, queue, task_id in waiting.values_list("pk", "queue", "celery_task_id")[:500]:
        if task_id and not fleet.serves(queue):
            continue  # not lost: no online worker consumes its queue yet (gpu.h100, say), and it waits there
        resent += job_dispatch(job_id=job_id)
    never_sent = Job.objects.filter(
        status=JobStatus.QUEUED, dispatched_at__isnull=True, created_at__lt=redispatch_before
    )
    for job_id in never_sent.values_list("pk", flat=True)[:500]:
        resent += job_dispatch(job_id=job_id)

    failed = 0
    stale_before = now - timezone.timedelta(seconds=settings.GATEHOUSE_JOB_STALE_AFTER_S)
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before)[:500]:
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if locked.status != JobStatus.RUNNING or locked.heartbeat_at >= stale_before:
                continue
            locked.status = JobStatus.ERROR
            locked.finished_at = now
            limit = (
                settings.GATEHOUSE_VALIDATION_TIME_LIMIT_S
                if locked.kind == "validation"
                else settings.GATEHOUSE_BENCHMARK_TIME_LIMIT_S
            ) + 60
            overran = locked.started_at and (now - locked.started_at).total_seconds() >= limit
            locked.error = (
                (
                    f"The job ran past its hard time limit ({limit} s) on {locked.worker} and was stopped during "
                    f"attempt {locked.attempts}. Give it fewer rows or a shorter measured phase, or raise the limit."
                )
                if overran
                else (
                    f"The worker {locked.worker or '(unknown)'} stopped sending heartbeats at "
                    f"{locked.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC during attempt {locked.attempts}: it was stopped or "
                    "killed (kill -9, an out-of-memory kill, a lost node). Nothing it computed was kept. "
                    "Start the job again."
                )
            )
            locked.message = "Worker lost"
            locked.log += f"\n[{now:%H:%M:%S}] {locked.error}"
            locked.save()
            audit_event_record(
                actor=None,
                action=AuditAction.JOB_ERROR,
                obj=locked,
                before={"status": JobStatus.RUNNING},
                after={"status": locked.status, "reason": "worker lost"},
            )
            failed += 1
    return {"resent": resent, "failed": failed}
