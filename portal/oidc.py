"""Single sign-on by OpenID Connect (mozilla-django-oidc), off unless OIDC_RP_CLIENT_ID is set.

Accounts are matched by e-mail, created on first sign-in, and their Gatehouse roles follow the identity
provider's groups at every sign-in: OIDC_GROUPS_CLAIM names the claim (default "groups") and OIDC_ROLE_MAP
maps provider groups to roles, e.g. "ml-engineers=data-scientists,platform=it-operations". Groups that are
not Gatehouse roles are left alone; a role the provider no longer grants is taken away.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.rolemap import parse_role_map  # noqa: F401 - re-exported for callers
from portal.roles import Role


def roles_from_claims(claims: dict, mapping: dict[str, str], claim: str = "groups") -> set[str]:
    groups = claims.get(claim) or []
    if isinstance(groups, str):
        groups = [groups]
    return {mapping[g] for g in groups if g in mapping}


class GatehouseOIDCBackend(OIDCAuthenticationBackend):
    def create_user(self, claims):
        user = super().create_user(claims)
        user.username = (claims.get("preferred_username") or user.username)[:150]
        user.first_name = (claims.get("given_name") or "")[:150]
        user.last_name = (claims.get("family_name") or "")[:150]
        user.save()
        self._sync_roles(user, claims)
        return user

    def update_user(self, user, claims):
        self._sync_roles(user, claims)
        return user

    @transaction.atomic
    def _sync_roles(self, user, claims) -> None:
        from django.contrib.auth.models import Group

        from portal.services import audit_event_record

        wanted = roles_from_claims(claims, settings.OIDC_ROLE_MAP, settings.OIDC_GROUPS_CLAIM)
        current = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        if wanted == current:
            return
        user.groups.remove(*Group.objects.filter(name__in=current - wanted))
        user.groups.add(*Group.objects.filter(name__in=wanted - current))
        audit_event_record(actor=None, action="portal.user.roles_synced", obj=user,
                           before={"roles": sorted(current)}, after={"roles": sorted(wanted), "source": "oidc"})
