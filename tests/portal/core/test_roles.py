import pytest
from django.contrib.auth.models import Group

from portal.core.roles import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.django_db


def test_the_migration_created_each_role_with_exactly_its_permissions():
    for role in Role:
        group = Group.objects.get(name=role.value)
        perms = set(group.permissions.values_list("content_type__app_label", "codename"))
        assert perms == set(ROLE_PERMISSIONS[role])


def test_only_data_scientists_may_add_versions():
    holders = Group.objects.filter(permissions__codename="add_modelversion").values_list("name", flat=True)
    assert list(holders) == [Role.DATA_SCIENTIST.value]


def test_managers_may_not_download_artifacts():
    assert not Group.objects.filter(name=Role.MANAGER, permissions__codename="download_artifact").exists()
