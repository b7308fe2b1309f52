"""Findings: who may do each step, the state table, the release they hold back, the audit trail and the mail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from approvals import services
from approvals.choices import FindingStatus, RequestStatus
from approvals.models import Finding, FindingComment, Policy
from approvals.selectors import evidence_for
from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.factories import JUSTIFICATION, UserFactory, evidence

pytestmark = pytest.mark.django_db
FOUND = "The model scores applicants from one region 8 points lower at equal income."


@pytest.fixture
def in_test(world):
    """The high-risk model's version in test, with passing validation and benchmark on its artifact."""
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    version.refresh_from_db()
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    return model, version


def _open(actor, version, severity="high", **kwargs):
    values = {"title": "Regional bias in scores", "description": FOUND, **kwargs}
    return services.finding_open(actor=actor, version=version, severity=severity, **values)


def _request(users, version):
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=JUSTIFICATION
    )
    for role in ("itops", "reviewer"):
        services.promotion_request_decide(actor=users[role], request=request, decision="approve", comment="ok")
    request.refresh_from_db()
    return request


def test_an_open_high_finding_holds_test_to_production_until_verified(users, in_test):
    model, version = in_test
    finding = _open(users["reviewer"], version)
    assert finding.owner == model.owner and finding.due_date == timezone.localdate() + dt.timedelta(days=14)
    request = _request(users, version)
    version.refresh_from_db()
    # Every approval is in; the finding is the one piece missing.
    assert request.status == RequestStatus.APPROVED and version.stage == Stage.TEST
    missing = [e for e in evidence_for(version, request.policy, request.artifact_sha256) if not e.satisfied]
    assert [e.key for e in missing] == ["findings"]
    assert f"#{finding.pk} high (open): Regional bias" in missing[0].message
    # Remediated is not enough: a reviewer must verify it.
    services.finding_transition(
        actor=users["scientist"], finding=finding, action="remediate", comment="Retrained with region reweighting."
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    services.finding_transition(
        actor=users["itops"], finding=finding, action="verify", comment="Gap is 0.4 points on the holdout."
    )
    request.refresh_from_db()
    version.refresh_from_db()
    assert request.status == RequestStatus.APPLIED and version.stage == Stage.PRODUCTION
    finding.refresh_from_db()
    assert finding.status == FindingStatus.VERIFIED and finding.resolved_by == users["itops"]
    assert list(FindingComment.objects.filter(finding=finding).values_list("to_status", flat=True)) == [
        "remediated",
        "verified",
    ]


def test_accepting_the_risk_lets_the_request_apply(users, in_test):
    model, version = in_test
    finding = _open(users["itops"], version, severity="critical")
    request = _request(users, version)
    assert request.status == RequestStatus.APPROVED
    with pytest.raises(ApplicationError, match="at least 20"):
        services.finding_transition(actor=users["reviewer"], finding=finding, action="accept", comment="fine")
    services.finding_transition(
        actor=users["reviewer"],
        finding=finding,
        action="accept",
        comment="Compensating control: manual review of every decline in the region until v2.",
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.APPLIED
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACCEPTED and "manual review" in finding.resolution


def test_low_and_medium_findings_do_not_block_by_default(users, in_test):
    model, version = in_test
    _open(users["reviewer"], version, severity="medium")
    _open(users["reviewer"], version, severity="low")
    request = _request(users, version)
    assert request.status == RequestStatus.APPLIED


def test_the_policy_names_what_blocks(users, in_test):
    model, version = in_test
    policy = Policy.objects.get(risk_tier="high", transition="test->production")
    assert policy.blocking_findings == ["high", "critical"]  # the default the migration sets
    policy.blocking_findings = ["medium", "high", "critical"]
    services.policy_save(actor=users["itops"], policy=policy)
    _open(users["reviewer"], version, severity="medium")
    assert _request(users, version).status == RequestStatus.APPROVED
    policy.blocking_findings = ["severe"]
    with pytest.raises(ValidationError, match="list of severities"):
        services.policy_save(actor=users["itops"], policy=policy)


def test_a_finding_opened_after_approval_still_holds_the_release(users, in_test):
    """The guard is checked when the request applies, not only when it opened."""
    model, version = in_test
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=JUSTIFICATION
    )
    services.promotion_request_decide(actor=users["itops"], request=request, decision="approve", comment="ok")
    _open(users["reviewer"], version)
    services.promotion_request_decide(actor=users["reviewer"], request=request, decision="approve", comment="ok")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


# Who may take each step: the state table for every role (the scientist owns the model and the finding).
MAY = {
    "open": {"scientist", "itops", "reviewer"},
    "remediate": {"scientist", "itops", "reviewer"},
    "verify": {"itops", "reviewer"},
    "accept": {"reviewer"},
    "comment": {"scientist", "itops", "reviewer"},
}


@pytest.mark.parametrize("step", MAY)
def test_who_may_take_each_step(step, users, in_test):
    model, version = in_test
    for role, user in users.items():
        finding = _open(users["itops"], version)
        if step in ("verify",):
            services.finding_transition(
                actor=users["scientist"], finding=finding, action="remediate", comment="Fixed in the pipeline."
            )
        try:
            if step == "open":
                _open(user, version)
            elif step == "comment":
                services.finding_comment(actor=user, finding=finding, body="Looking at it.")
            else:
                services.finding_transition(
                    actor=user, finding=finding, action=step, comment="Because the evidence says so, in detail."
                )
        except PermissionDenied as exc:
            assert role not in MAY[step], f"{role} may not {step}: {exc}"
        else:
            assert role in MAY[step], f"{role} could {step}"


def test_separation_of_duties_and_the_state_table(users, in_test):
    model, version = in_test
    finding = _open(users["reviewer"], version)
    with pytest.raises(ApplicationError, match="cannot be asked to verify"):
        services.finding_transition(actor=users["itops"], finding=finding, action="verify", comment="Looks fine now.")
    services.finding_transition(actor=users["itops"], finding=finding, action="remediate", comment="Patched myself.")
    with pytest.raises(PermissionDenied, match="separation of duties"):
        services.finding_transition(actor=users["itops"], finding=finding, action="verify", comment="Looks fine now.")
    services.finding_transition(
        actor=users["reviewer"], finding=finding, action="reopen", comment="The gap is still 5 points."
    )
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN and finding.remediated_by is None
    with pytest.raises(ApplicationError, match="not a step"):
        services.finding_transition(actor=users["itops"], finding=finding, action="close", comment="x" * 20)
    # The owner of a finding does not accept their own risk.
    mine = _open(users["reviewer"], version, owner=users["reviewer"])
    with pytest.raises(PermissionDenied, match="other than its owner"):
        services.finding_transition(actor=users["reviewer"], finding=mine, action="accept", comment="y" * 30)


def test_bad_input_is_refused_with_the_field_and_writes_nothing(users, in_test, settings):
    model, version = in_test
    cases = [
        ({"title": "bias"}, "title"),
        ({"severity": "severe"}, "severity"),
        ({"description": "short"}, "description"),
        ({"due_date": timezone.localdate() - dt.timedelta(days=1)}, "due_date"),
        ({"owner": UserFactory(username="gone", is_active=False)}, "owner"),
    ]
    for change, field in cases:
        values = {"title": "Regional bias in scores", "severity": "high", "description": FOUND, **change}
        with pytest.raises(ApplicationError) as caught:
            services.finding_open(actor=users["reviewer"], version=version, **values)
        assert caught.value.field == field, change
    settings.GATEHOUSE_FINDING_TEXT_MAX_CHARS = 200
    with pytest.raises(ApplicationError, match="GATEHOUSE_FINDING_TEXT_MAX_CHARS"):
        _open(users["reviewer"], version, description="x" * 201)
    assert not Finding.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="approvals.finding").exists()


def test_every_change_is_audited(users, in_test):
    model, version = in_test
    finding = _open(users["reviewer"], version)
    services.finding_update(actor=users["reviewer"], finding=finding, severity="medium", owner=users["itops"])
    services.finding_comment(actor=users["scientist"], finding=finding, body="We are retraining.")
    services.finding_transition(actor=users["itops"], finding=finding, action="remediate", comment="Retrained it.")
    events = AuditEvent.objects.filter(object_type="approvals.finding", object_id=str(finding.pk)).order_by("seq")
    assert [e.action for e in events] == [
        "approvals.finding.opened",
        "approvals.finding.updated",
        "approvals.finding.commented",
        "approvals.finding.status_changed",
    ]
    updated = events[1]
    assert updated.before == {"severity": "high", "owner": "dana"}
    assert updated.after == {"severity": "medium", "owner": "ivo"}
    # Nothing changed: nothing recorded.
    services.finding_update(actor=users["reviewer"], finding=finding, severity="medium")
    assert events.count() == 4


def test_whoever_must_act_next_is_emailed(users, in_test, django_capture_on_commit_callbacks):
    model, version = in_test
    for user in users.values():
        user.email = f"{user.username}@example.com"
        user.save()
    with django_capture_on_commit_callbacks(execute=True):
        finding = _open(users["reviewer"], version)
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]
    assert "remediate" in mail.outbox[0].body.lower() and f"/findings/{finding.pk}/" in mail.outbox[0].body
    assert mail.outbox[0].subject.startswith(f"[Gatehouse] Finding #{finding.pk} on churn v1")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.finding_transition(
            actor=users["scientist"], finding=finding, action="remediate", comment="Retrained with reweighting."
        )
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]  # who raised it verifies
    assert "Retrained with reweighting." in mail.outbox[0].body
