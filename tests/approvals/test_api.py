"""Release API: requests, decisions, production; the requester's own approval refused; managers get 403."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from approvals import services
from approvals.choices import RequestStatus
from approvals.models import PromotionRequest
from portal.core.roles import ensure_role_groups
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.factories import JUSTIFICATION as WHY
from tests.factories import RegisteredModelFactory, UserFactory, evidence, version_create

pytestmark = pytest.mark.django_db


def test_the_release_flow_through_the_api(api, users, world):  # noqa: F811
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    api.force_authenticate(users["scientist"])
    body = api.post(
        "/api/v1/requests/",
        {"model": "churn", "version": version.number, "action": "promote", "justification": WHY},
        format="json",
    ).json()
    assert body["status"] == "open" and body["to_stage"] == "production"
    assert any("No passed validation" in m for m in body["missing_evidence"])
    pk = body["id"]
    assert api.post(f"/api/v1/requests/{pk}/decide/", {"decision": "approve"}, format="json").status_code == 403
    api.force_authenticate(users["manager"])
    assert api.post(f"/api/v1/requests/{pk}/decide/", {"decision": "approve"}, format="json").status_code == 403
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    for role in ("itops", "reviewer"):
        api.force_authenticate(users[role])
        response = api.post(f"/api/v1/requests/{pk}/decide/", {"decision": "approve", "comment": "ok"}, format="json")
        assert response.status_code == 200
    assert response.json()["status"] == "applied"
    production = api.get("/api/v1/production/").json()
    assert [(p["model"], p["version"], p["sha256"]) for p in production] == [("churn", version.number, version.sha256)]
    assert production[0]["since"] is not None
    assert production[0]["artifact_url"].endswith(f"/api/v1/models/churn/versions/{version.number}/artifact/")


def test_api_errors(api, users, world):  # noqa: F811
    model, version = world
    api.force_authenticate(users["scientist"])
    response = api.post(
        "/api/v1/requests/",
        {"model": "churn", "version": version.number, "action": "retire", "justification": WHY},
        format="json",
    )
    assert response.status_code == 400 and "cannot be asked to retire" in response.json()["action"][0]
    assert api.post("/api/v1/requests/", {"model": "churn"}, format="json").status_code == 400
    assert api.get("/api/v1/requests/999/").status_code == 404
    api.force_authenticate(users["manager"])
    response = api.post(
        "/api/v1/requests/",
        {"model": "churn", "version": version.number, "action": "promote", "justification": WHY},
        format="json",
    )
    assert response.status_code == 403


def _decide(user, request, barrier, outcomes: list[str]) -> None:
    try:
        barrier.wait()
        services.promotion_request_decide(actor=user, request=request, decision="approve", comment="go")
        outcomes.append("ok")
    except Exception as exc:  # the late one finds no place left (PermissionDenied)
        outcomes.append(type(exc).__name__)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are exercised on PostgreSQL")
def test_two_approvers_at_the_same_moment_apply_once(team):
    ensure_role_groups()
    scientist = UserFactory(username="dana", role="data-scientists", teams=[team])

    for round_ in range(10):
        model = RegisteredModelFactory(
            name=f"race-{round_}",
            team=team,
            owner=scientist,
            risk_tier="critical",
            slo_p99_latency_ms=10.0,
            slo_min_throughput=1000.0,
        )
        old = version_create(model, scientist)
        ModelVersion.objects.filter(pk=old.pk).update(stage=Stage.PRODUCTION)
        version = version_create(model, scientist)
        ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
        evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
        request = services.promotion_request_open(actor=scientist, version=version, action="promote", justification=WHY)
        reviewer = UserFactory(role="risk-reviewers")
        services.promotion_request_decide(actor=reviewer, request=request, decision="approve", comment="ok")
        approvers = [UserFactory(role="it-operations") for _ in range(3)]  # 3 race for the 2 IT places
        barrier = threading.Barrier(len(approvers))
        outcomes: list[str] = []

        threads = [threading.Thread(target=_decide, args=(u, request, barrier, outcomes)) for u in approvers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        request.refresh_from_db()
        assert request.status == RequestStatus.APPLIED
        assert outcomes.count("ok") == 2, outcomes
        assert ModelVersion.objects.filter(model=model, stage=Stage.PRODUCTION).count() == 1
        assert request.decisions.filter(decision="approve", role="it-operations").count() == 2
        assert PromotionRequest.objects.filter(version=version).count() == 1


def test_api_shapes_for_unknown_paths_and_filters(api, client, users):
    api.force_authenticate(users["manager"])
    assert api.get("/api/v1/requests/?status=bogus").status_code == 400
    response = client.get("/api/v1/requests/abc/decide/")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no API endpoint at /api/v1/requests/abc/decide/."}


def test_a_second_decision_is_a_conflict_and_refusals_come_before_the_input(api, users, world):  # noqa: F811
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    api.force_authenticate(users["scientist"])
    pk = api.post(
        "/api/v1/requests/",
        {"model": "churn", "version": version.number, "action": "promote", "justification": WHY},
        format="json",
    ).json()["id"]
    api.force_authenticate(users["itops"])
    assert api.post(f"/api/v1/requests/{pk}/decide/", {"decision": "approve"}, format="json").status_code == 200
    again = api.post(f"/api/v1/requests/{pk}/decide/", {"decision": "approve"}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": "You have already decided on this request; a decision counts once per person."}
    api.force_authenticate(users["manager"])
    assert api.post(f"/api/v1/requests/{pk}/decide/", {}, format="json").status_code == 403  # not "decision: required"
    assert api.post("/api/v1/requests/", {}, format="json").status_code == 403
    api.force_authenticate(users["scientist"])
    extra = api.post(f"/api/v1/requests/{pk}/withdraw/", {"reason": "x", "status": "applied"}, format="json")
    assert extra.status_code == 400 and "status" in extra.json()["detail"][0]
