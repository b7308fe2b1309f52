"""Edits in the Django admin are audited like the pages' changes: teams and policies through their services,
every other model through the admin's change log, with the values before and after."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from approvals.models import Policy, Webhook
from portal.core.models import AuditEvent, Team
from portal.core.roles import Role
from tests.factories import RegisteredModelFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(admin)
    client.admin = admin
    return client


def _last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("id").last()


def test_team_membership_set_in_the_admin_is_audited(admin_client, scientist, itops):
    team = Team.objects.get(slug="risk-models")
    response = admin_client.post(
        f"/admin/portal/team/{team.pk}/change/", {"name": team.name, "slug": team.slug, "members": [itops.pk]}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(team.members.all()) == [itops]
    event = _last("portal.team.updated")
    assert event.actor == admin_client.admin
    assert event.before == {"members": ["dana"]} and event.after == {"members": ["ivo"]}


def test_a_team_added_in_the_admin_is_created_by_the_service(admin_client, scientist):
    response = admin_client.post(
        "/admin/portal/team/add/", {"name": "Fraud", "slug": "fraud", "members": [scientist.pk]}
    )
    assert response.status_code == 302
    team = Team.objects.get(slug="fraud")
    assert list(team.members.all()) == [scientist]
    event = _last("portal.team.created")
    assert event.object_id == str(team.pk) and event.after["members"] == ["dana"]
    assert not AuditEvent.objects.filter(action="portal.admin.created").exists()  # audited once, by the service


def test_a_policy_edit_is_validated_and_audited(admin_client):
    policy = Policy.objects.get(risk_tier="high", transition="test->production")
    form = {
        "risk_tier": "high",
        "transition": "test->production",
        "evidence": '{"validation": true}',
        "owner_may_approve": "",
    }
    refused = admin_client.post(
        f"/admin/approvals/policy/{policy.pk}/change/", {**form, "approvals": '{"it-operations": 1.5}'}
    )
    assert refused.status_code == 200 and "must be a whole number of at least 1" in refused.content.decode()
    assert not AuditEvent.objects.filter(action="approvals.policy.updated").exists()
    before = policy.approvals
    admin_client.post(f"/admin/approvals/policy/{policy.pk}/change/", {**form, "approvals": '{"it-operations": 3}'})
    policy.refresh_from_db()
    assert policy.approvals == {"it-operations": 3}
    event = _last("approvals.policy.updated")
    assert event.before["approvals"] == before and event.after["approvals"] == {"it-operations": 3}
    assert event.actor == admin_client.admin


def test_a_role_given_in_the_admin_is_audited_with_the_roles_before_and_after(admin_client):
    person = UserFactory(username="newcomer", role=Role.MANAGER)
    form = {
        "username": "newcomer",
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": [Group.objects.get(name=Role.IT_OPERATIONS).pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    response = admin_client.post(f"/admin/auth/user/{person.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    event = _last("portal.admin.changed")
    assert event.object_type == "auth.user" and event.object_id == str(person.pk)
    assert event.before["groups"] == ["managers"] and event.after["groups"] == ["it-operations"]


def test_a_webhook_secret_is_audited_as_changed_never_shown(admin_client):
    admin_client.post(
        "/admin/approvals/webhook/add/",
        {"url": "https://deploy.example.com/hook", "secret": "s3cret-value", "events": "[]", "active": "on"},
    )
    hook = Webhook.objects.get()
    event = _last("portal.admin.created")
    assert event.object_id == str(hook.pk) and event.after["secret"] == "(changed)"
    assert "s3cret-value" not in str(event.before) + str(event.after)


def test_deleting_in_the_admin_is_audited(admin_client):
    team = TeamFactory(name="Empty", slug="empty")
    response = admin_client.post(f"/admin/portal/team/{team.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Team.objects.filter(pk=team.pk).exists()
    event = _last("portal.admin.deleted")
    assert event.object_type == "portal.team" and event.before == {"object": "Empty"}


def test_registry_rows_are_read_only_in_the_admin(admin_client, team, scientist):
    model = RegisteredModelFactory(team=team, owner=scientist)
    page = admin_client.get(f"/admin/registry/registeredmodel/{model.pk}/change/")
    assert page.status_code == 200 and "Save" not in page.content.decode()
    assert admin_client.post(f"/admin/registry/registeredmodel/{model.pk}/change/", {"name": "x"}).status_code == 403
    assert admin_client.get("/admin/portal/auditevent/add/").status_code == 403
