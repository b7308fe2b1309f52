"""API authentication (its own module: DRF imports it while rest_framework.views is still loading)."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef
from rest_framework import authentication, exceptions

from portal.core.backends import permission_codes


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token check, reading the user's permissions in the same query on PostgreSQL: every API call
    checks one, and a round trip to the database is most of what a small read costs (bench/README.md)."""

    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)

        perms = permission_codes(OuterRef("user"))
        token = (
            self.get_model().objects.select_related("user").annotate(perms=ArraySubquery(perms)).filter(key=key).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if not token.user.is_superuser:  # a superuser has every permission; the backend knows that
            token.user._perm_cache = set(token.perms)  # what portal.core.backends would read, read already
        return token.user, token
