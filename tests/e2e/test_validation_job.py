"""In Chromium: a data scientist starts a validation job, watches the progress bar, and reads the result."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from registry import services
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.factories import RegisteredModelFactory, version_create
from tests.onnx_files import iris_classifier

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_start_a_validation_job_and_watch_it_finish(page, worker, scientist, team):
    model = RegisteredModelFactory(name="iris", team=team, task_type="multiclass", metric_floors={"accuracy": 0.9})
    data, x, y = iris_classifier()
    version_create(model, scientist, data=data)
    rows = "\n".join(",".join(map(str, [*f, label])) for f, label in zip(x, y, strict=True))
    services.dataset_create(
        actor=scientist,
        model=model,
        name="all",
        label_column="y",
        file=ContentFile(f"a,b,c,d,y\n{rows}\n".encode(), name="iris.csv"),
    )
    login(page, "dana")
    page.goto("/models/iris/versions/1/")
    page.click("#validation-form button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    assert page.is_visible("#progress-bar")
    _shot(page, "06-job-queued")
    page.wait_for_selector("#checks", timeout=60_000)  # the page reloads itself when the job ends
    _shot(page, "07-job-validation-done")
    assert page.inner_text("#progress-pct") == "100%"
    assert "Passed its checks" in page.inner_text("#job-status")
    assert "accuracy" in page.inner_text("#metrics")
    assert page.console_errors == []
