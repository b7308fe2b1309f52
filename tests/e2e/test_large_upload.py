"""In Chromium: the version form sends a model with its external data as resumable uploads (tus-js-client),
with a progress bar, and registers the set; a refusal after the upload says why."""

from __future__ import annotations

import pytest

from portal.core.models import AuditEvent
from registry.models import ModelVersion
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.factories import RegisteredModelFactory
from tests.registry.test_external_data import FIXTURE
from transfers.models import Upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def resumable(settings, tmp_path):
    settings.GATEHOUSE_RESUMABLE_FORM_MB = 0  # every upload goes the resumable way
    settings.GATEHOUSE_RESUMABLE_DIR = str(tmp_path / "resumable")


def test_the_form_sends_a_set_as_resumable_uploads_with_progress(page, scientist, team, resumable):
    RegisteredModelFactory(name="tiny", team=team, owner=scientist, task_type="binary-classification")
    login(page, "dana")
    page.goto("/models/tiny/versions/new/")
    page.set_input_files("#id_artifact", str(FIXTURE / "model.onnx"))
    page.set_input_files("input[name=data]", str(FIXTURE / "model.onnx.data"))
    page.fill("#id_source_commit", "abcdef1")
    page.click("#upload-button")
    page.wait_for_url("**/models/tiny/versions/1/", timeout=30_000)
    version = ModelVersion.objects.get()
    assert version.is_set and [f["path"] for f in version.files] == ["model.onnx", "model.onnx.data"]
    assert version.source_commit == "abcdef1" and not Upload.objects.exists()
    # The files went as two tus uploads, then the form with their ids.
    assert AuditEvent.objects.filter(action="transfers.upload.started").count() == 2
    assert "2 files" in page.inner_text("main")
    _shot(page, "40-set-uploaded")
    assert page.console_errors == []


def test_a_refused_set_says_why_after_its_upload(page, scientist, team, resumable, tmp_path):
    RegisteredModelFactory(name="tiny", team=team, owner=scientist, task_type="binary-classification")
    truncated = tmp_path / "model.onnx.data"
    truncated.write_bytes((FIXTURE / "model.onnx.data").read_bytes()[:1000])
    login(page, "dana")
    page.goto("/models/tiny/versions/new/")
    page.set_input_files("#id_artifact", str(FIXTURE / "model.onnx"))
    page.set_input_files("input[name=data]", str(truncated))
    page.click("#upload-button")
    page.wait_for_selector(".errorlist", timeout=30_000)
    assert "the data file is truncated" in page.inner_text("form.form")
    assert not ModelVersion.objects.exists() and not Upload.objects.exists()
    _shot(page, "41-set-refused")
