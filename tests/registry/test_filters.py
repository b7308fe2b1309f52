"""The registry's FilterSets, each filter on rows that it must keep and rows it must drop."""

from __future__ import annotations

import pytest

from registry.choices import JobKind, JobStatus, Stage, Verdict
from registry.filters import JobFilterSet, RegisteredModelFilterSet
from registry.models import Job, ModelVersion, RegisteredModel, Tag
from registry.selectors import job_list, model_list
from tests.factories import JobFactory, RegisteredModelFactory, TeamFactory, version_create

pytestmark = pytest.mark.django_db


def _names(data: dict) -> list[str]:
    filterset = RegisteredModelFilterSet(data, queryset=model_list())
    assert filterset.is_valid(), filterset.errors
    return [m.name for m in filterset.qs]


@pytest.fixture
def models(scientist, team):
    other = TeamFactory(name="Marketing", slug="marketing")
    churn = RegisteredModelFactory(
        name="churn",
        team=team,
        owner=scientist,
        risk_tier="high",
        task_type="binary-classification",
        description="Who leaves next month",
    )
    chart = RegisteredModelFactory(name="chart-reader", team=other, owner=scientist, risk_tier="low")
    price = RegisteredModelFactory(name="price", team=team, owner=scientist, risk_tier="critical")
    churn.tags.add(Tag.objects.create(name="tabular"))
    version = version_create(price, scientist)
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.PRODUCTION)
    return churn, chart, price


def test_model_filters(models):
    assert _names({"q": "leaves"}) == ["churn"]  # the description
    assert _names({"q": "tabular"}) == ["churn"]  # a tag
    assert _names({"name_prefix": "ch"}) == ["chart-reader", "churn"]
    assert _names({"team": "marketing"}) == ["chart-reader"]
    assert _names({"stage": "production"}) == ["price"]
    assert _names({"risk_tier": "high"}) == ["churn"]
    assert _names({"task_type": "binary-classification"}) == ["churn"]
    assert _names({"tag": "Tabular"}) == ["churn"]
    assert _names({"sort": "-risk_tier"}) == ["price", "churn", "chart-reader"]  # by severity, not the alphabet


def test_model_filters_refuse_what_they_cannot_read(models):
    for bad in ({"team": "nobody"}, {"stage": "limbo"}, {"risk_tier": "extreme"}, {"sort": "owner"}):
        assert not RegisteredModelFilterSet(bad, queryset=RegisteredModel.objects.all()).is_valid(), bad


def test_job_filters(scientist, team):
    model = RegisteredModelFactory(name="lin", team=team, owner=scientist)
    one, two = version_create(model, scientist), version_create(model, scientist)
    passed = JobFactory(version=one, kind=JobKind.VALIDATION)
    failed = JobFactory(version=two, kind=JobKind.BENCHMARK, verdict=Verdict.FAILED, queue="gpu")
    queued = JobFactory(version=two, kind=JobKind.BENCHMARK, status=JobStatus.QUEUED, verdict="", queue="gpu")

    def ids(data):
        filterset = JobFilterSet(data, queryset=job_list())
        assert filterset.is_valid(), filterset.errors
        return [j.pk for j in filterset.qs]

    assert ids({"status": "queued"}) == [queued.pk]
    assert ids({"kind": "validation"}) == [passed.pk]
    assert ids({"model": "lin", "version": 2}) == [queued.pk, failed.pk]  # newest first
    assert ids({"queue": "gpu", "verdict": "failed"}) == [failed.pk]
    assert not JobFilterSet({"status": "done"}, queryset=Job.objects.all()).is_valid()
