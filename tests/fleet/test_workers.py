"""Real worker processes report in and are routed to by class: two CPU-only workers declared as two classes
(GATEHOUSE_DEVICE_CLASS, as on a node NVML cannot name), through the real broker."""

from __future__ import annotations

import signal
import time

import pytest

from fleet.models import Worker
from registry import selectors
from registry.choices import JobStatus
from registry.models import Job
from registry.services import jobs as job_services
from tests.factories import RegisteredModelFactory, version_create

pytestmark = pytest.mark.django_db(transaction=True)
QUICK = {"batch_sizes": [1], "min_seconds": 0.2, "min_iterations": 10, "warmup_ms": 0}


def _until(predicate, timeout: float = 60, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _online(name: str):
    return Worker.objects.online().filter(name=name).first()


def _finished(job: Job, timeout: float = 90) -> Job:
    def done():
        job.refresh_from_db()
        return job.finished

    _until(done, timeout, f"job {job.pk} ({job.message})")
    return job


def test_a_benchmark_for_a_class_runs_on_that_class_and_waits_for_one_nobody_serves(
    start_worker, scientist, team, settings
):
    settings.GATEHOUSE_WORKER_OFFLINE_AFTER_S = 4
    alpha = start_worker("alpha@test", queues="gpu", device_class="alpha", wait=False)
    beta = start_worker("beta@test", queues="gpu", device_class="beta", wait=False)
    alpha.wait_ready()
    beta.wait_ready()
    row = _until(lambda: _online("alpha@test"), what="alpha's heartbeat")
    assert row.queues == ["gpu", "gpu.alpha"] and row.device_class == "alpha" and row.declared_class
    assert _until(lambda: _online("beta@test"), what="beta's heartbeat").queues == ["gpu", "gpu.beta"]

    version = version_create(RegisteredModelFactory(name="lin", team=team), scientist)
    jobs = [
        job_services.job_create(actor=scientist, version=version, kind="benchmark", device=device, parameters=QUICK)
        for device in ("alpha", "beta", "alpha", "beta")
    ]
    for job in jobs:
        job = _finished(job)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.worker == f"{job.device}@test" and job.queue == f"gpu.{job.device}"  # never the other's
        # Honest about where it ran: these workers have no GPU, so the device check fails.
        assert job.device_class == "cpu" and job.result["runtime"]["fell_back_to_cpu"]
        assert job.verdict == "failed" and job.result["slo"]["checks"][0]["name"] == "device"

    gamma_job = job_services.job_create(
        actor=scientist, version=version, kind="benchmark", device="gamma", parameters=QUICK
    )
    assert selectors.job_waiting(gamma_job) == (
        "No worker of class gamma is online (none consumes queue gpu.gamma); the job waits until one starts."
    )
    time.sleep(2)
    gamma_job.refresh_from_db()
    assert gamma_job.status == JobStatus.QUEUED  # neither alpha nor beta took it
    start_worker("gamma@test", queues="gpu", device_class="gamma")
    gamma_job = _finished(gamma_job)
    assert gamma_job.status == JobStatus.SUCCEEDED and gamma_job.worker == "gamma@test"

    alpha.stop(signal.SIGKILL)  # no clean shutdown: the row goes silent
    killed = time.monotonic()
    _until(lambda: not _online("alpha@test"), timeout=10, what="alpha to read offline")
    assert time.monotonic() - killed <= settings.GATEHOUSE_WORKER_OFFLINE_AFTER_S + 2
    assert Worker.objects.get(name="alpha@test").stopped_at is None  # went silent, kept

    beta.stop()  # a clean stop says so at once
    assert Worker.objects.get(name="beta@test").stopped_at is not None


def test_the_running_job_shows_on_its_worker(start_worker, scientist, team):
    start_worker("cpu1@test", queues="cpu")
    version = version_create(RegisteredModelFactory(name="lin", team=team), scientist)
    job = job_services.job_create(
        actor=scientist, version=version, kind="benchmark", device="cpu", parameters={**QUICK, "min_seconds": 4}
    )
    running = _until(lambda: Worker.objects.filter(name="cpu1@test", current_job_id=job.pk).first(), what="the job")
    assert running.current_job_since is not None
    _finished(job)
    assert Worker.objects.get(name="cpu1@test").current_job_id is None
