"""In Chromium: a risk reviewer opens a high finding on a high-risk version; the approved request waits on it; the
owner marks it remediated, IT verifies it, and the request applies."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from approvals import services
from approvals.models import Finding
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.e2e.conftest import login
from tests.e2e.test_register_and_upload import _shot
from tests.factories import JUSTIFICATION as WHY
from tests.factories import RegisteredModelFactory, UserFactory, evidence, version_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def as_user(browser, live_server):
    """A page signed in as each person, in separate browser contexts (separate sessions)."""
    contexts = []

    def open_as(username: str):
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        login(page, username)
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_a_high_finding_holds_the_release_until_it_is_verified(as_user, scientist, team):
    import_module("approvals.migrations.0002_default_policies").create(apps, None)  # flushed by earlier tests
    import_module("approvals.migrations.0008_findings").block_severe(apps, None)
    itops = UserFactory(username="ivo", role="it-operations")
    reviewer = UserFactory(username="rita", role="risk-reviewers")
    model = RegisteredModelFactory(
        name="credit-risk",
        team=team,
        owner=scientist,
        risk_tier="high",
        slo_p99_latency_ms=10.0,
        slo_min_throughput=1000.0,
    )
    version = version_create(model, scientist)
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = services.promotion_request_open(actor=scientist, version=version, action="promote", justification=WHY)

    # The risk reviewer opens a high finding from the request under review.
    rita = as_user(reviewer.username)
    rita.goto(f"/approvals/requests/{request.pk}/")
    rita.click("#open-finding")
    rita.wait_for_selector("#finding-form")
    rita.fill("#id_title", "Declines cluster in one postcode area")
    rita.select_option("#id_severity", "high")
    rita.fill("#id_description", "At equal income, applicants from one area are declined 3x as often.")
    _shot(rita, "20-finding-form")
    rita.click("#finding-form button[type=submit]")
    rita.wait_for_selector("#finding-status")
    finding = Finding.objects.get()
    assert finding.request_id == request.pk and finding.owner == scientist
    assert rita.inner_text("#finding-status") == "Open"

    # Both approvals are in, yet the request waits on the finding, and says so.
    services.promotion_request_decide(actor=itops, request=request, decision="approve", comment="ok")
    services.promotion_request_decide(actor=reviewer, request=request, decision="approve", comment="ok")
    rita.goto(f"/approvals/requests/{request.pk}/")
    assert rita.inner_text("#request-status") == "Waiting for evidence"
    assert f"#{finding.pk} high (open)" in rita.inner_text("#evidence")
    assert "blocks this step" in rita.inner_text("#request-findings")
    _shot(rita, "21-request-held-by-finding")

    # The owner marks it remediated on the finding's page.
    dana = as_user(scientist.username)
    dana.goto(f"/findings/{finding.pk}/")
    dana.fill("#id_comment_remediate", "Retrained without the postcode feature; gap now 0.2x.")
    dana.click("#step-remediate button[type=submit]")
    dana.wait_for_selector(".message-success")
    assert dana.inner_text("#finding-status") == "Remediated (to verify)"
    assert dana.locator("#step-verify").count() == 0  # not theirs to verify

    # IT sees it in the queue's row? The request needs no more approvals, so it is not in IT's queue; IT verifies.
    ivo = as_user(itops.username)
    ivo.goto("/findings/")
    assert "Declines cluster" in ivo.inner_text("#finding-table")
    ivo.click("#finding-table >> text=Declines cluster in one postcode area")
    ivo.fill("#id_comment_verify", "Re-ran validation #1 on the holdout: ratio 1.2x, under the 1.5x limit.")
    _shot(ivo, "22-finding-verify")
    ivo.click("#step-verify button[type=submit]")
    ivo.wait_for_selector(".message-success")
    assert ivo.inner_text("#finding-status") == "Verified"
    assert "Retrained without the postcode feature" in ivo.inner_text("#thread")

    # Verifying it let the request apply.
    ivo.goto(f"/approvals/requests/{request.pk}/")
    assert ivo.inner_text("#request-status") == "Applied"
    version.refresh_from_db()
    assert version.stage == Stage.PRODUCTION
    ivo.goto(f"/models/credit-risk/versions/{version.number}/")
    assert "Verified" in ivo.inner_text("#version-findings")
    _shot(ivo, "23-version-with-findings")
    assert rita.console_errors == dana.console_errors == ivo.console_errors == []
