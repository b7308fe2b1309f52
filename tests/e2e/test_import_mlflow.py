"""In Chromium: IT operations import from a real MLflow server on /imports/, watch the progress and read the
report; the imported version's page shows where it came from."""

from __future__ import annotations

import pytest

from portal.core.roles import Role
from tests.e2e.conftest import login
from tests.factories import UserFactory
from tests.imports.conftest import mlflow_server  # noqa: F401 - the real MLflow server fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_start_an_import_and_read_its_report(page, worker, mlflow_server, team):  # noqa: F811
    UserFactory(username="ivo", role=Role.IT_OPERATIONS)
    login(page, "ivo")
    page.goto("/imports/")
    page.fill("#id_url", mlflow_server.url)
    page.select_option("#id_default_team", team.slug)
    page.click("#import-form button[type=submit]")
    page.wait_for_url("**/imports/*/")
    assert page.is_visible("#progress-bar")
    page.wait_for_selector("#import-report", timeout=120_000)
    page.wait_for_function(
        "document.querySelector('#import-status .badge').textContent.trim() === 'Finished'", timeout=120_000
    )
    assert page.inner_text("#progress-pct") == "100%"
    report = page.inner_text("#import-report")
    assert "tiny-transformer" in report and "not ONNX" in report and "skl2onnx" in report
    assert int(page.inner_text("#count-imported")) >= 3 and page.inner_text("#count-refused") == "1"
    page.click("#import-report a:text('iris-classifier v2')")
    page.wait_for_url("**/models/iris-classifier/versions/2/")
    assert "champion" in page.inner_text("#mlflow-aliases") and "Staging" in page.inner_text("#mlflow-stage")
    page.goto("/imports/")
    assert "Finished" in page.inner_text("#import-runs")
    assert page.console_errors == []
