import datetime as dt

import pandas as pd
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from approvals import services as approvals_services
from approvals.models import Finding
from portal.core.services import audit_checkpoint_sign
from registry import services
from registry.choices import JobStatus, Stage
from registry.models import Job, ModelVersion
from registry.runner import run_job
from registry.services import jobs as job_services
from registry.services.monitoring import observation_record
from tests.factories import JUSTIFICATION, RegisteredModelFactory, version_create
from tests.onnx_files import iris_classifier

QUICK = {"batch_sizes": [1, 4], "min_seconds": 0.2, "min_iterations": 10, "warmup_ms": 0}
CARD = {
    "intended_use": "Sorting iris flowers by species in the botany lab → never in the field.",
    "out_of_scope_use": "Any species other than setosa, versicolor and virginica.",
    "training_data": "Fisher's iris data, 150 flowers.",
    "evaluation_data": "The same 150 flowers (a demonstration, not a holdout).",
    "metrics_description": "Accuracy ≥ 0.9 and macro F1 — the lab's acceptance rule.",
    "limitations": "Four measurements only; petals must be measured by hand.",
    "ethical_considerations": "None: no person is scored.",
    "caveats": "Measurements in centimetres · one decimal.",
}


def _run(actor, version, kind, **kwargs) -> Job:
    job = job_services.job_create(actor=actor, version=version, kind=kind, dispatch=False, **kwargs)
    assert run_job(job.pk) == JobStatus.SUCCEEDED, Job.objects.get(pk=job.pk).error
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def released(users, team):
    """A high-risk iris classifier in production on real evidence: a validation run by the runner on a real
    dataset and a benchmark on the CPU, promoted through a request approved by IT and risk, then reported on
    by production, with a finding verified fixed and a signed checkpoint of the audit chain."""
    model = RegisteredModelFactory(
        name="iris",
        team=team,
        owner=users["scientist"],
        task_type="multiclass",
        risk_tier="high",
        metric_floors={"accuracy": 0.9},
        slo_p99_latency_ms=50.0,
        slo_min_throughput=100.0,
        description="Iris species from four measurements.",
        **CARD,
    )
    data, x, y = iris_classifier()
    version = version_create(
        model,
        users["scientist"],
        data=data,
        source_code_url="https://git.example.com/lab/iris",
        source_commit="0123456789abcdef0123456789abcdef01234567",
        training_data_ref="sklearn.datasets.load_iris",
        trained_at=timezone.now() - dt.timedelta(days=3),
        metrics={"accuracy": 0.97},
    )
    frame = pd.DataFrame(x, columns=["sl", "sw", "pl", "pw"])
    frame["species"] = y
    dataset = services.dataset_create(
        actor=users["scientist"],
        model=model,
        name="flowers",
        label_column="species",
        file=ContentFile(frame.to_csv(index=False).encode(), name="iris.csv"),
    )
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    version.refresh_from_db()
    validation = _run(users["scientist"], version, "validation", dataset=dataset)
    benchmark = _run(users["itops"], version, "benchmark", parameters=QUICK)
    request = approvals_services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=JUSTIFICATION
    )
    for role in ("itops", "reviewer"):
        approvals_services.promotion_request_decide(
            actor=users[role], request=request, decision="approve", comment=f"ok from {role}"
        )
    version.refresh_from_db()
    assert version.stage == Stage.PRODUCTION
    for accuracy in (0.96, 0.85):  # the second misses the floor
        observation_record(
            actor=users["itops"], version=version, metrics={"accuracy": accuracy}, sample_count=400, source="gw-1"
        )
    finding = _finding(users, version)
    audit_checkpoint_sign(reason="schedule")
    return {
        "model": model,
        "version": version,
        "dataset": dataset,
        "validation": validation,
        "benchmark": benchmark,
        "request": request,
        "finding": finding,
    }


def _finding(users, version) -> Finding:
    finding = approvals_services.finding_open(
        actor=users["reviewer"],
        version=version,
        title="Petal width unchecked",
        severity="low",
        description="Nothing stops a negative petal width from reaching the model.",
    )
    approvals_services.finding_comment(actor=users["scientist"], finding=finding, body="Looking into it.")
    approvals_services.finding_transition(
        actor=users["scientist"], finding=finding, action="remediate", comment="The serving side now refuses it."
    )
    approvals_services.finding_transition(
        actor=users["reviewer"], finding=finding, action="verify", comment="Tried −1: refused with a 400."
    )
    return Finding.objects.get(pk=finding.pk)
