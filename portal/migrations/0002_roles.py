"""Create the four role groups with their permissions (portal.core.roles.ROLE_PERMISSIONS)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

# A copy, not an import: a migration must keep meaning what it meant when it was written.
ROLE_PERMISSIONS = {
    "data-scientists": [
        ("registry", "view_registeredmodel"),
        ("registry", "add_registeredmodel"),
        ("registry", "change_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "add_modelversion"),
        ("registry", "download_artifact"),
        ("registry", "view_dataset"),
        ("registry", "add_dataset"),
        ("portal", "view_auditevent"),
    ],
    "it-operations": [
        ("registry", "view_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "download_artifact"),
        ("registry", "view_dataset"),
        ("portal", "view_auditevent"),
    ],
    "risk-reviewers": [
        ("registry", "view_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "download_artifact"),
        ("registry", "view_dataset"),
        ("portal", "view_auditevent"),
    ],
    "managers": [
        ("registry", "view_registeredmodel"),
        ("registry", "view_modelversion"),
        ("registry", "view_dataset"),
        ("portal", "view_auditevent"),
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate); make them now.
    for app_label in ("portal", "registry"):
        create_permissions(global_apps.get_app_config(app_label), verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, codename in perms:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("registry", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
