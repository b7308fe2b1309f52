"""Sign-in backend: Django's ModelBackend, reading a user's permissions in one query instead of two."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat

from portal.core.authentication import session_user


def permission_codes(user) -> QuerySet:
    """``app_label.codename`` of each permission ``user`` (a user, or an OuterRef to one) has, its own and
    its groups', as one column ``code``."""
    return (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .annotate(code=Concat("content_type__app_label", Value("."), "codename"))
        .values("code")
    )


class GatehouseModelBackend(ModelBackend):
    """Every API call checks a permission; Django reads the user's own and their groups' permissions in two
    queries. One query with both, cached on the user object for the request as Django does."""

    def get_user(self, user_id):
        """A session's user, with permissions, teams and roles, from the credentials cache on PostgreSQL
        (portal.core.authentication): one query at most where Django's path plus the checks a page makes cost four."""
        user = session_user(user_id)
        if user is NotImplemented:
            return super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.values_list("content_type__app_label", "codename")
                user_obj._perm_cache = {f"{app}.{codename}" for app, codename in perms}
            else:
                user_obj._perm_cache = set(permission_codes(user_obj).values_list("code", flat=True))
        return user_obj._perm_cache


class SignInThrottle(AxesStandaloneBackend):
    """django-axes' check of a sign-in, for sign-ins that come with a request (every page and the admin).
    Code that checks a password with no request (a management command, a test) is not throttled: no
    client can reach it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
