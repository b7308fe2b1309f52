"""The Workers page and GET /api/v1/workers/: what IT reads, for every role, in queries that do not grow
with the fleet (200 workers), and the fleet in /metrics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fleet.services import worker_heartbeat, worker_job
from registry.choices import JobStatus
from tests.factories import JobFactory, RegisteredModelFactory, version_create
from tests.fleet.reports import H100, report_in
from tests.support import PERMISSIONS, ROLES, SESSION, api_auth, query_budget

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(users, team):
    """An H100 worker running a job, a CPU worker, one that went silent, and a job waiting for an A100."""
    version = version_create(RegisteredModelFactory(name="lin", team=team), users["scientist"])
    report_in("gpu0@node-1", queues=("gpu",), device_class="h100", gpus=[H100])
    report_in("cpu1@node-2")
    worker_heartbeat(
        name="gpu1@node-3",
        report={"queues": ["gpu", "gpu.l4"], "device_class": "l4"},
        starting=True,
        now=timezone.now() - dt.timedelta(hours=2),
    )
    running = JobFactory(version=version, kind="benchmark", status=JobStatus.RUNNING, worker="gpu0@node-1")
    worker_job(name="gpu0@node-1", job_id=running.pk)
    for _ in range(3):
        JobFactory(version=version, worker="cpu1@node-2", status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    JobFactory(version=version, kind="benchmark", device="a100", queue="gpu.a100", status=JobStatus.QUEUED)
    return running


@pytest.mark.parametrize("role", ["scientist", "outsider", "itops", "reviewer", "manager"])
def test_everyone_signed_in_reads_the_workers_page(client, users, fleet, role):
    client.force_login(users[role])
    page = client.get("/workers/").content.decode()
    assert 'data-worker="gpu0@node-1"' in page and "NVIDIA H100 80GB HBM3" in page
    assert "went silent" in page  # gpu1@node-3, kept and shown offline
    assert "No GPU: NVML could not start: Driver Not Loaded" in page  # cpu1@node-2 says why it has none
    assert f"Benchmark #{fleet.pk}" in page  # what the H100 runs now
    assert "<strong>A100</strong> workers online" in page and "1 queued" in page  # waiting, nobody to run it


def test_signed_out_people_are_sent_to_sign_in(client, fleet):
    assert client.get("/workers/").status_code == 302
    assert client.get("/api/v1/workers/").status_code in (401, 403)


def test_the_api_lists_the_fleet_and_filters_it(api, users, fleet):
    api.force_authenticate(users["manager"])
    rows = {w["name"]: w for w in api.get("/api/v1/workers/").json()["results"]}
    assert rows["gpu0@node-1"]["online"] and rows["gpu0@node-1"]["gpus"][0]["uuid"] == H100["uuid"]
    assert rows["gpu0@node-1"]["current_job"].endswith(f"/api/v1/jobs/{fleet.pk}/")
    assert rows["cpu1@node-2"]["jobs_finished_24h"] == 3
    assert not rows["gpu1@node-3"]["online"] and rows["gpu1@node-3"]["offline_since"]
    online = api.get("/api/v1/workers/?online=true").json()["results"]
    assert {w["name"] for w in online} == {"gpu0@node-1", "cpu1@node-2"}
    assert [w["name"] for w in api.get("/api/v1/workers/?device_class=h100").json()["results"]] == ["gpu0@node-1"]
    assert api.get("/api/v1/workers/?online=maybe").status_code == 400


def test_metrics_count_workers_online_per_device_and_every_watched_queue(client, fleet):
    text = client.get("/metrics").content.decode()
    assert 'gatehouse_workers_online{device="h100"} 1.0' in text
    assert 'gatehouse_workers_online{device="cpu"} 1.0' in text
    assert 'gatehouse_workers_online{device="a100"} 0.0' in text
    assert 'gatehouse_queue_depth{queue="gpu.h100"}' in text and 'gatehouse_queue_depth{queue="gpu.a100"}' in text


@pytest.fixture
def big_fleet(users, team):
    version = version_create(RegisteredModelFactory(name="lin", team=team), users["scientist"])
    for i in range(200):
        name = f"gpu{i % 8}@node-{i // 8}"
        report_in(name, queues=("gpu",), device_class="h100" if i % 2 else "l4", gpus=[H100])
        if i % 4 == 0:
            job = JobFactory(version=version, kind="benchmark", status=JobStatus.RUNNING, worker=name)
            worker_job(name=name, job_id=job.pk)
            JobFactory(version=version, worker=name, status=JobStatus.SUCCEEDED, finished_at=timezone.now())


def test_the_workers_page_costs_the_same_at_200_workers(client, users, big_fleet):
    client.force_login(users["itops"])
    with query_budget(
        *SESSION[:2],
        ("the workers online (summary, routing)", "fleet_worker"),
        ("the page of workers", "fleet_worker"),
        ("jobs each finished in 24 hours", "registry_job"),
        ("the jobs they run now", "registry_job"),
        ("jobs queued per queue (summary)", "registry_job"),
        ("queues jobs wait in (broker depth)", "registry_job"),
        *PERMISSIONS,  # may the person open the jobs (the links)
        *ROLES,
        ("workers counted for the pager (the page was full, so it cannot tell)", "fleet_worker"),
    ):
        assert client.get("/workers/").status_code == 200


def test_the_workers_api_costs_the_same_at_200_workers(api, users, big_fleet):
    from rest_framework.authtoken.models import Token  # noqa: PLC0415 - only this test authenticates by token

    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['itops']).key}")
    with query_budget(
        api_auth()[0],  # the token; no model permission is asked (everyone signed in may read the fleet)
        ("workers counted for the pager", "fleet_worker"),
        ("the page of workers", "fleet_worker"),
        ("jobs each finished in 24 hours", "registry_job"),
    ):
        assert api.get("/api/v1/workers/").status_code == 200
