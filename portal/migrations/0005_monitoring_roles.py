"""Give the roles the monitoring and dashboard permissions (see portal.core.roles.ROLE_PERMISSIONS)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "data-scientists": [
        ("registry", "view_observation"),
        ("registry", "add_observation"),
        ("portal", "view_debtsnapshot"),
    ],
    "it-operations": [
        ("registry", "view_observation"),
        ("registry", "add_observation"),
        ("portal", "view_debtsnapshot"),
    ],
    "risk-reviewers": [("registry", "view_observation"), ("portal", "view_debtsnapshot")],
    "managers": [("registry", "view_observation"), ("portal", "view_debtsnapshot")],
}


def grant(apps, schema_editor):
    for label in ("registry", "portal"):
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in GRANTS.items():
        group = Group.objects.get(name=role)
        for app, codename in perms:
            group.permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in GRANTS.items():
        group = Group.objects.filter(name=role).first()
        if group:
            for app, codename in perms:
                group.permissions.remove(*Permission.objects.filter(content_type__app_label=app, codename=codename))


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_debt_snapshots"), ("registry", "0006_observations_and_milestones")]

    operations = [migrations.RunPython(grant, revoke)]
