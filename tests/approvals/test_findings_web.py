"""Findings pages and API: every role's answer, refusals as messages and JSON, the filters they share."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import Finding
from registry.choices import JobKind, Stage
from registry.models import ModelVersion
from tests.factories import JUSTIFICATION, evidence

pytestmark = pytest.mark.django_db
FOUND = "Scores drift by 8 points for one region at equal income."


@pytest.fixture
def finding(users, world):
    model, version = world
    return services.finding_open(
        actor=users["reviewer"], version=version, title="Regional drift", severity="high", description=FOUND
    )


def test_every_role_reads_findings_and_anonymous_signs_in(client, users, finding):
    assert client.get("/findings/").status_code == 302
    for user in users.values():
        client.force_login(user)
        listing = client.get("/findings/")
        assert listing.status_code == 200 and "Regional drift" in listing.content.decode()
        detail = client.get(f"/findings/{finding.pk}/")
        assert detail.status_code == 200 and FOUND in detail.content.decode()
    assert client.get("/findings/99999/").status_code == 404


def test_who_may_open_a_finding_from_the_page(client, users, world):
    model, version = world
    url = f"/models/churn/versions/{version.number}/findings/new/"
    for role, status in {"scientist": 200, "itops": 200, "reviewer": 200, "outsider": 403, "manager": 403}.items():
        client.force_login(users[role])
        assert client.get(url).status_code == status, role
    client.force_login(users["reviewer"])
    page = client.get(url + "?severity=critical")
    assert page.context["form"].initial["due_date"] == timezone.localdate() + dt.timedelta(days=7)
    bad = client.post(url, {"title": "Drift", "severity": "high", "description": "short", "owner": "dana"})
    assert bad.status_code == 400 and not Finding.objects.exists()
    past = client.post(
        url,
        {
            "title": "Regional drift",
            "severity": "high",
            "description": FOUND,
            "owner": "dana",
            "due_date": "2020-01-01",
        },
    )
    assert past.status_code == 400 and "due date is in the past" in past.content.decode()
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    made = client.post(
        url, {"title": "Regional drift", "severity": "high", "description": FOUND, "owner": "dana", "due_date": due}
    )
    finding = Finding.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/findings/{finding.pk}/"
    version_page = client.get(f"/models/churn/versions/{version.number}/")
    assert "Regional drift" in version_page.content.decode() and "1 unresolved" in version_page.content.decode()


def test_steps_from_the_page_refuse_with_a_message(client, users, finding):
    client.force_login(users["manager"])
    assert client.post(f"/findings/{finding.pk}/remediate/", {"comment": "Done it all."}).status_code == 403
    assert client.post(f"/findings/{finding.pk}/close/", {"comment": "x"}).status_code == 404
    assert client.get(f"/findings/{finding.pk}/edit/").status_code == 403
    client.force_login(users["scientist"])
    short = client.post(f"/findings/{finding.pk}/remediate/", {"comment": "ok"}, follow=True)
    assert "at least 10 characters" in short.content.decode()
    client.post(f"/findings/{finding.pk}/remediate/", {"comment": "Reweighted the training set."})
    finding.refresh_from_db()
    assert finding.status == "remediated"
    client.post(f"/findings/{finding.pk}/comment/", {"body": "Validation #3 shows the gap closed."})
    assert finding.comments.count() == 2


def test_the_findings_api(api, users, world, finding):
    model, version = world
    api.force_authenticate(users["itops"])
    listed = api.get("/api/v1/findings/?status=unresolved&severity=high").json()
    assert [f["id"] for f in listed["results"]] == [finding.pk] and listed["results"][0]["owner"] == "dana"
    assert api.get("/api/v1/findings/?status=verified").json()["count"] == 0
    bad = api.get("/api/v1/findings/?severity=severe")
    assert bad.status_code == 400 and "severity" in bad.json()
    body = {"model": "churn", "version": version.number, "title": "Latency spike", "severity": "low"}
    made = api.post("/api/v1/findings/", {**body, "description": "p99 doubles at batch 32."}, format="json")
    assert made.status_code == 201 and made.json()["due_date"] == str(timezone.localdate() + dt.timedelta(days=90))
    unknown = api.post("/api/v1/findings/", {**body, "description": FOUND, "status": "verified"}, format="json")
    assert unknown.status_code == 400 and "status" in unknown.json()["detail"][0]
    short = api.post("/api/v1/findings/", {**body, "description": "short"}, format="json")
    assert short.status_code == 400 and "description" in short.json()
    step = api.post(f"/api/v1/findings/{finding.pk}/steps/", {"action": "verify", "comment": "x" * 20}, format="json")
    assert step.status_code == 400 and "cannot be asked to verify" in str(step.json())
    api.force_authenticate(users["manager"])
    refused = api.post("/api/v1/findings/", {**body, "description": FOUND}, format="json")
    assert refused.status_code == 403 and "cannot open findings" in refused.json()["detail"]
    assert api.patch(f"/api/v1/findings/{finding.pk}/", {"severity": "low"}, format="json").status_code == 403
    api.force_authenticate(users["reviewer"])
    patched = api.patch(f"/api/v1/findings/{finding.pk}/", {"severity": "medium"}, format="json")
    assert patched.status_code == 200 and patched.json()["severity"] == "medium"
    comment = api.post(f"/api/v1/findings/{finding.pk}/comments/", {"body": "Seen."}, format="json")
    assert comment.status_code == 201
    detail = api.get(f"/api/v1/findings/{finding.pk}/").json()
    assert [c["body"] for c in detail["comments"]] == ["Seen."]
    assert api.get("/api/v1/findings/99999/").status_code == 404


def test_the_request_api_names_the_finding_that_holds_it(api, users, world, finding):
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    api.force_authenticate(users["scientist"])
    opened = api.post(
        "/api/v1/requests/",
        {"model": "churn", "version": version.number, "action": "promote", "justification": JUSTIFICATION},
        format="json",
    ).json()
    for role in ("itops", "reviewer"):
        api.force_authenticate(users[role])
        api.post(f"/api/v1/requests/{opened['id']}/decide/", {"decision": "approve", "comment": "ok"}, format="json")
    held = api.get(f"/api/v1/requests/{opened['id']}/").json()
    assert held["status"] == "approved"
    assert any(f"#{finding.pk} high (open): Regional drift" in m for m in held["missing_evidence"])
    assert held["policy"]["blocking_findings"] == ["high", "critical"]
    api.force_authenticate(users["reviewer"])
    api.post(
        f"/api/v1/findings/{finding.pk}/steps/",
        {"action": "accept", "comment": "Monitored weekly with a floor on the region's approval rate."},
        format="json",
    )
    assert api.get(f"/api/v1/requests/{opened['id']}/").json()["status"] == "applied"
