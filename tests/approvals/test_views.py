"""Approval pages for each role; the queue; decisions through the form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals import selectors, services
from approvals.models import PromotionRequest, StageChange
from registry import services as registry_services
from registry.choices import JobKind, Stage
from registry.models import Job, ModelVersion
from tests.factories import JUSTIFICATION as WHY
from tests.factories import UserFactory, evidence, version_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_request(users, world):  # noqa: F811
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.TEST)
    evidence(version, JobKind.VALIDATION, JobKind.BENCHMARK)
    return services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )


def test_pages_for_every_role(client, users, open_request):
    for role in ("scientist", "outsider", "itops", "reviewer", "manager"):
        client.force_login(users[role])
        for url in ("/approvals/", "/approvals/requests/", f"/approvals/requests/{open_request.pk}/", "/models/churn/"):
            assert client.get(url).status_code == 200, (role, url)
    client.logout()
    assert client.get("/approvals/").status_code == 302


def test_the_queue_shows_what_needs_each_user(client, users, open_request):
    for role, expected in {"itops": True, "reviewer": True, "manager": False, "scientist": False}.items():
        client.force_login(users[role])
        page = client.get("/approvals/").content.decode()
        assert (f"/approvals/requests/{open_request.pk}/" in page) is expected, role


def test_the_queue_in_sql_agrees_with_the_rule_in_python(users, open_request):
    """queue_for pages in SQL; roles_user_can_decide_in is the rule the services enforce: they must agree for
    every person at every step of a request's life."""
    second_it = UserFactory(username="it2")
    second_it.groups.set(users["itops"].groups.all())
    people = [*users.values(), second_it]

    def check():
        for person in people:
            person = get_user_model().objects.get(pk=person.pk)  # no cached roles
            request = PromotionRequest.objects.get(pk=open_request.pk)
            expected = [request.pk] if selectors.roles_user_can_decide_in(person, request) else []
            assert list(selectors.queue_for(person).values_list("pk", flat=True)) == expected, person.username

    check()
    services.promotion_request_decide(actor=users["itops"], request=open_request, decision="approve", comment="ok")
    check()  # IT's one approval is in: neither IT person is asked again; the risk reviewer still is


def test_a_retirement_is_in_its_owners_queue(users, world):
    """The owner counts as an approver where the policy says so: the SQL and the rule agree for everyone."""
    model, version = world
    ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.PRODUCTION)
    request = services.promotion_request_open(
        actor=users["itops"], version=version, action="retire", justification="Replaced by the new pricing service."
    )
    assert request.policy["owner_may_approve"] and request.artifact_author is None
    for person in users.values():
        person = get_user_model().objects.get(pk=person.pk)
        expected = [request.pk] if selectors.roles_user_can_decide_in(person, request) else []
        assert [r.pk for r in selectors.queue_for(person)] == expected, person.username
    assert [r.pk for r in selectors.queue_for(users["scientist"])] == [request.pk]  # the model's owner


def test_the_queue_columns_follow_the_decisions(users, open_request):
    """The services keep on the request what the queue filters on: the roles still short, the author."""
    assert open_request.waiting_roles == "|it-operations|risk-reviewers|"
    assert open_request.artifact_author == users["scientist"]
    services.promotion_request_decide(actor=users["itops"], request=open_request, decision="approve", comment="ok")
    open_request.refresh_from_db()
    assert open_request.waiting_roles == "|risk-reviewers|"
    services.promotion_request_decide(actor=users["reviewer"], request=open_request, decision="approve", comment="ok")
    open_request.refresh_from_db()
    assert (open_request.status, open_request.waiting_roles) == ("applied", "")


def test_the_migration_fills_the_queue_columns_from_the_history(users, open_request, world):
    """approvals/migrations/0010: requests opened before it get the columns the services would have kept."""
    from importlib import import_module  # noqa: PLC0415 - a migration module, named by its number

    from django.apps import apps  # noqa: PLC0415

    model, version = world
    other = version_create(model, users["scientist"])
    # As if IT's person had uploaded it: they may not decide its promotion.
    ModelVersion.objects.filter(pk=other.pk).update(stage=Stage.TEST, created_by=users["itops"])
    second = services.promotion_request_open(
        actor=users["scientist"], version=other, action="promote", justification=WHY
    )
    services.promotion_request_decide(actor=users["reviewer"], request=second, decision="approve", comment="ok")
    kept = dict(PromotionRequest.objects.values_list("pk", "waiting_roles"))
    assert kept == {open_request.pk: "|it-operations|risk-reviewers|", second.pk: "|it-operations|"}
    PromotionRequest.objects.update(waiting_roles="", artifact_author=None)  # as the rows stood before it
    import_module("approvals.migrations.0010_fill_request_queue_columns").fill(apps, None)
    assert dict(PromotionRequest.objects.values_list("pk", "waiting_roles")) == kept
    assert dict(PromotionRequest.objects.values_list("pk", "artifact_author")) == {
        open_request.pk: users["scientist"].pk,
        second.pk: users["itops"].pk,
    }
    assert [r.pk for r in selectors.queue_for(users["itops"])] == [open_request.pk]


def test_the_model_timeline_is_newest_first_with_its_open_request(client, users, open_request):
    """The open request was made after the version's last stage change, so it heads the timeline."""
    version = open_request.version
    StageChange.objects.create(version=version, from_stage=Stage.DESIGN, to_stage=Stage.TEST, reason="Card complete.")
    StageChange.objects.filter(version=version).update(created_at=open_request.created_at - timedelta(days=3))
    client.force_login(users["manager"])
    page = client.get("/models/churn/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert timeline.index(f"request #{open_request.pk}</a>") < timeline.index("Card complete.")


def test_decision_form_only_for_those_who_decide(client, users, open_request):
    url = f"/approvals/requests/{open_request.pk}/"
    for role, expected in {
        "itops": True,
        "reviewer": True,
        "manager": False,
        "scientist": False,
        "outsider": False,
    }.items():
        client.force_login(users[role])
        assert ('id="decision-form"' in client.get(url).content.decode()) is expected, role
    client.force_login(users["manager"])
    response = client.post(f"{url}decide/", {"decision": "approve", "comment": "yes"})
    assert response.status_code == 403
    client.force_login(users["scientist"])
    assert client.post(f"{url}decide/", {"decision": "approve", "comment": "mine"}).status_code == 403


def test_it_and_risk_approve_through_the_pages(client, users, open_request):
    url = f"/approvals/requests/{open_request.pk}/decide/"
    client.force_login(users["itops"])
    client.post(url, {"decision": "approve", "comment": "ok"})
    client.force_login(users["reviewer"])
    response = client.post(url, {"decision": "approve", "comment": "ok"}, follow=True)
    assert "is now in production" in response.content.decode()
    open_request.refresh_from_db()
    assert open_request.status == "applied"


def test_open_a_request_from_the_version_page(client, users, world):  # noqa: F811
    model, version = world
    client.force_login(users["scientist"])
    page = client.get(version.get_absolute_url()).content.decode()
    assert "Request promotion to test" in page
    response = client.post(
        f"/models/churn/versions/{version.number}/request/promote/", {"justification": "Ready for the test stage."}
    )
    request = PromotionRequest.objects.get()
    assert response["Location"] == f"/approvals/requests/{request.pk}/"
    client.force_login(users["manager"])
    assert "Request promotion" not in client.get(version.get_absolute_url()).content.decode()
    assert (
        client.post(
            f"/models/churn/versions/{version.number}/request/promote/", {"justification": "I am a manager."}
        ).status_code
        == 403
    )


def test_queue_queries_do_not_grow_with_requests(client, users, world):  # noqa: F811
    model, _ = world
    client.force_login(users["itops"])

    def add(n):
        for _ in range(n):
            v = version_create(model, users["scientist"])
            ModelVersion.objects.filter(pk=v.pk).update(stage=Stage.TEST)
            services.promotion_request_open(actor=users["scientist"], version=v, action="promote", justification=WHY)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            client.get("/approvals/")
        return len(ctx.captured_queries)

    add(2)
    count()
    small = count()
    add(8)
    assert count() == small


def test_missing_evidence_has_a_button_that_starts_the_job(client, users, world):  # noqa: F811

    model, version = world
    registry_services.dataset_create(
        actor=users["scientist"], model=model, name="d", label_column="y", file=ContentFile(b"a,y\n1,0\n", name="d.csv")
    )
    request = services.promotion_request_open(
        actor=users["scientist"], version=version, action="promote", justification=WHY
    )
    client.force_login(users["scientist"])
    page = client.get(f"/approvals/requests/{request.pk}/").content.decode()
    assert "Start validation" in page
    dataset = model.datasets.get()
    response = client.post(
        f"/models/churn/versions/{version.number}/jobs/validation/",
        {"dataset": dataset.pk, "margin": "0.01", "floors": ""},
    )
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.pk}/" and job.kind == "validation"
    client.force_login(users["manager"])
    assert "Start validation" not in client.get(f"/approvals/requests/{request.pk}/").content.decode()
