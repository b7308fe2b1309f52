"""Jobs through a real broker and a real Celery worker process."""

from __future__ import annotations

import contextlib
import signal
import time

import pytest
from django.core.files.base import ContentFile

from portal.celery import app
from registry import services
from registry.choices import JobStatus
from registry.models import Job
from registry.services import jobs as job_services
from tests.factories import RegisteredModelFactory, version_create
from tests.onnx_files import iris_classifier, onnx_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(job: Job, predicate, timeout: float = 60, reap=None) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if predicate(job):
            return job
        if reap:
            reap()
        time.sleep(0.3)
    raise AssertionError(f"job {job.pk} stayed {job.status} ({job.message}); log:\n{job.log[-2000:]}")


def _iris(scientist, team):
    model = RegisteredModelFactory(name="iris", team=team, task_type="multiclass")
    data, x, y = iris_classifier()
    version = version_create(model, scientist, data=data)
    rows = "\n".join(",".join(map(str, list(features) + [label])) for features, label in zip(x, y, strict=True))
    dataset = services.dataset_create(
        actor=scientist,
        model=model,
        name="all",
        label_column="y",
        file=ContentFile(f"a,b,c,d,y\n{rows}\n".encode(), name="iris.csv"),
    )
    return version, dataset


def test_a_validation_job_runs_on_the_worker(worker, scientist, team):
    version, dataset = _iris(scientist, team)
    job = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    job = _wait(job, lambda j: j.finished)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.verdict == "passed"
    assert job.worker.startswith("test-")
    assert job.celery_task_id and job.dispatches == 1
    assert job.result["metrics"]["accuracy"] > 0.9


def test_a_killed_worker_process_ends_the_job_with_the_reason_never_running(worker, scientist, team, settings):
    settings.GATEHOUSE_JOB_STALE_AFTER_S = 5
    model = RegisteredModelFactory(name="lin", team=team)
    version = version_create(model, scientist, data=onnx_bytes(n_features=64))
    job = job_services.job_create(
        actor=scientist,
        version=version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [1], "min_seconds": 8, "min_iterations": 10},
    )
    _wait(job, lambda j: j.status == JobStatus.RUNNING and j.progress > 10)
    worker.kill_pool_child()  # kill -9 of the process running the job
    job = _wait(job, lambda j: j.finished, timeout=90, reap=job_services.reap_stale_jobs)
    print(f"after kill -9 of the pool process: {job.status}, attempts {job.attempts}")
    if job.status == JobStatus.SUCCEEDED:  # the broker redelivered the task and a new process re-ran it
        assert job.attempts == 2
        assert "was lost (its worker process died); running again" in job.log
    else:  # the message was lost with the process: the reaper failed the job and says why
        assert job.status == JobStatus.ERROR
        assert "stopped sending heartbeats" in job.error


def test_the_whole_worker_killed_fails_the_job_with_the_reason(worker, scientist, team, settings):
    settings.GATEHOUSE_JOB_STALE_AFTER_S = 4
    model = RegisteredModelFactory(name="lin", team=team)
    version = version_create(model, scientist)
    job = job_services.job_create(
        actor=scientist,
        version=version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [1], "min_seconds": 30, "min_iterations": 10},
    )
    _wait(job, lambda j: j.status == JobStatus.RUNNING)
    worker.stop(signal.SIGKILL)
    job = _wait(job, lambda j: j.finished, timeout=30, reap=job_services.reap_stale_jobs)
    assert job.status == JobStatus.ERROR
    assert "stopped sending heartbeats" in job.error and "Start the job again" in job.error
    assert "Worker lost" in job.message


@contextlib.contextmanager
def _broker_down():
    """The web process's view of a broker that does not answer: nothing listens on port 1."""
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        yield
    finally:
        app.conf.broker_url = old


def test_a_job_submitted_while_the_broker_is_down_runs_once_it_is_back(worker, scientist, team, settings):
    settings.GATEHOUSE_JOB_REDISPATCH_AFTER_S = 0
    version, dataset = _iris(scientist, team)
    with _broker_down():
        job = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
        job.refresh_from_db()
        assert job.status == JobStatus.QUEUED
        assert job.message.startswith("Waiting for the broker")
        assert job.celery_task_id == ""
    assert job_services.reap_stale_jobs()["resent"] == 1
    job = _wait(job, lambda j: j.finished)
    assert job.status == JobStatus.SUCCEEDED and job.dispatches == 2


def test_cancel_a_running_job(worker, scientist, team):
    model = RegisteredModelFactory(name="lin", team=team)
    version = version_create(model, scientist)
    job = job_services.job_create(
        actor=scientist,
        version=version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [1], "min_seconds": 30, "min_iterations": 10},
    )
    _wait(job, lambda j: j.status == JobStatus.RUNNING and j.progress > 5)
    job_services.job_cancel(actor=scientist, job=job)
    job = _wait(job, lambda j: j.finished, timeout=20)
    assert job.status == JobStatus.CANCELLED
