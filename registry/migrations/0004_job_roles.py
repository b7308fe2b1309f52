"""Give the roles their job permissions (see portal.core.roles.ROLE_PERMISSIONS)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "data-scientists": ["view_job", "run_validation", "run_benchmark"],
    "it-operations": ["view_job", "run_benchmark"],
    "risk-reviewers": ["view_job"],
    "managers": ["view_job"],
}


def grant(apps, schema_editor):
    create_permissions(global_apps.get_app_config("registry"), verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        group = Group.objects.get(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="registry", codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        group = Group.objects.filter(name=role).first()
        if group:
            group.permissions.remove(*Permission.objects.filter(codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_jobs_and_evidence_thresholds"),
        ("portal", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
