"""In Chromium: an IT user opens the queue, reads a request, approves it and sees the stage change."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from approvals import services
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.factories import JUSTIFICATION as WHY
from tests.factories import RegisteredModelFactory, UserFactory, evidence, version_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_approves_from_the_queue_and_sees_the_stage_change(page, scientist, team):
    import_module("approvals.migrations.0002_default_policies").create(apps, None)  # flushed by earlier tests
    itops = UserFactory(username="ivo", role="it-operations")
    model = RegisteredModelFactory(
        name="churn", team=team, owner=scientist, risk_tier="medium", slo_p99_latency_ms=10.0, slo_min_throughput=1000.0
    )
    version = version_create(model, scientist)
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = services.promotion_request_open(actor=scientist, version=version, action="promote", justification=WHY)
    login(page, itops.username)
    page.click("nav >> text=Approvals")
    page.wait_for_selector("#queue")
    _shot(page, "08-queue")
    page.click(f"#queue >> text=churn v{version.number}")
    page.wait_for_url(f"**/approvals/requests/{request.pk}/")
    assert "present" in page.inner_text("#evidence")
    page.check("input[value=approve]")
    page.fill("#decision-form textarea", "Capacity reserved; go.")
    _shot(page, "09-request-before-approval")
    page.click("#decision-form button[type=submit]")
    page.wait_for_selector(".message-success")
    assert "is now in production" in page.inner_text(".messages")
    assert page.inner_text("#request-status") == "Applied"
    page.goto(f"/models/churn/versions/{version.number}/")
    assert "Production" in page.inner_text("h1")
    _shot(page, "10-version-in-production")
    assert page.console_errors == []
