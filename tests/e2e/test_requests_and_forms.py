"""In Chromium: forms that say everything at once and read floors as people write them; a rejected request's
reason on the version page and under "My requests"; the request page after one's own approval."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from approvals import services
from registry.choices import JobKind, Stage
from registry.models import ModelVersion, RegisteredModel
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.factories import JUSTIFICATION as WHY
from tests.factories import RegisteredModelFactory, UserFactory, evidence, version_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_register_form_says_everything_in_one_round_and_reads_floors_as_written(page, scientist, team):
    login(page, "dana")
    page.goto("/models/new/")
    page.select_option("#id_task_type", "binary-classification")
    page.select_option("#id_risk_tier", "high")
    page.fill("#id_metric_floors", "roc_auc >= 0.95\nf1: 0.8\nbogus = 1")
    page.click("button[type=submit]")  # no name, and a floor the task does not compute
    page.wait_for_selector(".errorlist")
    errors = page.inner_text("form.form")
    assert "This field is required" in errors and "No metric named bogus" in errors  # one round, both
    assert page.get_attribute("#id_metric_floors", "rows") == "4"  # every line shows
    _shot(page, "32-register-errors")
    page.fill("#id_name", "churn")
    page.fill("#id_metric_floors", "roc_auc >= 0.95\nf1: 0.8")
    page.click("button[type=submit]")
    page.wait_for_url("**/models/churn/")
    assert RegisteredModel.objects.get(name="churn").metric_floors == {"roc_auc": 0.95, "f1": 0.8}
    shown = page.inner_text("main")  # PostgreSQL's jsonb keeps keys in its own order
    assert "roc_auc ≥ 0.95" in shown and "f1 ≥ 0.8" in shown


def test_a_rejection_reads_on_the_version_page_and_under_my_requests(page, scientist, team):
    import_module("approvals.migrations.0002_default_policies").create(apps, None)  # flushed by earlier tests
    reviewer = UserFactory(username="rita", role="risk-reviewers")
    model = RegisteredModelFactory(
        name="churn", team=team, owner=scientist, risk_tier="high", slo_p99_latency_ms=10.0, slo_min_throughput=1000.0
    )
    version = version_create(model, scientist)
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    request = services.promotion_request_open(actor=scientist, version=version, action="promote", justification=WHY)
    services.promotion_request_decide(
        actor=reviewer,
        request=request,
        decision="reject",
        comment="Recall on the 2026 holdout is too low for claims triage.",
    )
    login(page, "dana")
    page.goto(f"/models/churn/versions/{version.number}/")
    rows = page.inner_text("#version-requests")
    assert f"#{request.pk}" in rows and "Rejected" in rows
    assert "Recall on the 2026 holdout is too low for claims triage." in rows
    _shot(page, "33-version-requests")
    page.click("nav >> text=Approvals")
    page.click("text=My requests")
    page.wait_for_selector("#request-table")
    assert page.inner_text("h1") == "My requests"
    assert f"#{request.pk}" in page.inner_text("#request-table")


def test_after_approving_the_page_says_what_you_decided(page, scientist, team):
    import_module("approvals.migrations.0002_default_policies").create(apps, None)
    UserFactory(username="ivo", role="it-operations")
    model = RegisteredModelFactory(
        name="fraud",
        team=team,
        owner=scientist,
        risk_tier="critical",
        slo_p99_latency_ms=10.0,
        slo_min_throughput=1000.0,
    )
    version = version_create(model, scientist)
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = services.promotion_request_open(actor=scientist, version=version, action="promote", justification=WHY)
    login(page, "ivo")
    page.goto(f"/approvals/requests/{request.pk}/")
    page.check("input[value=approve]")
    page.fill("#decision-form textarea", "Capacity reserved.")
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector("#my-decision")
    said = page.inner_text("#my-decision")
    assert said.startswith("You approved this request on ") and "waits for the other approvals" in said
    assert "No decision here is yours" not in page.inner_text("main")
    _shot(page, "34-after-approving")
