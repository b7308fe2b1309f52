"""Jobs run in-process by the runner (the worker tests run them through Celery)."""

from __future__ import annotations

import io
import resource

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.utils import timezone
from sklearn import metrics as m

from portal.core.errors import ApplicationError
from registry import services
from registry.choices import JobStatus
from registry.models import Job
from registry.runner import run_job
from registry.services import jobs as job_services
from tests.factories import RegisteredModelFactory, version_create
from tests.onnx_files import iris_classifier, onnx_bytes, raising_model, wide_identity

pytestmark = pytest.mark.django_db


def _iris_setup(scientist, team, *, frame_edit=None, zipmap=False, fmt="csv"):
    model = RegisteredModelFactory(name="iris", team=team, task_type="multiclass", metric_floors={"accuracy": 0.9})
    data, x, y = iris_classifier(zipmap=zipmap)
    version = version_create(model, scientist, data=data)
    frame = pd.DataFrame(x, columns=["sl", "sw", "pl", "pw"])
    frame["species"] = y
    if frame_edit:
        frame = frame_edit(frame)
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        content = buffer.getvalue()
    else:
        content = frame.to_csv(index=False).encode()
    dataset = services.dataset_create(
        actor=scientist, model=model, name="all", label_column="species", file=ContentFile(content, name=f"iris.{fmt}")
    )
    return model, version, dataset, data, frame


@pytest.mark.parametrize(("zipmap", "fmt"), [(False, "csv"), (True, "parquet")])
def test_validation_metrics_equal_scikit_learn_on_the_same_predictions(scientist, team, zipmap, fmt):
    model, version, dataset, data, frame = _iris_setup(scientist, team, zipmap=zipmap, fmt=fmt)
    job = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    assert run_job(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.verdict == "passed" and job.progress == 100
    assert job.environment["libraries"]["onnxruntime"] == ort.__version__

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"input": frame[["sl", "sw", "pl", "pw"]].to_numpy(np.float32)})
    if zipmap:
        probabilities = np.array([[row[k] for k in sorted(row)] for row in probabilities])
    y = frame["species"].to_numpy()
    expected = {
        "accuracy": m.accuracy_score(y, labels),
        "f1_macro": m.f1_score(y, labels, average="macro"),
        "precision_macro": m.precision_score(y, labels, average="macro"),
        "recall_macro": m.recall_score(y, labels, average="macro"),
        "roc_auc_ovr": m.roc_auc_score(y, probabilities, multi_class="ovr"),
        "log_loss": m.log_loss(y, np.clip(probabilities, 1e-15, 1), labels=[0, 1, 2]),
    }
    for name, value in expected.items():
        assert abs(job.result["metrics"][name] - value) <= 1e-9, name
    verdicts = {c["name"]: c["verdict"] for c in job.result["checks"]}
    assert verdicts["digest"] == verdicts["graph"] == verdicts["inference"] == verdicts["floor accuracy"] == "pass"
    assert verdicts["non-inferiority"] == "skip"


def test_a_dataset_missing_a_column_fails_with_the_reason(scientist, team):
    model, version, dataset, *_ = _iris_setup(scientist, team, frame_edit=lambda f: f.drop(columns=["pw"]))
    job = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert "takes 4 features but the dataset has 3 columns" in job.error
    assert job.verdict == "failed"
    assert job.result["checks"][-1]["name"] == "inputs"


def test_labels_the_model_never_saw_fail(scientist, team):
    def add_class(frame):
        frame.loc[0, "species"] = 7
        return frame

    model, version, dataset, *_ = _iris_setup(scientist, team, frame_edit=add_class)
    job = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert "classes the model never saw: 7" in job.error


def test_inference_that_raises_fails_with_the_runtime_message(scientist, team):
    model = RegisteredModelFactory(name="bad", team=team, task_type="regression")
    version = version_create(model, scientist, data=raising_model())
    dataset = services.dataset_create(
        actor=scientist,
        model=model,
        name="d",
        label_column="y",
        file=ContentFile(b"a,b,c,d,y\n1,2,3,4,0\n5,6,7,8,1\n", name="d.csv"),
    )
    job = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error.startswith("Inference failed on rows 1–2:")


def test_floors_and_non_inferiority_against_production(scientist, team):
    model, version, dataset, data, frame = _iris_setup(scientist, team)
    first = job_services.job_create(actor=scientist, version=version, kind="validation", dataset=dataset)
    run_job(first.pk)
    type(version).objects.filter(pk=version.pk).update(stage="production")
    # A worse candidate: a regression graph is no classifier, so use the same classifier with a strict floor.
    candidate = version_create(model, scientist, data=iris_classifier(zipmap=True)[0])
    job = job_services.job_create(
        actor=scientist,
        version=candidate,
        kind="validation",
        dataset=dataset,
        parameters={"floors": {"accuracy": 0.99, "log_loss": 0.01}, "margin": 0.001},
    )
    run_job(job.pk)
    job.refresh_from_db()
    checks = {c["name"]: c for c in job.result["checks"]}
    assert job.status == JobStatus.SUCCEEDED and job.verdict == "failed"
    assert checks["floor accuracy"]["verdict"] == "fail"
    assert "misses the required ≥ 0.99" in checks["floor accuracy"]["message"]
    assert checks["floor log_loss"]["verdict"] == "fail"  # a ceiling for lower-is-better metrics
    assert checks["non-inferiority"]["verdict"] == "pass"  # the same estimator as production v1
    assert checks["signature compatibility"]["verdict"] == "warn"  # ZipMap changed the probabilities' type


def test_benchmark_record_on_the_cpu(scientist, team):
    model = RegisteredModelFactory(name="lin", team=team, slo_p99_latency_ms=1000.0, slo_min_throughput=1.0)
    version = version_create(model, scientist, data=onnx_bytes(n_features=16))
    job = job_services.job_create(
        actor=scientist,
        version=version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [1, 4], "min_seconds": 0.2, "min_iterations": 20, "warmup_ms": 10},
    )
    assert job.queue == "cpu"
    assert run_job(job.pk) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    result = job.result
    assert result["runtime"]["provider"] == "CPUExecutionProvider" and result["runtime"]["device"] == "cpu"
    assert [r["batch_size"] for r in result["results"]] == [1, 4]
    for r in result["results"]:
        lat = r["latency_ms"]
        assert lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert r["iterations"] >= 20 and r["measured_seconds"] >= 0.2
        assert r["throughput_samples_s"] == pytest.approx(
            r["iterations"] * r["batch_size"] / r["measured_seconds"], rel=1e-3
        )
        assert r["input_shapes"] == {"input": [r["batch_size"], 16]}
    assert job.verdict == "passed"
    assert [c["name"] for c in result["slo"]["checks"]] == ["p99 latency at batch 1", "throughput at batch 4"]


def test_a_gpu_benchmark_without_a_gpu_says_it_ran_on_the_cpu(scientist, team):
    model = RegisteredModelFactory(name="lin", team=team, slo_p99_latency_ms=1000.0)
    version = version_create(model, scientist)
    job = job_services.job_create(
        actor=scientist,
        version=version,
        kind="benchmark",
        device="gpu",
        parameters={"batch_sizes": [1], "min_seconds": 0.1, "min_iterations": 10},
    )
    assert job.queue == "gpu"
    run_job(job.pk)
    job.refresh_from_db()
    if job.result["runtime"]["device"] == "gpu":
        pytest.skip("this machine has a GPU execution provider")
    assert job.result["runtime"]["fell_back_to_cpu"] is True
    assert job.verdict == "failed"
    assert job.result["slo"]["checks"][0]["name"] == "device"


def test_bad_parameters_are_refused(scientist, team, itops, manager):
    model = RegisteredModelFactory(name="lin", team=team)
    version = version_create(model, scientist)
    with pytest.raises(ApplicationError, match="batch size must be between 1 and 4096, not 0"):
        job_services.job_create(actor=scientist, version=version, kind="benchmark", parameters={"batch_sizes": [0]})
    with pytest.raises(ApplicationError, match="Choose the dataset"):
        job_services.job_create(actor=scientist, version=version, kind="validation")

    with pytest.raises(PermissionDenied):
        job_services.job_create(actor=itops, version=version, kind="validation")
    with pytest.raises(PermissionDenied):
        job_services.job_create(actor=manager, version=version, kind="benchmark")
    job = job_services.job_create(actor=itops, version=version, kind="benchmark", device="gpu")
    assert job.requested_by == itops
    assert not Job.objects.exclude(pk=job.pk).exists()


def test_cancel_a_queued_job_and_the_runner_skips_it(scientist, team, manager):
    model = RegisteredModelFactory(name="lin", team=team)
    version = version_create(model, scientist)
    job = job_services.job_create(actor=scientist, version=version, kind="benchmark", device="cpu")

    with pytest.raises(PermissionDenied):
        job_services.job_cancel(actor=manager, job=job)
    job_services.job_cancel(actor=scientist, job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert run_job(job.pk) is None
    with pytest.raises(ApplicationError, match="already ended"):
        job_services.job_cancel(actor=scientist, job=job)


def test_the_reaper_fails_a_job_whose_worker_went_silent(scientist, team, settings):
    model = RegisteredModelFactory(name="lin", team=team)
    version = version_create(model, scientist)
    job = job_services.job_create(actor=scientist, version=version, kind="benchmark", device="cpu")
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        attempts=1,
        worker="w1@gpu-node-7",
        heartbeat_at=timezone.now() - timezone.timedelta(seconds=600),
    )
    assert job_services.reap_stale_jobs()["failed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.ERROR
    assert "w1@gpu-node-7 stopped sending heartbeats" in job.error
    assert run_job(job.pk) is None  # a late redelivery does not resurrect it


@pytest.mark.parametrize(
    ("kind", "parameters", "message"),
    [
        ("benchmark", {"batch_size": [4]}, "Unknown benchmark parameter(s) batch_size"),
        ("benchmark", {"batch_sizes": [1.7]}, "batch size must be a whole number, not 1.7"),
        ("benchmark", {"batch_sizes": "1, x"}, "batch size must be a whole number, not 'x'"),
        ("benchmark", {"warmup_ms": 600_000}, "warmup ms must be between 0 and 60000"),
        ("benchmark", {"min_seconds": 1e400}, "min_seconds must be a finite number"),
        ("validation", {"floors": {"accuracy": 1e400}}, "floor accuracy must be a finite number"),
        ("validation", {"floors": {"auc": 0.8}}, "No metric named auc for a multiclass model"),
        ("validation", {"batch_rows": "x"}, "batch_rows must be a whole number"),
        ("validation", {"batch_rows": 0}, "batch_rows must be between 1000 and 1000000"),
    ],
)
def test_parameters_are_checked_before_the_job_exists(kind, parameters, message, scientist, team):
    model, version, dataset, *_ = _iris_setup(scientist, team)
    with pytest.raises(ApplicationError) as info:
        job_services.job_create(
            actor=scientist, version=version, kind=kind, dataset=dataset, device="cpu", parameters=parameters
        )
    assert message in info.value.message
    assert not Job.objects.exists()


def test_batch_sizes_read_from_text():
    assert job_services.parse_batch_sizes("1 8 32") == [1, 8, 32]
    assert job_services.parse_batch_sizes("32, 1,8") == [1, 8, 32]


def test_model_floors_name_metrics_of_the_task(scientist, team):
    with pytest.raises(ApplicationError, match="No metric named auc for a regression model"):
        services.registered_model_create(
            actor=scientist, name="r", team=team, task_type="regression", risk_tier="low", metric_floors={"auc": 0.9}
        )


def test_the_reaper_does_not_duplicate_a_job_waiting_behind_busy_workers(scientist, team, settings):
    model = RegisteredModelFactory(name="lin", team=team)
    version = version_create(model, scientist)
    job = job_services.job_create(actor=scientist, version=version, kind="benchmark", device="cpu")
    minutes_ago = timezone.now() - timezone.timedelta(minutes=5)
    Job.objects.filter(pk=job.pk).update(celery_task_id="sent-fine", dispatched_at=minutes_ago, dispatches=1)
    assert job_services.reap_stale_jobs()["resent"] == 0  # sent fine; only waiting
    Job.objects.filter(pk=job.pk).update(celery_task_id="")  # the last send failed
    job_services.reap_stale_jobs()
    job.refresh_from_db()
    assert job.dispatches == 2


def _peak_rss_mb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmHWM"))


def test_a_benchmark_whose_tensors_exceed_the_budget_is_refused_before_it_runs(scientist, team):
    model = RegisteredModelFactory(name="wide", team=team, slo_p99_latency_ms=1000.0)
    version = version_create(model, scientist, data=wide_identity())
    with pytest.raises(ApplicationError) as info:
        job_services.job_create(
            actor=scientist, version=version, kind="benchmark", device="cpu", parameters={"batch_sizes": [1, 4096]}
        )
    assert info.value.message == (
        "At batch 4096 this model's inputs and outputs take 2,048 MB by its signature; a benchmark may use at most "
        "1,024 MB (GATEHOUSE_BENCHMARK_MAX_TENSOR_MB). Use batch sizes up to 2048."
    )
    assert not Job.objects.exists()


def test_a_model_that_runs_out_of_memory_fails_its_job_and_the_worker_stays(scientist, team, settings):
    """Under a larger tensor budget, the run's own memory limit stops it: the job fails with the reason, and the
    process (a worker, here the test's own) grows by far less than the gigabytes the model asked for."""
    settings.GATEHOUSE_BENCHMARK_MAX_TENSOR_MB = 100_000
    settings.GATEHOUSE_JOB_MEMORY_MB = 512
    model = RegisteredModelFactory(name="wide", team=team, slo_p99_latency_ms=1000.0)
    version = version_create(model, scientist, data=wide_identity())
    job = job_services.job_create(
        actor=scientist,
        version=version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [4096], "min_iterations": 10, "min_seconds": 0.1},
    )
    before = _peak_rss_mb()
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error.startswith(
        "The model ran out of memory: its run needed more than the 512 MB a job may use (GATEHOUSE_JOB_MEMORY_MB)."
    )
    assert _peak_rss_mb() - before < 1024
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY


def test_inference_the_runtime_refuses_fails_the_benchmark_with_its_reason(scientist, team):
    model = RegisteredModelFactory(name="bad", team=team, slo_p99_latency_ms=1000.0)
    version = version_create(model, scientist, data=raising_model())
    job = job_services.job_create(
        actor=scientist,
        version=version,
        kind="benchmark",
        device="cpu",
        parameters={"batch_sizes": [1], "min_iterations": 10, "min_seconds": 0.1},
    )
    assert run_job(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error.startswith("Inference failed at batch 1:") and "Unexpected" not in job.error
