"""Sign-in backend: Django's ModelBackend, reading a user's permissions in one query instead of two."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class GatehouseModelBackend(ModelBackend):
    """Every API call checks a permission; Django reads the user's own and their groups' permissions in two
    queries. One query with both, cached on the user object for the request as Django does."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            perms = Permission.objects.all()
            if not user_obj.is_superuser:
                perms = perms.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in
                                    perms.values_list("content_type__app_label", "codename").distinct()}
        return user_obj._perm_cache
