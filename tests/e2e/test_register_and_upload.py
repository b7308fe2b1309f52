"""A data scientist registers a model and uploads a version through the forms, in Chromium."""

from __future__ import annotations

import hashlib
import os

import onnx
import pytest

from registry.models import ModelVersion, RegisteredModel
from tests.e2e.conftest import login
from tests.onnx_files import onnx_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("GATEHOUSE_SCREENSHOTS")  # a folder: save screenshots there to look at them


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_scientist_registers_a_model_and_uploads_a_version(page, scientist, team, tmp_path):
    login(page, "dana")
    _shot(page, "01-home")
    page.click("text=Register a model")
    page.fill("#id_name", "churn-predictor")
    page.fill("#id_description", "Who cancels next month")
    page.select_option("#id_task_type", "binary-classification")
    page.select_option("#id_risk_tier", "high")
    page.fill("#id_tags", "churn, tabular")
    page.fill("#id_intended_use", "Retention offers for consumer accounts.")
    _shot(page, "02-register-form")
    page.click("button[type=submit]")
    page.wait_for_url("**/models/churn-predictor/")
    assert "Registered churn-predictor" in page.inner_text(".messages")
    _shot(page, "03-model-detail")

    path = tmp_path / "churn.onnx"
    path.write_bytes(onnx_bytes(n_features=9))
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    page.click("text=Upload a version")
    page.set_input_files("#id_artifact", str(path))
    page.fill("#id_source_commit", "1a2b3c4d")
    page.fill("#id_metrics", "roc_auc = 0.87")
    page.click("#upload-button")
    page.wait_for_url("**/models/churn-predictor/versions/1/")
    _shot(page, "04-version-detail")
    assert page.inner_text("#sha256") == expected
    signature = page.inner_text("#signature")
    graph = onnx.load(str(path)).graph
    assert graph.input[0].name in signature and "[N, 9]" in signature
    assert graph.output[0].name in signature
    assert page.console_errors == []
    assert RegisteredModel.objects.get().tags.count() == 2
    assert ModelVersion.objects.get().sha256 == expected


def test_a_refused_upload_says_why_in_the_browser(page, scientist, team, tmp_path):
    RegisteredModel.objects.create(
        name="churn", team=team, owner=scientist, created_by=scientist, task_type="regression"
    )
    login(page, "dana")
    page.goto("/models/churn/versions/new/")
    bad = tmp_path / "model.pkl"
    bad.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    page.set_input_files("#id_artifact", str(bad))
    page.fill("#id_training_data_ref", "warehouse.churn_2026")
    page.click("#upload-button")
    page.wait_for_selector(".errorlist")
    _shot(page, "05-refused-upload")
    assert "Python pickle" in page.inner_text(".field.has-error")
    assert page.input_value("#id_training_data_ref") == "warehouse.churn_2026"
    assert not ModelVersion.objects.exists()
