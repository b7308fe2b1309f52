"""The four roles (data scientist, IT operations, risk reviewer, manager) are Django groups; their permissions
are created by a data migration (portal/migrations/0002_roles.py). This module is the one place that names them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import models


class Role(models.TextChoices):
    DATA_SCIENTIST = "data-scientists", "Data scientist"
    IT_OPERATIONS = "it-operations", "IT operations"
    RISK_REVIEWER = "risk-reviewers", "Risk reviewer"
    MANAGER = "managers", "Manager"


# (app_label, codename) per role. Everyone signed in may read the registry: governance is transparent
# inside the company. Who may change a given model is decided per team in registry.permissions.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    Role.DATA_SCIENTIST: [
        ("registry", "view_registeredmodel"),
        ("registry", "add_registeredmodel"),
        ("registry", "change_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "add_modelversion"),
        ("registry", "download_artifact"),
        ("registry", "view_dataset"),
        ("registry", "add_dataset"),
        ("registry", "view_job"),
        ("registry", "run_validation"),
        ("registry", "run_benchmark"),
        ("portal", "view_auditevent"),
        ("registry", "view_observation"),
        ("registry", "add_observation"),
        ("portal", "view_debtsnapshot"),
    ],
    Role.IT_OPERATIONS: [
        ("registry", "view_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "download_artifact"),
        ("registry", "view_dataset"),
        ("registry", "view_job"),
        ("registry", "run_benchmark"),
        ("portal", "view_auditevent"),
        ("registry", "view_observation"),
        ("registry", "add_observation"),
        ("portal", "view_debtsnapshot"),
    ],
    Role.RISK_REVIEWER: [
        ("registry", "view_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "download_artifact"),
        ("registry", "view_dataset"),
        ("registry", "view_job"),
        ("portal", "view_auditevent"),
        ("registry", "view_observation"),
        ("portal", "view_debtsnapshot"),
    ],
    Role.MANAGER: [
        ("registry", "view_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "view_dataset"),
        ("registry", "view_job"),
        ("portal", "view_auditevent"),
        ("registry", "view_observation"),
        ("portal", "view_debtsnapshot"),
    ],
}


ROLES = "_gatehouse_roles"  # the cache on the user object, filled by the credentials read too (core.authentication)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """Role names of a user, cached on the instance for the request."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, ROLES, None)
    if cached is None:
        cached = list(user.groups.filter(name__in=Role.values).order_by("name").values_list("name", flat=True))
        setattr(user, ROLES, cached)
    return cached


def role_labels(user) -> list[str]:
    return [Role(name).label for name in user_roles(user)]


def ensure_role_groups() -> None:
    """Create the role groups with exactly their permissions (the data migration does this on install;
    tests that flush the database call it again)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in perms]
        )
