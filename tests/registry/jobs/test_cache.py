"""Jobs on a model with external data run from the worker's cache: fetched and verified once, then hit; bytes
changed in storage stop the job and are reported; the cache keeps to its size; the weekly scrub finds a
replaced file; a version whose bytes failed cannot go to production."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from django.core.files.base import ContentFile

from approvals import services as approvals
from portal.core.errors import ApplicationError
from registry import cache, services
from registry.choices import JobStatus, Stage
from registry.models import Job, ModelVersion
from registry.runner import run_job
from registry.services import jobs as job_services
from registry.services.integrity import artifacts_scrub
from tests.factories import JUSTIFICATION, RegisteredModelFactory, version_create
from tests.registry.test_external_data import FIXTURE, _files

pytestmark = pytest.mark.django_db
QUICK = {"batch_sizes": [1, 4], "min_seconds": 0.2, "min_iterations": 10, "warmup_ms": 0}


@pytest.fixture
def transformer(scientist, team):
    model = RegisteredModelFactory(name="tiny", team=team, task_type="binary-classification")
    artifact, data = _files()
    version = services.model_version_create(actor=scientist, model=model, artifact=artifact, data=data)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 512, size=(40, 16))
    session = ort.InferenceSession(str(FIXTURE / "model.onnx"), providers=["CPUExecutionProvider"])
    labels = session.run(None, {"input_ids": tokens})[0].argmax(axis=1)  # the model's own answers: a passing set
    frame = pd.DataFrame(tokens, columns=[f"t{i}" for i in range(16)])
    frame["label"] = labels
    dataset = services.dataset_create(
        actor=scientist,
        model=model,
        name="tokens",
        label_column="label",
        file=ContentFile(frame.to_csv(index=False).encode(), name="tokens.csv"),
    )
    return version, dataset


def test_validation_and_a_benchmark_run_from_the_cache_and_the_second_job_hits_it(scientist, transformer, settings):
    version, dataset = transformer
    validation = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    assert run_job(validation.pk) == JobStatus.SUCCEEDED
    validation.refresh_from_db()
    assert validation.verdict == "passed", validation.result["checks"]
    assert validation.environment["artifact_cache"]["hit"] is False
    assert validation.environment["artifact_cache"]["fetched_bytes"] == version.size_bytes
    benchmark = job_services.job_create(actor=scientist, version=version, kind="benchmark", parameters=QUICK)
    assert run_job(benchmark.pk) == JobStatus.SUCCEEDED
    benchmark.refresh_from_db()
    assert benchmark.environment["artifact_cache"] == {**benchmark.environment["artifact_cache"], "hit": True}
    assert benchmark.result["results"][0]["input_shapes"] == {"input_ids": [1, 1]}
    folder = Path(settings.GATEHOUSE_ARTIFACT_CACHE_DIR) / "sets" / version.sha256
    assert sorted(p.name for p in folder.iterdir()) == [".manifest.json", "model.onnx", "model.onnx.data"]


def test_bytes_changed_in_storage_stop_the_job_and_nothing_is_cached(
    scientist, transformer, artifact_storage, settings
):
    version, dataset = transformer
    (artifact_storage / version.files[1]["key"]).write_bytes(b"\1" * version.files[1]["size"])
    job = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert "The stored file 'model.onnx.data' does not match its digest" in job.error
    assert "Nothing ran on it." in job.error
    assert list((Path(settings.GATEHOUSE_ARTIFACT_CACHE_DIR) / "sets").iterdir()) == []  # nothing half-kept
    version.refresh_from_db()
    assert version.integrity_error
    again = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    assert run_job(again.pk) == JobStatus.FAILED
    assert "failed its integrity check" in Job.objects.get(pk=again.pk).error


def test_the_cache_keeps_to_its_size_evicting_the_least_recently_used(scientist, team, settings):
    model = RegisteredModelFactory(name="lin", team=team)
    versions = [version_create(model, scientist) for _ in range(3)]
    settings.GATEHOUSE_ARTIFACT_CACHE_MB = 1
    for version in versions:
        with cache.version_files(version) as cached:
            assert Path(cached.model_path).exists()
    sets = Path(settings.GATEHOUSE_ARTIFACT_CACHE_DIR) / "sets"
    assert len(list(sets.iterdir())) == 3  # three small files fit in 1 MB
    settings.GATEHOUSE_ARTIFACT_CACHE_MB = 0  # nothing fits: all but the one in use go
    with cache.version_files(versions[0]) as cached:
        assert [p.name for p in sets.iterdir()] == [versions[0].sha256] and Path(cached.model_path).exists()


def test_the_weekly_scrub_finds_a_replaced_file(scientist, transformer, artifact_storage):
    version, _ = transformer
    assert artifacts_scrub() == {"checked": 1, "failed": 0}
    (artifact_storage / version.files[0]["key"]).write_bytes(b"not the registered graph")
    assert artifacts_scrub() == {"checked": 1, "failed": 1}
    version.refresh_from_db()
    assert "'model.onnx' does not match its digest" in version.integrity_error


def test_a_version_whose_bytes_failed_cannot_be_asked_to_go_to_production(scientist, transformer):
    version, _ = transformer
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST, integrity_error="The stored file changed.")
    version.refresh_from_db()
    with pytest.raises(ApplicationError, match="failed its integrity check .* until IT restores the file"):
        approvals.promotion_request_open(
            actor=scientist, version=version, action="promote", justification=JUSTIFICATION
        )


def test_a_file_another_cached_version_holds_is_copied_locally_not_fetched(scientist, transformer):
    version, _ = transformer
    proto = onnx.load(str(FIXTURE / "model.onnx"), load_external_data=False)
    proto.producer_version = "retrained graph, same weights"
    artifact, data = _files(model=proto.SerializeToString())
    second = services.model_version_create(actor=scientist, model=version.model, artifact=artifact, data=data)
    with cache.version_files(version) as first_fetch:
        assert first_fetch.fetched_bytes == version.size_bytes
    with cache.version_files(second) as cached:
        assert not cached.hit and cached.fetched_bytes == second.files[0]["size"]  # only the new graph
