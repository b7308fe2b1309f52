"""Job pages and API for each role; query counts on the lists."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import Policy
from registry.models import Job
from registry.runner import run_job
from registry.services import jobs as job_services
from tests.factories import RegisteredModelFactory, version_create
from tests.fleet.reports import H100, report_in

pytestmark = pytest.mark.django_db

ROLES = ["scientist", "outsider", "itops", "reviewer", "manager"]


@pytest.fixture
def finished_benchmark(users, team):
    model = RegisteredModelFactory(name="lin", team=team, owner=users["scientist"])
    version = version_create(model, users["scientist"])
    job = job_services.job_create(
        actor=users["scientist"],
        version=version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [1, 2], "min_seconds": 0.1, "min_iterations": 10},
    )
    run_job(job.pk)
    return job


def test_job_pages_for_every_role(client, users, finished_benchmark):
    job = finished_benchmark
    other = job_services.job_create(
        actor=users["scientist"],
        version=job.version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [1], "min_seconds": 0.1, "min_iterations": 10},
    )
    run_job(other.pk)
    for role in ROLES:
        client.force_login(users[role])
        for url in (
            "/jobs/",
            f"/jobs/{job.pk}/",
            f"/jobs/{job.pk}/progress/",
            f"/jobs/compare/?a={job.pk}&b={other.pk}",
        ):
            assert client.get(url).status_code == 200, (role, url)
    client.logout()
    assert client.get("/jobs/").status_code == 302


def test_the_job_page_shows_the_record(client, users, finished_benchmark):
    client.force_login(users["manager"])
    page = client.get(f"/jobs/{finished_benchmark.pk}/").content.decode()
    assert "CPUExecutionProvider" in page and "onnxruntime" in page
    assert 'id="bench-results"' in page and "plotly.min.js" in page
    assert "Cancel job" not in page
    progress = client.get(f"/jobs/{finished_benchmark.pk}/progress/").json()
    assert progress["status"] == "succeeded" and progress["progress"] == 100 and progress["finished"]


def test_start_buttons_follow_the_roles(client, users, finished_benchmark):
    url = "/models/lin/versions/1/"
    expected = {
        "scientist": (True, True),
        "outsider": (False, False),
        "itops": (False, True),
        "reviewer": (False, False),
        "manager": (False, False),
    }
    for role, (validate, benchmark) in expected.items():
        client.force_login(users[role])
        page = client.get(url).content.decode()
        assert ('id="validation-form"' in page) is validate, role
        assert ('id="benchmark-form"' in page) is benchmark, role


def test_start_a_benchmark_from_the_version_page(client, users, finished_benchmark):
    client.force_login(users["itops"])
    response = client.post(
        "/models/lin/versions/1/jobs/benchmark/",
        {"device": "gpu", "batch_sizes": "1, 16", "min_seconds": 2, "min_iterations": 50, "warmup_ms": 100},
    )
    job = Job.objects.latest("pk")
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.queue, job.device, job.parameters["batch_sizes"]) == ("gpu", "gpu", [1, 16])
    client.force_login(users["manager"])
    assert (
        client.post(
            "/models/lin/versions/1/jobs/benchmark/",
            {"device": "cpu", "batch_sizes": "1", "min_seconds": 1, "min_iterations": 10, "warmup_ms": 0},
        ).status_code
        == 403
    )
    client.force_login(users["scientist"])
    response = client.post(
        "/models/lin/versions/1/jobs/benchmark/",
        {"device": "cpu", "batch_sizes": "0, x", "min_seconds": 1, "min_iterations": 10, "warmup_ms": 0},
        follow=True,
    )
    assert "The job was not started" in response.content.decode()


def test_jobs_api(api, users, finished_benchmark, team):
    api.force_authenticate(users["itops"])
    response = api.post(
        "/api/v1/jobs/",
        {
            "kind": "benchmark",
            "model": "lin",
            "version": 1,
            "device": "cpu",
            "parameters": {"batch_sizes": [1], "min_seconds": 0.5},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    job_id = response.json()["id"]
    assert response.json()["queue"] == "cpu" and response.json()["status"] == "queued"
    assert (
        api.post("/api/v1/jobs/", {"kind": "validation", "model": "lin", "version": 1}, format="json").status_code
        == 400
    )
    response = api.post("/api/v1/jobs/", {"kind": "benchmark", "model": "nope", "version": 1}, format="json")
    assert response.status_code == 404
    detail = api.get(f"/api/v1/jobs/{finished_benchmark.pk}/").json()
    assert detail["result"]["runtime"]["provider"] == "CPUExecutionProvider"
    listed = api.get("/api/v1/jobs/?status=succeeded&kind=benchmark&model=lin").json()
    assert [j["id"] for j in listed["results"]] == [finished_benchmark.pk]
    # Newest first, page after page through the cursor, no total count (a log that grows without end).
    pages, url = [], "/api/v1/jobs/?page_size=1"
    while url:
        body = api.get(url).json()
        assert "count" not in body
        pages += [j["id"] for j in body["results"]]
        url = body["next"]
    assert pages == list(Job.objects.order_by("-created_at", "-pk").values_list("pk", flat=True)) and len(pages) > 1
    api.force_authenticate(users["manager"])
    assert api.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 403
    assert (
        api.post("/api/v1/jobs/", {"kind": "benchmark", "model": "lin", "version": 1}, format="json").status_code == 403
    )
    api.force_authenticate(users["itops"])
    assert api.post(f"/api/v1/jobs/{job_id}/cancel/").json()["status"] == "cancelled"
    assert api.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 400


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_job_lists_queries_are_constant(client, api, users, finished_benchmark):
    client.force_login(users["manager"])
    api.force_authenticate(users["manager"])
    version = finished_benchmark.version
    for _ in range(3):
        job_services.job_create(actor=users["scientist"], version=version, kind="benchmark", device="cpu")
    urls = ((client, "/jobs/"), (api, "/api/v1/jobs/"), (client, "/models/lin/versions/1/"))
    for c, url in urls:
        _count(c, url)  # warm the per-user permission cache
    small = tuple(_count(c, url) for c, url in urls)
    for _ in range(20):
        job_services.job_create(actor=users["scientist"], version=version, kind="benchmark", device="cpu")
    large = tuple(_count(c, url) for c, url in urls)
    assert small == large


def test_a_refused_start_keeps_the_input_and_marks_the_field(client, users, finished_benchmark):
    client.force_login(users["scientist"])
    response = client.post(
        "/models/lin/versions/1/jobs/benchmark/",
        {"device": "cpu", "batch_sizes": "1, x", "min_seconds": 2, "min_iterations": 50, "warmup_ms": 100},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Write whole numbers separated by commas" in page
    assert 'value="1, x"' in page
    assert "The job was not started" in page


def test_api_refusals_about_the_whole_request_have_a_detail_string(api, users, finished_benchmark):
    api.force_authenticate(users["scientist"])
    response = api.post(f"/api/v1/jobs/{finished_benchmark.pk}/cancel/")
    assert response.status_code == 400
    assert response.json() == {"detail": "The job already ended (completed)."}
    response = api.post(
        "/api/v1/jobs/",
        {"kind": "benchmark", "model": "lin", "version": 1, "parameters": '{"batch_sizes": [2]}'},
        format="multipart",
    )
    assert response.status_code == 201 and response.json()["parameters"]["batch_sizes"] == [2]


def test_the_benchmark_form_defaults_to_where_a_benchmark_can_run(client, api, users, team):
    """A new install has no GPU worker: the first benchmark goes to the CPU (and passes its device check)."""
    model = RegisteredModelFactory(name="lin", team=team)
    version_create(model, users["scientist"])
    client.force_login(users["scientist"])
    page = client.get("/models/lin/versions/1/").content.decode()
    assert '<option value="cpu" selected>' in page
    api.force_authenticate(users["scientist"])
    job = api.post("/api/v1/jobs/", {"kind": "benchmark", "model": "lin", "version": 1}, format="json").json()
    assert job["device"] == "cpu" and job["queue"] == "cpu"
    assert "Any GPU — no GPU worker is online" in page
    # A GPU worker comes online: any GPU, unless the policy of the version's next step names a class.
    report_in("gpu0@node-1", queues=("gpu",), device_class="h100", gpus=[H100])
    page = client.get("/models/lin/versions/1/").content.decode()
    assert '<option value="gpu" selected>' in page and '<option value="h100">H100 (1 online)</option>' in page
    job = api.post("/api/v1/jobs/", {"kind": "benchmark", "model": "lin", "version": 1}, format="json").json()
    assert job["device"] == "gpu" and job["waiting"] is None
    Policy.objects.filter(transition="design->test", risk_tier=model.risk_tier).update(
        evidence={"benchmark": True, "benchmark_device": "a100"}
    )
    page = client.get("/models/lin/versions/1/").content.decode()
    assert '<option value="a100" selected>A100 — no worker of this class is online; the job would wait</option>' in page
    job = api.post("/api/v1/jobs/", {"kind": "benchmark", "model": "lin", "version": 1}, format="json").json()
    assert job["device"] == "a100" and job["queue"] == "gpu.a100"
    assert (
        job["waiting"]
        == "No worker of class a100 is online (none consumes queue gpu.a100); the job waits until one starts."
    )
