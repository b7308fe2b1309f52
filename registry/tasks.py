"""Celery tasks: thin. They take a job id, and the runner does the rest (registry.runner)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

from registry.services import monitoring
from registry.services.integrity import artifacts_scrub as scrub
from registry.services.jobs import reap_stale_jobs


def _limits(seconds: int) -> dict:
    return {"soft_time_limit": seconds, "time_limit": seconds + 60}


@shared_task(
    name="registry.run_validation",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    **_limits(settings.GATEHOUSE_VALIDATION_TIME_LIMIT_S),
)
def run_validation(self, job_id: int) -> str | None:
    return _run(self, job_id)


@shared_task(
    name="registry.run_benchmark",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    **_limits(settings.GATEHOUSE_BENCHMARK_TIME_LIMIT_S),
)
def run_benchmark(self, job_id: int) -> str | None:
    return _run(self, job_id)


def _run(task, job_id: int) -> str | None:
    # The runner's imports (onnxruntime, scikit-learn, pandas) load in the worker only, not in every process
    # that sends a task.
    from registry.runner import run_job  # noqa: PLC0415

    close_old_connections()  # a long-lived worker must not reuse a connection the database dropped
    try:
        return run_job(job_id, task_id=task.request.id, hostname=task.request.hostname)
    finally:
        close_old_connections()


@shared_task(name="registry.jobs_reap")
def jobs_reap() -> dict:
    return reap_stale_jobs()


@shared_task(name="registry.revalidations_start")
def revalidations_start() -> list[int]:
    return [job.pk for job in monitoring.revalidations_start()]


@shared_task(name="registry.artifacts_scrub")
def artifacts_scrub() -> dict:
    return scrub()
