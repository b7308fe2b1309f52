"""In Chromium: IT reads the Workers page, and a data scientist starts a benchmark routed to a class of device
(a real worker declared as class alpha); the job waits, saying why, for a class nobody serves."""

from __future__ import annotations

import pytest

from registry.models import Job
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.factories import RegisteredModelFactory, version_create
from tests.fleet.test_workers import _online, _until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_workers_page_and_a_benchmark_routed_to_a_class(page, start_worker, scientist, itops, team):
    start_worker("alpha@e2e", queues="gpu", device_class="alpha")
    _until(lambda: _online("alpha@e2e"), what="the worker's heartbeat")
    version_create(RegisteredModelFactory(name="lin", team=team), scientist)

    login(page, "dana")
    page.goto("/models/lin/versions/1/")
    options = page.locator("#benchmark-form select[name=device] option").all_inner_texts()
    assert "ALPHA (1 online)" in options and "Any GPU (1 GPU worker online)" in options
    page.select_option("#benchmark-form select[name=device]", "alpha")
    page.fill("#benchmark-form input[name=batch_sizes]", "1")
    page.fill("#benchmark-form input[name=min_seconds]", "0.2")
    page.fill("#benchmark-form input[name=min_iterations]", "10")
    page.click("#benchmark-form button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("text=Where it ran", timeout=60_000)  # the page reloads itself when the job ends
    job = Job.objects.get()
    assert job.worker == "alpha@e2e" and job.queue == "gpu.alpha"
    assert "GPU requested, ran on the CPU" in page.inner_text("main")  # a CPU-only worker, said honestly

    page.context.clear_cookies()  # sign out; IT operations reads the fleet
    login(page, "ivo")
    page.goto("/workers/")
    _shot(page, "40-workers")
    row = page.locator('tr[data-worker="alpha@e2e"]')
    assert "online" in row.inner_text() and "gpu.alpha" in row.inner_text()
    assert "No GPU" in row.inner_text()
    assert row.locator("td.num").inner_text().strip() == "1"  # jobs finished in the last 24 hours
    assert "ALPHA worker online" in page.inner_text("#fleet-summary")
    assert page.console_errors == []


def test_a_job_for_a_class_nobody_serves_says_so_on_its_page(page, start_worker, scientist, team):
    start_worker("cpu@e2e", queues="cpu")
    version_create(RegisteredModelFactory(name="lin", team=team), scientist)
    login(page, "dana")
    page.goto("/models/lin/versions/1/")
    page.select_option("#benchmark-form select[name=device]", "gpu")
    page.click("#benchmark-form button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    assert "No GPU worker is online (none consumes queue gpu); the job waits until one starts." in page.inner_text(
        "#job-waiting"
    )
    _shot(page, "41-job-waiting-for-a-gpu")
    assert page.console_errors == []
