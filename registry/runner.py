"""Runs a job on a worker: claims the row, keeps a heartbeat, reports progress and the log, records the
environment and the result. Called by the Celery tasks in registry.tasks with the job id only."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from fleet.devices import ANY_GPU, CPU, describe
from fleet.services import worker_job
from portal.core.services import audit_event_record
from registry import cache, signals
from registry.artifacts import local_path
from registry.choices import JOB_ENDED_ACTION, AuditAction, JobKind, JobStatus, Verdict
from registry.evidence import environment, load_runtime
from registry.evidence.benchmark import BenchmarkParams, run_benchmark, slo_verdict
from registry.evidence.limits import memory_limit
from registry.evidence.validation import ValidationInput, ValidationStopped, validate
from registry.models import Job, ModelVersion
from registry.services.integrity import version_integrity_failed

logger = logging.getLogger(__name__)
LOG_LIMIT = 100_000  # characters of log kept on the row (the tail)


class _Reporter:
    """Progress, log and heartbeat for one running job. Writes are conditional on the job still running."""

    def __init__(self, job: Job):
        self.job_id = job.pk
        self.attempt = job.attempts  # every write is conditional on still being this attempt
        self.lines: list[str] = [job.log] if job.log else []
        self.cancel = threading.Event()
        self._last_write = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{job.pk}-heartbeat", daemon=True)

    def __enter__(self) -> _Reporter:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.GATEHOUSE_JOB_HEARTBEAT_S):
                try:
                    alive = self._mine().update(heartbeat_at=timezone.now())
                    if not alive or Job.objects.filter(pk=self.job_id, cancel_requested=True).exists():
                        # Cancelled, or the reaper ended this attempt: stop using the worker.
                        self.cancel.set()
                except Exception:  # a database hiccup must not silence the heartbeat for good
                    logger.exception("job %s: heartbeat failed; trying again", self.job_id)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def _mine(self):
        return Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING, attempts=self.attempt)

    def log(self, message: str) -> None:
        line = f"[{timezone.now():%H:%M:%S}] {message}"
        logger.info("job %s: %s", self.job_id, message)
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines)[-LOG_LIMIT:]

    def progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - self._last_write < 0.5 and fraction < 1:
            return
        self._last_write = now
        self._mine().update(
            progress=max(0, min(100, int(fraction * 100))),
            message=message[:300],
            heartbeat_at=timezone.now(),
            log=self.text(),
        )

    def should_stop(self) -> bool:
        return self.cancel.is_set()


def _claim(job_id: int, task_id: str | None, hostname: str) -> Job | None:
    """Take the job for this attempt, or return None when another attempt owns it or it has ended."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        note = ""
        if job.status == JobStatus.RUNNING:
            stale = (
                job.heartbeat_at is None
                or (timezone.now() - job.heartbeat_at).total_seconds() > settings.GATEHOUSE_JOB_STALE_AFTER_S
            )
            if job.celery_task_id != task_id and not stale:
                return None  # a duplicate message while another worker is on it
            note = f"Attempt {job.attempts} on {job.worker} was lost (its worker process died); running again."
        if job.attempts >= settings.GATEHOUSE_JOB_MAX_ATTEMPTS:
            job.status = JobStatus.ERROR
            job.finished_at = timezone.now()
            job.error = (
                f"The job's worker was lost {job.attempts} times (last on {job.worker}); it was not "
                "tried again. Check the worker's memory and logs, then start the job again."
            )
            job.save()
            audit_event_record(actor=None, action=AuditAction.JOB_ERROR, obj=job, after={"status": job.status})
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.worker = hostname
        job.celery_task_id = task_id or job.celery_task_id
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.progress = 0
        job.message = "Starting"
        if note:
            job.log += f"\n[{timezone.now():%H:%M:%S}] {note}"
        job.save()
    return job


def run_job(job_id: int, *, task_id: str | None = None, hostname: str | None = None) -> str | None:
    hostname = hostname or socket.gethostname()
    job = _claim(job_id, task_id, hostname)
    if job is None:
        logger.info("job %s: nothing to do (ended, or owned by another attempt)", job_id)
        return None
    worker_job(name=hostname, job_id=job.pk)  # the Workers page shows what each worker runs
    try:
        return _run_claimed(job, hostname)
    finally:
        worker_job(name=hostname, job_id=None, ending=job.pk)


def _run_claimed(job: Job, hostname: str) -> str:
    with _Reporter(job) as reporter:
        reporter.log(f"Attempt {job.attempts} on {hostname}")
        env = environment.capture()
        reporter._mine().update(environment=env)
        status, verdict, result, error = JobStatus.ERROR, "", None, ""
        try:
            version = ModelVersion.objects.select_related("model").get(pk=job.version_id)
            if version.integrity_error:  # nothing runs on bytes known not to be the ones registered
                raise cache.CorruptArtifact.known(version.integrity_error)
            runner: Callable = _run_validation if job.kind == JobKind.VALIDATION else _run_benchmark
            result = runner(job, version, reporter, env)
            verdict = result.get("verdict") or ""
            status = JobStatus.SUCCEEDED
        except ValidationStopped as exc:
            status, error = JobStatus.FAILED, exc.message
            result = {"verdict": Verdict.FAILED, "checks": [c.__dict__ for c in exc.checks]}
            verdict = Verdict.FAILED
        except InterruptedError:
            status, error = JobStatus.CANCELLED, "Cancelled while running."
        except cache.CorruptArtifact as exc:
            status, error = JobStatus.FAILED, str(exc)
            version_integrity_failed(version_id=job.version_id, reason=str(exc))
        except MemoryError:
            status, error = (
                JobStatus.FAILED,
                (
                    "The model ran out of memory: its run needed more than the "
                    f"{settings.GATEHOUSE_JOB_MEMORY_MB:,} MB a job may use (GATEHOUSE_JOB_MEMORY_MB). Benchmark "
                    "smaller batches or validate in smaller batches of rows."
                ),
            )
        except Exception as exc:
            if isinstance(exc, SoftTimeLimitExceeded):
                error = "The job ran past its time limit and was stopped."
            elif isinstance(exc, ValueError | FileNotFoundError):
                status, error = JobStatus.FAILED, str(exc)
            else:
                logger.exception("job %s failed", job.pk)
                error = f"Unexpected error on the worker: {type(exc).__name__}: {exc}"
        reporter.log(f"Finished: {status}{f' ({verdict})' if verdict else ''}{f' — {error}' if error else ''}")
        _finish(
            job.pk, reporter.attempt, status=status, verdict=verdict, result=result, error=error, log=reporter.text()
        )
    return status


def _finish(job_id: int, attempt: int, *, status: str, verdict: str, result, error: str, log: str) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.finished or job.attempts != attempt:  # the reaper or a later attempt owns the record now
            return
        job.status = status
        job.verdict = verdict if verdict in Verdict.values else ""
        job.result = result
        job.error = error
        job.log = log
        job.progress = 100 if status == JobStatus.SUCCEEDED else job.progress
        job.message = {JobStatus.SUCCEEDED: f"Done: {verdict or 'no verdict'}", JobStatus.CANCELLED: "Cancelled"}.get(
            status, (error or status)[:300]
        )
        job.finished_at = timezone.now()
        runtime = (result or {}).get("runtime") or {}
        job.device_class = runtime.get("device_class") or (CPU if job.kind == JobKind.VALIDATION else "")
        job.gpu_uuid = runtime.get("gpu_uuid") or ""
        job.save()
        audit_event_record(
            actor=None,
            action=JOB_ENDED_ACTION[status],
            obj=job,
            before={"status": JobStatus.RUNNING},
            after={"status": status, "verdict": job.verdict},
        )
        if status == JobStatus.SUCCEEDED:
            # New evidence: a request waiting for it may now be applied (approvals listens).
            transaction.on_commit(
                lambda: signals.version_evidence_recorded.send(
                    sender=Job, version_id=job.version_id, job_id=job.pk, kind=job.kind
                )
            )


@contextmanager
def _artifact(version: ModelVersion, reporter: _Reporter, env: dict):
    """The version's files from this node's cache (fetched and verified on a miss); the job records which."""
    with cache.version_files(version) as cached:
        env["artifact_cache"] = {
            "hit": cached.hit,
            "fetched_bytes": cached.fetched_bytes,
            "seconds": round(cached.seconds, 3),
            "files": len(version.files),
        }
        reporter._mine().update(environment=env)
        reporter.log(
            f"Artifact {version.sha256[:12]}… ({len(version.files)} file{'s' * (len(version.files) != 1)}): "
            + ("from this node's cache" if cached.hit else f"fetched and verified, {cached.fetched_bytes:,} bytes")
        )
        yield cached.model_path


def _champion(version: ModelVersion, dataset_id: int) -> dict | None:
    """Metrics of the production version's latest passed validation on the same dataset."""
    production = ModelVersion.objects.production_other_than(version)
    if production is None:
        return None
    job = (
        Job.objects.filter(version=production, dataset_id=dataset_id)
        .evidence(JobKind.VALIDATION)
        .order_by("-finished_at")
        .first()
    )
    if job is None or not job.result:
        return {"version": production.number, "metrics": {}, "signature": production.signature, "missing": True}
    return {"version": production.number, "metrics": job.result.get("metrics", {}), "signature": production.signature}


def _run_validation(job: Job, version: ModelVersion, reporter: _Reporter, env: dict) -> dict:
    dataset = job.dataset
    params = job.parameters
    champion = _champion(version, dataset.pk)
    production_signature = champion["signature"] if champion else None
    if champion and champion.get("missing"):
        reporter.log(
            f"Production v{champion['version']} has no passed validation on this dataset; non-inferiority is skipped."
        )
        champion = None
    reporter.log(f"Validating {version} on {dataset.name} ({dataset.row_count:,} rows)")
    with _artifact(version, reporter, env) as artifact, local_path(dataset.file.name) as data:
        spec = ValidationInput(
            artifact_path=artifact,
            expected_sha256=job.artifact_sha256,
            dataset_path=data,
            dataset_format=dataset.format,
            dataset_rows=dataset.row_count,
            label_column=dataset.label_column,
            task_type=version.model.task_type,
            floors=params.get("floors", {}),
            champion=champion,
            production_signature=production_signature,
            margin=params.get("margin", 0.01),
            batch_rows=params.get("batch_rows", 50_000),
            files=[{k: f[k] for k in ("path", "size", "sha256")} for f in version.files],
        )
        with memory_limit(settings.GATEHOUSE_JOB_MEMORY_MB):  # validation runs on the CPU: always bounded
            result = validate(
                spec,
                lambda path: load_runtime(path, device="cpu"),
                progress=reporter.progress,
                should_stop=reporter.should_stop,
            )
    for check in result["checks"]:
        reporter.log(f"{check['verdict'].upper():5} {check['name']}: {check['message']}")
    result["dataset"] = {"id": dataset.pk, "name": dataset.name, "sha256": dataset.sha256}
    return result


def _run_benchmark(job: Job, version: ModelVersion, reporter: _Reporter, env: dict) -> dict:
    params = BenchmarkParams(**{k: v for k, v in job.parameters.items() if k in BenchmarkParams.__dataclass_fields__})
    dims = "".join(f", {name} {values}" for name, values in params.dims.items())
    reporter.log(f"Benchmarking {version} for {describe(job.device)}, batch sizes {params.batch_sizes}{dims}")
    # CUDA's device 0 is the first card CUDA_VISIBLE_DEVICES shows this worker: the one the run uses, sampled
    # by its NVML index and recorded by its UUID.
    gpus = (env.get("nvml") or {}).get("gpus") or []
    card = gpus[0] if gpus else None
    with _artifact(version, reporter, env) as artifact:
        runtime = load_runtime(
            artifact,
            fmt=version.format,
            device=CPU if job.device == CPU else ANY_GPU,
            tensorrt=params.tensorrt,
            engine_cache_dir=settings.GATEHOUSE_TRT_ENGINE_CACHE_DIR,
        )
        info = runtime.info
        reporter.log(f"Runtime {info.runtime} {info.runtime_version}, provider {info.provider}")
        if info.fell_back_to_cpu:
            reporter.log("No GPU execution provider is available on this worker: the benchmark ran on the CPU.")
        # On the CPU the run is held to a memory budget: a model whose tensors do not fit fails its job. (A GPU
        # runtime maps far more address space than it uses, so there the signature's estimate is the bound.)
        bounded = memory_limit(settings.GATEHOUSE_JOB_MEMORY_MB) if info.device == "cpu" else nullcontext()
        with bounded:
            result = run_benchmark(
                runtime,
                params,
                progress=reporter.progress,
                should_stop=reporter.should_stop,
                gpu_index=card["index"] if card else None,
            )
    on_gpu = info.device == ANY_GPU
    result["runtime"]["device_class"] = (env.get("device_class") or (card or {}).get("class", "")) if on_gpu else CPU
    result["runtime"]["gpu_uuid"] = (card or {}).get("uuid", "") if on_gpu else ""
    if info.device == ANY_GPU:
        reporter.log(f"Ran on {card['name']} {card['uuid']}" if card else "Ran on a GPU NVML did not show")
    model = version.model
    slo = slo_verdict(result, p99_ms=model.slo_p99_latency_ms, min_throughput=model.slo_min_throughput)
    device_check = _device_check(job.device, result["runtime"], info.provider)
    if device_check:
        slo["checks"].insert(0, device_check)
        slo["passed"] = False
    result["slo"] = slo
    result["verdict"] = {True: Verdict.PASSED, False: Verdict.FAILED, None: ""}[slo["passed"]]
    for r in result["results"]:
        reporter.log(
            f"batch {r['batch_size']}: {r['throughput_samples_s']:.1f} samples/s, "
            f"p99 {r['latency_ms']['p99']:.3f} ms, {'stable' if r['stability']['stable'] else 'UNSTABLE'}"
        )
    return result


def _device_check(asked: str, runtime: dict, provider: str) -> dict | None:
    """The failed device check, when the run did not happen where it was asked to: GPU evidence never comes from
    a CPU run, and a class's from a card of that class, whichever queue delivered the job."""
    if asked != CPU and runtime["fell_back_to_cpu"]:
        return {
            "name": "device",
            "target": "GPU" if asked == ANY_GPU else asked.upper(),
            "actual": f"CPU ({provider})",
            "passed": False,
            "message": "No GPU execution provider on the worker.",
        }
    if asked not in (CPU, ANY_GPU) and runtime["device_class"] != asked:
        return {
            "name": "device",
            "target": asked.upper(),
            "actual": (runtime["device_class"] or "a card of no known class").upper(),
            "passed": False,
            "message": f"The benchmark asked for {describe(asked)} and ran on another class of card.",
        }
    return None
