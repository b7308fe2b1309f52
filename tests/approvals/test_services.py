"""The release workflow: the state table for every role, separation of duties, policy snapshots."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from approvals import services
from approvals.choices import RequestStatus
from approvals.models import Policy, StageChange
from approvals.selectors import evidence_for, roles_user_can_decide_in
from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from registry.choices import JobKind, Stage
from registry.models import Job, ModelVersion
from tests.factories import (
    JUSTIFICATION,
    RegisteredModelFactory,
    UserFactory,
    evidence,
    promote_to_production,
    version_create,
)

pytestmark = pytest.mark.django_db

WHY = JUSTIFICATION


# (stage, action) → who may open the request: the state table for every role.
MAY_REQUEST = {
    (Stage.DESIGN, "promote"): {"scientist"},
    (Stage.TEST, "promote"): {"scientist"},
    (Stage.PRODUCTION, "retire"): {"itops", "scientist"},  # the owner may ask too
    (Stage.DESIGN, "retire"): set(),
    (Stage.DESIGN, "rollback"): set(),
    (Stage.TEST, "retire"): set(),
    (Stage.PRODUCTION, "promote"): set(),
    (Stage.RETIRED, "promote"): set(),
}


@pytest.mark.parametrize(("stage", "action"), MAY_REQUEST, ids=[f"{s}-{a}" for s, a in MAY_REQUEST])
def test_who_may_open_each_transition(stage, action, users, world):
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=stage)
    for role, user in users.items():
        allowed = role in MAY_REQUEST[(stage, action)]
        try:
            request = services.promotion_request_open(actor=user, version=version, action=action, justification=WHY)
        except (PermissionDenied, ApplicationError) as exc:
            assert not allowed, f"{role} {stage}/{action}: {exc}"
        else:
            assert allowed, f"{role} could {stage}/{action}"
            services.promotion_request_withdraw(actor=user, request=request)


def test_high_risk_design_to_test_needs_a_peer_andevidence(users, world):
    model, version = world
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    assert request.policy["approvals"] == {"data-scientists": 1}
    assert request.artifact_sha256 == version.sha256
    with pytest.raises(PermissionDenied, match="own request"):
        services.promotion_request_decide(actor=users["scientist"], request=request, decision="approve", comment="ok")
    with pytest.raises(PermissionDenied):
        services.promotion_request_decide(actor=users["manager"], request=request, decision="approve", comment="")
    peer = UserFactory(username="peer", role="data-scientists")
    services.promotion_request_decide(actor=peer, request=request, decision="approve", comment="Looks right")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED  # approvals in, evidence missing
    version.refresh_from_db()
    assert version.stage == Stage.DESIGN
    evidence(version, JobKind.VALIDATION)
    services.promotion_requests_recheck(version_id=version.pk)
    request.refresh_from_db()
    version.refresh_from_db()
    assert request.status == RequestStatus.APPLIED and version.stage == Stage.TEST
    change = StageChange.objects.get(version=version)
    assert (change.from_stage, change.to_stage, change.request) == (Stage.DESIGN, Stage.TEST, request)
    with pytest.raises(ApplicationError, match="takes no more decisions"):
        services.promotion_request_decide(actor=peer, request=request, decision="approve", comment="again")


def test_critical_needs_two_different_it_people(users, world):
    model, version = world
    type(model).objects.filter(pk=model.pk).update(risk_tier="critical")
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    assert request.policy["approvals"] == {"it-operations": 2, "risk-reviewers": 1}
    services.promotion_request_decide(actor=users["itops"], request=request, decision="approve", comment="ok")
    with pytest.raises(ApplicationError, match="counts once"):
        services.promotion_request_decide(actor=users["itops"], request=request, decision="approve", comment="ok")
    services.promotion_request_decide(actor=users["reviewer"], request=request, decision="approve", comment="ok")
    version.refresh_from_db()
    assert version.stage == Stage.TEST
    services.promotion_request_decide(
        actor=UserFactory(role="it-operations"), request=request, decision="approve", comment="second IT"
    )
    version.refresh_from_db()
    assert version.stage == Stage.PRODUCTION


def test_test_to_production_high_needs_it_and_risk_and_retires_the_old_one(users, world):
    model, version = world
    old = version_create(model, users["scientist"])
    ModelVersion.objects.filter(pk=old.pk).update(stage=Stage.PRODUCTION)
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    services.promotion_request_decide(actor=users["itops"], request=request, decision="approve", comment="ok")
    with pytest.raises(PermissionDenied):  # IT's one approval is in; a second IT person is not needed
        services.promotion_request_decide(
            actor=UserFactory(role="it-operations"), request=request, decision="approve", comment="me too"
        )
    version.refresh_from_db()
    assert version.stage == Stage.TEST
    services.promotion_request_decide(actor=users["reviewer"], request=request, decision="approve", comment="ok")
    version.refresh_from_db()
    old.refresh_from_db()
    assert (version.stage, old.stage) == (Stage.PRODUCTION, Stage.RETIRED)
    assert StageChange.objects.get(version=old).reason == f"Superseded by v{version.number}"
    assert ModelVersion.objects.filter(model=model, stage=Stage.PRODUCTION).count() == 1
    actions = list(
        AuditEvent.objects.filter(object_type="approvals.promotionrequest")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "approvals.request.opened",
        "approvals.request.approved",
        "approvals.request.approved",
        "approvals.request.applied",
    ]


def test_a_rejection_closes_the_request_with_its_reason(users, world):
    model, version = world
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    peer = UserFactory(role="data-scientists")
    with pytest.raises(ApplicationError, match="Say why"):
        services.promotion_request_decide(actor=peer, request=request, decision="reject", comment="")
    services.promotion_request_decide(
        actor=peer, request=request, decision="reject", comment="Recall on the minority class is too low."
    )
    request.refresh_from_db()
    version.refresh_from_db()
    assert request.status == RequestStatus.REJECTED and request.reason.startswith("Recall")
    assert version.stage == Stage.DESIGN


def test_the_policy_is_snapshotted_when_the_request_opens(users, world):
    model, version = world
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    Policy.objects.filter(risk_tier="high", transition="design->test").update(approvals={"data-scientists": 3})
    request.refresh_from_db()
    assert request.policy["approvals"] == {"data-scientists": 1}


def test_low_risk_design_to_test_applies_at_once_with_theevidence(users, team):
    model = RegisteredModelFactory(
        name="small",
        team=team,
        owner=users["scientist"],
        risk_tier="low",
        **{
            f: "x"
            for f in (
                "out_of_scope_use",
                "training_data",
                "evaluation_data",
                "metrics_description",
                "limitations",
                "ethical_considerations",
                "caveats",
            )
        },
    )
    version = version_create(model, users["scientist"])
    evidence(version, JobKind.VALIDATION)
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    assert request.status == RequestStatus.APPLIED


def test_one_open_request_per_version_and_withdraw(users, world):
    model, version = world
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    with pytest.raises(ApplicationError, match="already has an open request"):
        services.promotion_request_open(actor=users["scientist"], version=version, action="promote", justification=WHY)
    with pytest.raises(PermissionDenied):
        services.promotion_request_withdraw(actor=users["itops"], request=request)
    services.promotion_request_withdraw(actor=users["scientist"], request=request)
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN


def test_rollback_brings_back_the_previous_production_version(users, world):
    model, v1 = world
    ModelVersion.objects.filter(pk=v1.pk).update(stage=Stage.TEST)
    evidence(v1, JobKind.VALIDATION, JobKind.BENCHMARK)
    r1 = services.promotion_request_open(actor=users["scientist"], version=v1, action="promote", justification=WHY)
    services.promotion_request_decide(actor=users["itops"], request=r1, decision="approve", comment="ok")
    services.promotion_request_decide(actor=users["reviewer"], request=r1, decision="approve", comment="ok")
    v2 = version_create(model, users["scientist"])
    ModelVersion.objects.filter(pk=v2.pk).update(stage=Stage.TEST)
    v2.refresh_from_db()
    evidence(v2, JobKind.VALIDATION, JobKind.BENCHMARK)
    r2 = services.promotion_request_open(actor=users["scientist"], version=v2, action="promote", justification=WHY)
    services.promotion_request_decide(actor=users["itops"], request=r2, decision="approve", comment="ok")
    services.promotion_request_decide(actor=users["reviewer"], request=r2, decision="approve", comment="ok")
    v1.refresh_from_db()
    assert v1.stage == Stage.RETIRED
    with pytest.raises(PermissionDenied):
        services.promotion_request_open(actor=users["scientist"], version=v1, action="rollback", justification=WHY)
    rb = services.promotion_request_open(
        actor=users["itops"], version=v1, action="rollback", justification="v2 doubles the error rate in production."
    )
    services.promotion_request_decide(
        actor=UserFactory(role="it-operations"), request=rb, decision="approve", comment="Roll back now."
    )
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.stage, v2.stage) == (Stage.PRODUCTION, Stage.RETIRED)


def test_retirement_by_it_or_the_owner(users, world):
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.PRODUCTION)
    request = services.promotion_request_open(
        actor=users["itops"], version=version, action="retire", justification="Replaced by the new pricing service."
    )
    services.promotion_request_decide(
        actor=users["scientist"], request=request, decision="approve", comment="As the owner, agreed."
    )
    version.refresh_from_db()
    assert version.stage == Stage.RETIRED


def test_a_rollback_that_became_stale_is_closed_not_applied(users, world):
    model, v1 = world
    promote_to_production(v1, users)
    v2 = version_create(model, users["scientist"])
    promote_to_production(v2, users)
    rollback = services.promotion_request_open(
        actor=users["itops"], version=v1, action="rollback", justification="v2 misbehaves; back to v1."
    )
    v3 = version_create(model, users["scientist"])
    promote_to_production(v3, users)  # v2 retired: v1 is no longer "the one before the current"
    rollback.refresh_from_db()
    assert rollback.status == RequestStatus.OPEN
    services.promotion_request_decide(
        actor=UserFactory(role="it-operations"), request=rollback, decision="approve", comment="go"
    )
    rollback.refresh_from_db()
    v1.refresh_from_db()
    assert rollback.status == RequestStatus.WITHDRAWN and "would skip a version" in rollback.reason
    assert v1.stage == Stage.RETIRED


def test_open_requests_on_a_superseded_version_are_closed_at_once(users, world):
    model, v1 = world
    promote_to_production(v1, users)
    retire = services.promotion_request_open(
        actor=users["itops"], version=v1, action="retire", justification="Planned retirement next week."
    )
    v2 = version_create(model, users["scientist"])
    promote_to_production(v2, users)
    retire.refresh_from_db()
    assert retire.status == RequestStatus.WITHDRAWN
    assert "moved from production to retired" in retire.reason


def test_a_validation_with_loosened_floors_is_notevidence(users, world):
    model, version = world
    type(model).objects.filter(pk=model.pk).update(metric_floors={"r2": 0.25}, noninferiority_margin=0.01)
    version.refresh_from_db()
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION)
    Job.objects.filter(version=version, kind=JobKind.VALIDATION).update(parameters={"floors": {"r2": -5}, "margin": 5})
    policy = {"transition": "test->production", "evidence": {"validation": True}}
    item = evidence_for(version, policy)[0]
    assert not item.satisfied
    assert "looser than the model's 0.25" in item.message


def test_benchmark_evidence_from_a_named_device_class(users, world):
    model, version = world
    job = Job(
        result={"runtime": {"device": "gpu"}}, environment={"nvml": {"gpus": [{"name": "NVIDIA H100 80GB HBM3"}]}}
    )
    assert job.ran_on("") and job.ran_on("gpu") and job.ran_on("h100")
    assert not job.ran_on("a100") and not job.ran_on("cpu")
    a100 = Job(
        result={"runtime": {"device": "gpu"}}, environment={"nvml": {"gpus": [{"name": "NVIDIA A100-SXM4-40GB"}]}}
    )
    assert a100.ran_on("a100") and not a100.ran_on("a10")  # a class is a name, not a substring
    cpu_job = Job(result={"runtime": {"device": "cpu"}}, environment={"nvml": {"gpus": []}})
    assert cpu_job.ran_on("cpu") and not cpu_job.ran_on("gpu") and not cpu_job.ran_on("h100")


def test_benchmark_evidence_is_judged_by_the_model_slo_now(users, world):
    model, version = world
    evidence(version, JobKind.BENCHMARK)  # p99 1.0 ms, 5,000 samples/s
    policy = {"transition": "test->production", "evidence": {"benchmark": True}}
    assert evidence_for(version, policy)[0].satisfied
    type(model).objects.filter(pk=model.pk).update(slo_p99_latency_ms=0.5)
    version.model.refresh_from_db()
    assert not evidence_for(version, policy)[0].satisfied


def test_the_author_of_the_artifact_does_not_approve_its_promotion(users, world):
    model, version = world  # uploaded by the scientist
    peer = UserFactory(role="data-scientists")
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )

    assert roles_user_can_decide_in(users["scientist"], request) == []
    assert roles_user_can_decide_in(peer, request) == ["data-scientists"]


def test_audit_names_each_decision(users, world):
    model, version = world
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    services.promotion_request_decide(
        actor=UserFactory(role="data-scientists"),
        request=request,
        decision="reject",
        comment="Not ready: recall too low.",
    )
    actions = set(AuditEvent.objects.filter(object_type="approvals.promotionrequest").values_list("action", flat=True))
    assert actions == {"approvals.request.opened", "approvals.request.rejected"}


def test_policy_approval_counts_are_whole_numbers_of_known_roles():
    policy = Policy.objects.get(risk_tier="high", transition="test->production")
    policy.full_clean()  # the shipped defaults are valid
    for bad, message in (
        ({"it-operations": 1.5}, "whole number"),
        ({"it-operations": "2"}, "whole number"),
        ({"it-operations": 0}, "at least 1"),
        ({"auditors": 1}, "not a role"),
        ([1], "role"),
    ):
        policy.approvals = bad
        with pytest.raises(ValidationError) as info:
            policy.full_clean()
        assert message in str(info.value), bad
