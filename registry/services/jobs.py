"""Writes for evidence jobs: create (row first, task after commit), dispatch, cancel, and the reaper.

The runner that executes a job on a worker is registry.runner; Celery tasks are in registry.tasks.
"""

from __future__ import annotations

import logging
import math
import re
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
from registry.evidence.benchmark import BenchmarkParams
from registry.evidence.limits import signature_bytes
from registry.evidence.scoring import metric_names
from registry.models import Dataset, Job, ModelVersion

logger = logging.getLogger(__name__)

BENCHMARK_KEYS = (
    "batch_sizes",
    "warmup_ms",
    "warmup_iterations",
    "min_iterations",
    "min_seconds",
    "max_seconds",
    "dims",
    "input_ranges",
    "tensorrt",
)
INTEGER_LIMITS = {"int8": 2**7, "uint8": 2**8, "int16": 2**15, "uint16": 2**16, "int32": 2**31, "uint32": 2**32}
VALIDATION_KEYS = ("floors", "margin", "batch_rows")
TASKS = {JobKind.VALIDATION: "registry.run_validation", JobKind.BENCHMARK: "registry.run_benchmark"}


def queue_for(kind: str, device: str) -> str:
    """Validation runs on CPU workers; a benchmark waits in its device's queue: cpu, gpu or gpu.<class>."""
    return devices.queue_for(device) if kind == JobKind.BENCHMARK else devices.CPU


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApplicationError(f"{name} must be a whole number, not {value!r}.", field="parameters")
    try:
        return int(value)
    except ValueError:
        raise ApplicationError(f"{name} must be a whole number, not {value!r}.", field="parameters") from None


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApplicationError(f"{name} must be a number, not {value!r}.", field="parameters")
    try:
        number = float(value)
    except ValueError:
        raise ApplicationError(f"{name} must be a number, not {value!r}.", field="parameters") from None
    if not math.isfinite(number):
        raise ApplicationError(f"{name} must be a finite number, not {value!r}.", field="parameters")
    return number


def _no_unknown_keys(raw: dict[str, Any], allowed: tuple[str, ...], kind: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ApplicationError(
            f"Unknown {kind} parameter(s) {', '.join(unknown)}; the parameters are {', '.join(allowed)}.",
            field="parameters",
        )


def parse_batch_sizes(value: Any) -> list[int]:
    """[1, 8, 32], or the text "1, 8, 32" / "1 8 32"."""
    parts = re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else value
    if not isinstance(parts, list | tuple):
        raise ApplicationError("batch_sizes is a list of whole numbers, e.g. [1, 8, 32].", field="parameters")
    return sorted({_whole("batch size", part) for part in parts if part != ""})


def floors_check(floors: Any, task_type: str) -> dict[str, float]:
    """Floors as {metric: finite number}, naming only metrics the task type's validation computes."""
    if not isinstance(floors, dict):
        raise ApplicationError(
            'Floors are an object of metric name to number, e.g. {"accuracy": 0.9}.', field="metric_floors"
        )
    known = metric_names(task_type)
    unknown = sorted(set(floors) - set(known))
    if unknown:
        raise ApplicationError(
            f"No metric named {', '.join(unknown)} for a {task_type} model; use {', '.join(known)}.",
            field="metric_floors",
        )
    return {str(name): _number(f"floor {name}", value) for name, value in floors.items()}


def _object(name: str, value: Any, example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApplicationError(f"{name} is a JSON object, e.g. {example}.", field="parameters")
    return value


def _dims(raw: Any, signature: dict[str, Any]) -> dict[str, list[int]]:
    """Sizes for the model's symbolic dimensions other than the batch, each list sorted (the last case of a
    batch is then the most demanding, which the SLO is judged at)."""
    dims = _object("dims", raw, '{"sequence": [128, 512]}')
    inputs = signature.get("inputs", [])
    batch_axes = {io["shape"][0] for io in inputs if io.get("shape") and isinstance(io["shape"][0], str)}
    symbolic = {d for io in inputs for d in (io.get("shape") or [])[1:] if isinstance(d, str)} - batch_axes
    for name in dims:
        if name not in symbolic:
            offered = ", ".join(sorted(symbolic)) or "none"
            raise ApplicationError(
                f"dims names {name!r}, which is not a symbolic dimension of this model's inputs other than the batch "
                f"(those are: {offered}).",
                field="parameters",
            )
    return {
        name: sorted({_whole(f"dims {name}", v) for v in values}) if isinstance(values, list) else values
        for name, values in dims.items()
    }


def _input_ranges(raw: Any, signature: dict[str, Any]) -> dict[str, list[int]]:
    ranges = _object("input_ranges", raw, '{"input_ids": [0, 30522]}')
    dtypes = {io["name"]: str(io.get("dtype")) for io in signature.get("inputs", [])}
    for name, bounds in ranges.items():
        dtype = dtypes.get(name)
        if dtype is None or not dtype.startswith(("int", "uint")):
            integer = ", ".join(n for n, d in dtypes.items() if d.startswith(("int", "uint"))) or "none"
            raise ApplicationError(
                f"input_ranges names {name!r}, which is not an integer input of this model (those are: {integer}).",
                field="parameters",
            )
        if isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, int) for b in bounds):
            top = INTEGER_LIMITS.get(dtype, 2**63)
            bottom = 0 if dtype.startswith("uint") else -top
            if bounds[0] < bottom or bounds[1] > top:
                raise ApplicationError(
                    f"input_ranges {name!r} must lie within {dtype} ([{bottom}, {top})).", field="parameters"
                )
    return ranges


def _benchmark_parameters(raw: dict[str, Any], signature: dict[str, Any]) -> dict[str, Any]:
    _no_unknown_keys(raw, BENCHMARK_KEYS, "benchmark")
    params = BenchmarkParams(
        batch_sizes=parse_batch_sizes(raw.get("batch_sizes", [1, 8, 32])),
        warmup_ms=_whole("warmup_ms", raw.get("warmup_ms", 200)),
        warmup_iterations=_whole("warmup_iterations", raw.get("warmup_iterations", 10)),
        min_iterations=_whole("min_iterations", raw.get("min_iterations", 100)),
        min_seconds=_number("min_seconds", raw.get("min_seconds", 3.0)),
        max_seconds=_number("max_seconds", raw["max_seconds"]) if raw.get("max_seconds") is not None else None,
        dims=_dims(raw.get("dims") or {}, signature),
        input_ranges=_input_ranges(raw.get("input_ranges") or {}, signature),
        tensorrt=_object("tensorrt", raw.get("tensorrt") or {}, '{"fp16": true, "engine_cache": true}'),
    )
    try:
        params.validate()
    except ValueError as exc:
        raise ApplicationError(f"Benchmark: {exc}", field="parameters") from None
    return params.__dict__


def _validation_parameters(raw: dict[str, Any], version: ModelVersion) -> dict[str, Any]:
    _no_unknown_keys(raw, VALIDATION_KEYS, "validation")
    model = version.model
    floors = floors_check(raw.get("floors", model.metric_floors) or {}, model.task_type)
    margin = _number("margin", raw.get("margin", model.noninferiority_margin))
    if not 0 <= margin <= 1e6:
        raise ApplicationError("The non-inferiority margin is a number of at least 0.", field="parameters")
    batch_rows = _whole("batch_rows", raw.get("batch_rows", 50_000))
    if not 1_000 <= batch_rows <= 1_000_000:
        raise ApplicationError("batch_rows must be between 1000 and 1000000.", field="parameters")
    return {"floors": floors, "margin": margin, "batch_rows": batch_rows}


def _fits(version: ModelVersion, batch_sizes: list[int], dims: dict[str, list[int]] | None = None) -> None:
    """Refuse batch sizes whose inputs and outputs, by the version's signature at the largest dims, exceed
    the benchmark budget."""
    budget = settings.GATEHOUSE_BENCHMARK_MAX_TENSOR_MB * 1024 * 1024
    largest = {name: max(values) for name, values in (dims or {}).items()}

    def need_bytes(batch: int) -> int:
        return signature_bytes(version.signature, batch, largest)

    over = [b for b in batch_sizes if need_bytes(b) > budget]
    if not over:
        return
    fitting = next((b for b in range(min(over), 0, -1) if need_bytes(b) <= budget), 0)
    need = need_bytes(max(over)) / 2**20
    advice = f" Use batch sizes up to {fitting}." if fitting else " Even batch 1 does not fit."
    raise ApplicationError(
        f"At batch {max(over)} this model's inputs and outputs take {need:,.0f} MB by its signature; a benchmark "
        f"may use at most {settings.GATEHOUSE_BENCHMARK_MAX_TENSOR_MB:,} MB (GATEHOUSE_BENCHMARK_MAX_TENSOR_MB)."
        + advice,
        field="parameters",
    )


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
        return dataset, devices.CPU, _validation_parameters(raw, version)
    if kind == JobKind.BENCHMARK:
        if not scheduled:
            permissions.require_run_benchmark(actor, model)
        params = _benchmark_parameters(raw, version.signature)
        _fits(version, params["batch_sizes"], params["dims"])
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
