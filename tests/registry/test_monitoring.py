"""Observations from serving: PSI against the reference histograms of the latest passed validation, verdicts
against the floors, strict refusals that write nothing, permissions per role; scheduled revalidation."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from registry.evidence.drift import ReferenceBuilder, bin_edges, histogram_of, psi, psi_band
from registry.models import Job, ModelVersion, Observation
from registry.services import monitoring
from tests.factories import DatasetFactory, RegisteredModelFactory, version_create

pytestmark = pytest.mark.django_db
REFERENCE = {"x": {"edges": [0.0, 1.0], "counts": [50, 30, 20]}, "y": {"edges": [10.0], "counts": [40, 60]}}


def test_psi_by_the_formula():
    expected = (0.5 - 0.4) * math.log(0.5 / 0.4) + (0.5 - 0.6) * math.log(0.5 / 0.6)
    assert psi([40, 60], [50, 50]) == pytest.approx(expected)
    assert psi([40, 60], [4, 6]) == 0.0
    assert psi([10, 0], [5, 5]) > 1  # an empty reference bin counts as a share of 1e-4, not as infinity
    assert [psi_band(v) for v in (None, 0.05, 0.1, 0.25)] == ["none", "green", "amber", "red"]
    with pytest.raises(ValueError, match="3 counts given, the reference has 2 bins"):
        psi([1, 2], [1, 2, 3])


def test_reference_histograms_count_every_row_and_ignore_float_precision():
    builder = ReferenceBuilder()
    rng = np.random.default_rng(0)
    first = rng.normal(size=1000)
    builder.add({"a": first, "label_text": np.array(["x"] * 1000, dtype=object)})
    builder.add({"a": rng.normal(size=500)})
    result = builder.result()
    assert set(result) == {"a"} and sum(result["a"]["counts"]) == 1500 and len(result["a"]["counts"]) == 10
    # Values that sit on a cut point bin the same whether they travel as float64 or float32.
    values = np.array([0.1, 0.2, 0.3, 0.3, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    edges = bin_edges(values)
    assert histogram_of(values, edges) == histogram_of(values.astype(np.float32), edges)


@pytest.fixture
def production(scientist, team):
    model = RegisteredModelFactory(
        name="scored",
        team=team,
        owner=scientist,
        task_type="binary-classification",
        risk_tier="high",
        metric_floors={"accuracy": 0.9},
    )
    version = version_create(model, scientist)
    ModelVersion.objects.filter(pk=version.pk).update(stage="production")
    version.refresh_from_db()
    return version


def _reference(version, finished=None):
    return Job.objects.create(
        kind="validation",
        version=version,
        artifact_sha256=version.sha256,
        queue="cpu",
        status="succeeded",
        verdict="passed",
        requested_by=version.created_by,
        dataset=_dataset(version),
        finished_at=finished or timezone.now(),
        result={"reference_histograms": REFERENCE, "metrics": {"accuracy": 0.95}},
    )


def _dataset(version):
    return DatasetFactory(model=version.model)


def test_a_healthy_observation(production, itops):
    job = _reference(production)
    obs = monitoring.observation_record(
        actor=itops,
        version=production,
        metrics={"accuracy": 0.93},
        histograms={"x": [50, 30, 20], "y": [44, 56]},
        sample_count=100,
        source="gateway",
    )
    assert obs.degradation == 0 and obs.below_floor == [] and obs.reference_job == job
    assert obs.psi["x"] == 0 and obs.psi["y"] == pytest.approx(psi([40, 60], [44, 56]), abs=1e-6)
    assert obs.max_psi == obs.psi["y"]
    event = AuditEvent.objects.get(action="registry.observation.recorded")
    assert event.actor == itops and event.after["degradation"] == 0


@pytest.mark.parametrize(
    ("metrics", "histograms", "degradation", "below"),
    [
        ({"accuracy": 0.85}, None, 1.0, ["accuracy"]),  # under its floor
        (None, {"y": [60, 40]}, 0.5, []),  # PSI 0.16: amber
        (None, {"y": [80, 20]}, 1.0, []),  # PSI 0.68: red
        ({"accuracy": 0.99, "latency_ms": 3.0}, None, 0.0, []),  # metrics without a floor are recorded, not judged
    ],
)
def test_verdicts(production, itops, metrics, histograms, degradation, below):
    _reference(production)
    obs = monitoring.observation_record(actor=itops, version=production, metrics=metrics, histograms=histograms)
    assert obs.degradation == degradation and obs.below_floor == below


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "metrics", "Send metrics, histograms, or both"),
        ({"metrics": {"accuracy": "high"}}, "metrics", "must be a finite number"),
        ({"metrics": {"accuracy": float("nan")}}, "metrics", "must be a finite number"),
        ({"metrics": [0.9]}, "metrics", "must be an object"),
        ({"histograms": {"z": [1, 2]}}, "histograms", "Feature 'z' has no reference histogram"),
        ({"histograms": {"x": [1, 2]}}, "histograms", "has 2 bins; its reference has 3"),
        ({"histograms": {"x": [1, -2, 3]}}, "histograms", "whole numbers ≥ 0"),
        ({"histograms": {"x": [0, 0, 0]}}, "histograms", "counts nothing"),
        ({"metrics": {"accuracy": 0.9}, "observed_at": "yesterday"}, "observed_at", "ISO 8601"),
        ({"metrics": {"accuracy": 0.9}, "observed_at": "2026-01-01T00:00:00"}, "observed_at", "time zone"),
        ({"metrics": {"accuracy": 0.9}, "observed_at": "2999-01-01T00:00:00Z"}, "observed_at", "in the future"),
        ({"metrics": {"accuracy": 0.9}, "sample_count": -1}, "sample_count", "whole number"),
        ({"metrics": {"accuracy": 0.9}, "observed_at": "2026-13-45T99:00:00Z"}, "observed_at", "ISO 8601"),
        ({"metrics": {"accuracy": 0.9}, "sample_count": 10**20}, "sample_count", "from 0 to 9,223,372,036,854,775,807"),
        (
            {"metrics": {f"m{i}": 0.5 for i in range(100_000)}},
            "metrics",
            r"100,000 metrics; an observation carries at most 100 \(GATEHOUSE_OBSERVATION_MAX_METRICS\)",
        ),
    ],
)
def test_bad_observations_are_refused_and_write_nothing(production, itops, payload, field, message):
    _reference(production)
    events = AuditEvent.objects.count()
    with pytest.raises(ApplicationError, match=message) as caught:
        monitoring.observation_record(actor=itops, version=production, **payload)
    assert caught.value.field == field
    assert not Observation.objects.exists() and AuditEvent.objects.count() == events


def test_histograms_need_a_validation_and_observations_need_production(production, itops, scientist):
    with pytest.raises(ApplicationError, match="run a validation of it"):
        monitoring.observation_record(actor=itops, version=production, histograms={"x": [1, 2, 3]})
    other = version_create(production.model, scientist)
    with pytest.raises(ApplicationError, match="is in design; observations are reported for the version in"):
        monitoring.observation_record(actor=itops, version=other, metrics={"accuracy": 0.9})


def test_who_may_report(production, users):
    allowed = {"scientist", "itops"}
    for name, user in users.items():
        if name in allowed:
            monitoring.observation_record(actor=user, version=production, metrics={"accuracy": 0.95})
        else:
            with pytest.raises(PermissionDenied):
                monitoring.observation_record(actor=user, version=production, metrics={"accuracy": 0.95})
    assert Observation.objects.count() == 2


def test_the_api(api, production, itops, manager):
    url = f"/api/v1/models/scored/versions/{production.number}/"
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=itops).key}")
    assert api.get(url + "reference/").status_code == 404
    assert "validate it first" in api.get(url + "reference/").json()["detail"]
    _reference(production)
    reference = api.get(url + "reference/").json()
    assert reference["histograms"] == REFERENCE and "Count each feature" in reference["how"]
    created = api.post(
        url + "observations/",
        {"metrics": {"accuracy": 0.8}, "histograms": {"x": [50, 30, 20]}, "source": "gw-1"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["degradation"] == 1.0 and created.json()["below_floor"] == ["accuracy"]
    bad = api.post(url + "observations/", {"histograms": {"x": [1]}}, format="json")
    assert bad.status_code == 400 and "has 1 bins" in bad.json()["histograms"][0]
    unknown = api.post(url + "observations/", {"metric": {"accuracy": 0.8}}, format="json")
    assert unknown.status_code == 400 and "These fields cannot be set here: metric." in str(unknown.json())
    listed = api.get(url + "observations/").json()
    assert listed["count"] == 1 and listed["results"][0]["source"] == "gw-1"
    window = {"metrics": {"accuracy": 0.95}, "observed_at": "2026-01-01T00:00:00Z", "source": "gw-2"}
    first = api.post(url + "observations/", window, format="json")
    again = api.post(url + "observations/", window, format="json")  # a retry of the same report
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    assert Observation.objects.count() == 2
    assert (
        api.post("/api/v1/models/scored/versions/99/observations/", {"metrics": {"a": 1}}, format="json").status_code
        == 404
    )
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=manager).key}")
    assert api.get(url + "observations/").status_code == 200
    refused = api.post(url + "observations/", {"metrics": {"accuracy": 0.9}}, format="json")
    assert refused.status_code == 403 and Observation.objects.count() == 2


def test_scheduled_revalidation_repeats_an_overdue_validation(production):
    old = _reference(production, finished=timezone.now() - dt.timedelta(days=181))  # high tier: 180 days
    assert [v.pk for v, _ in monitoring.revalidation_due()] == [production.pk]
    jobs = monitoring.revalidations_start()
    assert len(jobs) == 1
    job = jobs[0]
    assert job.kind == "validation" and job.dataset_id == old.dataset_id and job.status == "queued"
    assert job.requested_by.username == monitoring.SCHEDULER_USERNAME and not job.requested_by.has_usable_password()
    assert job.parameters["floors"] == {"accuracy": 0.9}  # the model's floors now, so the evidence counts
    assert monitoring.revalidation_due() == []  # one is queued already
    Job.objects.filter(pk=job.pk).update(status="failed", verdict="failed", finished_at=timezone.now())
    assert monitoring.revalidation_due() == []  # failed: tried again in a week, not at every run
    later = timezone.now() + monitoring.RETRY_AFTER + dt.timedelta(hours=1)
    assert [v.pk for v, _ in monitoring.revalidation_due(now=later)] == [production.pk]
    Job.objects.filter(pk=job.pk).update(status="succeeded", verdict="passed", finished_at=timezone.now())
    assert monitoring.revalidation_due(now=later) == []
