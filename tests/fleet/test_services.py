"""Heartbeats stored, the fleet's view of who is online, and what a queued job is told."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fleet.models import Worker
from fleet.selectors import fleet_now
from fleet.services import worker_heartbeat, worker_job, worker_stopped
from portal.core.models import AuditEvent
from tests.fleet.reports import H100, report_in

pytestmark = pytest.mark.django_db


def test_a_worker_joins_once_and_then_only_reports(settings):
    report_in("cpu1@node-1")
    report_in("cpu1@node-1", starting=False)
    worker = Worker.objects.get()
    assert worker.is_online and worker.queues == ["cpu"]
    assert AuditEvent.objects.filter(action="fleet.worker.joined").count() == 1


def test_a_silent_worker_reads_offline_after_the_threshold_and_its_row_stays(settings):
    settings.GATEHOUSE_WORKER_OFFLINE_AFTER_S = 30
    then = timezone.now() - dt.timedelta(seconds=31)
    worker_heartbeat(name="gpu0@node-2", report={"queues": ["gpu"], "device_class": "h100"}, starting=True, now=then)
    worker = Worker.objects.get()
    assert not worker.is_online and worker.offline_since == then
    assert fleet_now().online == []


def test_a_worker_that_stops_cleanly_is_offline_at_once_and_a_restart_brings_it_back():
    report_in("gpu0@node-2", queues=("gpu",), device_class="h100", gpus=[H100])
    worker_job(name="gpu0@node-2", job_id=41)
    worker_stopped(name="gpu0@node-2")
    worker = Worker.objects.get()
    assert not worker.is_online and worker.stopped_at and worker.current_job_id is None
    report_in("gpu0@node-2", queues=("gpu",), device_class="h100", gpus=[H100])
    assert Worker.objects.get().is_online


def test_the_job_a_worker_runs_is_cleared_only_by_that_job():
    report_in("cpu1@node-1")
    worker_job(name="cpu1@node-1", job_id=7)
    worker_job(name="cpu1@node-1", job_id=None, ending=6)  # a late end of an earlier attempt
    assert Worker.objects.get().current_job_id == 7
    worker_job(name="cpu1@node-1", job_id=None, ending=7)
    assert Worker.objects.get().current_job_id is None


def test_the_waiting_message_names_what_is_missing():
    report_in("cpu1@node-1")
    report_in("gpu0@node-2", queues=("gpu",), device_class="h100", gpus=[H100])
    fleet = fleet_now()
    assert fleet.gpu_online and set(fleet.classes) == {"h100"}
    assert fleet.waiting_reason("h100", "gpu.h100") == "" and fleet.waiting_reason("gpu", "gpu") == ""
    assert fleet.waiting_reason("a100", "gpu.a100") == (
        "No worker of class a100 is online (none consumes queue gpu.a100); the job waits until one starts."
    )
