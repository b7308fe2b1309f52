"""API authentication (its own module: DRF imports it while rest_framework.views is still loading)."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from rest_framework import authentication, exceptions

from portal.core.models import Team
from portal.core.selectors import TEAM_IDS


@cache
def _token_sql() -> tuple[str, list[str]]:
    """One statement: the token, its user, the user's permissions (own and groups') and team ids. Written
    out once per process from the models' tables: building the same query through the ORM on every API call
    cost more CPU than running it (bench/README.md)."""
    user_model = get_user_model()
    user_fields = [f.attname for f in user_model._meta.concrete_fields]
    own = user_model.user_permissions.through._meta
    member_of = user_model.groups.through._meta
    granted = Group.permissions.through._meta
    # Table and column names come from the models; the key is a parameter.
    users = user_model._meta.db_table
    columns = ", ".join(f'"{users}"."{f}"' for f in user_fields)
    sql = f"""
        SELECT "authtoken_token"."key", "authtoken_token"."created", {columns},
          ARRAY(
            SELECT ct.app_label || '.' || p.codename
            FROM "{Permission._meta.db_table}" p JOIN "{ContentType._meta.db_table}" ct ON ct.id = p.content_type_id
            WHERE p.id IN (
              SELECT permission_id FROM "{own.db_table}" WHERE user_id = "{users}"."id"
              UNION
              SELECT g.permission_id FROM "{granted.db_table}" g
                JOIN "{member_of.db_table}" ug ON ug.group_id = g.group_id WHERE ug.user_id = "{users}"."id"
            )
          ),
          ARRAY(SELECT team_id FROM "{Team.members.through._meta.db_table}" WHERE user_id = "{users}"."id")
        FROM "authtoken_token" JOIN "{users}" ON "{users}"."id" = "authtoken_token"."user_id"
        WHERE "authtoken_token"."key" = %s
    """  # noqa: S608
    return sql, user_fields


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token check, reading the user's permissions and teams in the same query on PostgreSQL: every API
    call checks one, and a round trip to the database is most of what a small read costs (bench/README.md)."""

    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        sql, user_fields = _token_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = get_user_model().from_db(connection.alias, user_fields, row[2 : 2 + len(user_fields)])
        perms, team_ids = row[2 + len(user_fields)], row[3 + len(user_fields)]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if not user.is_superuser:  # a superuser has every permission; the backend knows that
            user._perm_cache = set(perms)  # what portal.core.backends would read, read already
        setattr(user, TEAM_IDS, set(team_ids))  # what the team rule reads (registry.permissions)
        token = self.get_model().from_db(connection.alias, ["key", "user_id", "created"], [row[0], user.pk, row[1]])
        token.user = user
        return user, token
