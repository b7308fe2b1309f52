"""Policies route benchmark evidence to a class of device: the request page's button asks for it, the queue
says when nobody can run it, a policy names only devices that exist, and the diff compares like with like."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals import services
from approvals.diff import against_production
from approvals.models import Policy
from fleet.services import worker_stopped
from registry.choices import JobKind, Stage
from registry.models import Job, ModelVersion
from tests.factories import JUSTIFICATION as WHY
from tests.factories import evidence, version_create
from tests.fleet.reports import H100, report_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def needs_h100(world):
    """Promotion to production of a high-risk model needs an H100 benchmark; the version's request is open."""
    model, version = world
    policy = Policy.objects.get(transition="test->production", risk_tier="high")
    policy.evidence = {**policy.evidence, "benchmark": True, "benchmark_device": "h100"}
    policy.save()
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    version.refresh_from_db()
    evidence(version, JobKind.VALIDATION)
    request = services.promotion_request_open(
        actor=version.created_by, version=version, action="promote", justification=WHY
    )
    return version, request


def test_the_missing_benchmark_button_asks_for_the_policys_class_and_the_job_says_it_waits(client, users, needs_h100):
    version, request = needs_h100
    client.force_login(users["scientist"])
    page = client.get(f"/approvals/requests/{request.pk}/").content.decode()
    assert '<option value="h100" selected>H100 — no worker of this class is online; the job would wait</option>' in page
    report_in("gpu0@node-1", queues=("gpu",), device_class="h100", gpus=[H100])
    page = client.get(f"/approvals/requests/{request.pk}/").content.decode()
    assert '<option value="h100" selected>H100 (1 online)</option>' in page
    worker_stopped(name="gpu0@node-1")
    response = client.post(
        f"/models/churn/versions/{version.number}/jobs/benchmark/",
        {"device": "h100", "batch_sizes": "1", "min_seconds": "3", "min_iterations": "100", "warmup_ms": "200"},
        follow=True,
    )
    job = Job.objects.get(kind="benchmark")
    assert job.device == "h100" and job.queue == "gpu.h100"
    assert "No worker of class h100 is online (none consumes queue gpu.h100)" in response.content.decode()


def test_the_queue_shows_a_request_whose_class_has_no_worker_online(client, users, needs_h100):
    client.force_login(users["itops"])
    assert "no H100 worker online" in client.get("/approvals/").content.decode()
    report_in("gpu0@node-1", queues=("gpu",), device_class="h100", gpus=[H100])
    assert "no H100 worker online" not in client.get("/approvals/").content.decode()


def test_a_policy_names_a_device_gatehouse_can_route_to():
    policy = Policy.objects.get(transition="test->production", risk_tier="high")
    policy.evidence = {**policy.evidence, "benchmark_device": "H100 please"}
    with pytest.raises(ValidationError, match="benchmark_device: Device 'h100 please' is not one Gatehouse knows"):
        services.policy_save(actor=None, policy=policy)
    policy.evidence["benchmark_device"] = "l40s"
    services.policy_save(actor=None, policy=policy)


def test_the_diff_compares_benchmarks_on_the_same_class(users, world):
    model, production = world
    ModelVersion.objects.filter(pk=production.pk).update(stage=Stage.PRODUCTION)
    candidate = version_create(model, users["scientist"])
    (on_l4,) = evidence(production, JobKind.BENCHMARK)
    Job.objects.filter(pk=on_l4.pk).update(device_class="l4")
    (on_h100,) = evidence(candidate, JobKind.BENCHMARK)
    Job.objects.filter(pk=on_h100.pk).update(device_class="h100")
    diff = against_production(candidate)
    assert diff["performance"] == [] and diff["production_benchmarked_elsewhere"]
    (also_h100,) = evidence(production, JobKind.BENCHMARK)
    Job.objects.filter(pk=also_h100.pk).update(device_class="h100")
    diff = against_production(candidate)
    assert diff["device_class"] == "h100" and diff["performance"] and not diff["production_benchmarked_elsewhere"]
