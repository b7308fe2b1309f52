"""Single sign-on by OpenID Connect (mozilla-django-oidc), off unless OIDC_RP_CLIENT_ID is set.

Accounts are matched by an e-mail the provider says is verified (OIDC_REQUIRE_VERIFIED_EMAIL), created on
first sign-in without a password, never linked to an administrator account, and their Gatehouse roles
follow the provider's groups at every sign-in and every session refresh (15 minutes): OIDC_GROUPS_CLAIM
names the claim (default "groups") and OIDC_ROLE_MAP maps provider groups to roles, e.g.
"ml-engineers=data-scientists,platform=it-operations". Groups that are not Gatehouse roles are left alone;
a role the provider no longer grants is taken away.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.core.rolemap import parse_role_map  # noqa: F401 - re-exported for callers
from portal.core.services import user_roles_sync

logger = logging.getLogger(__name__)


def roles_from_claims(claims: dict, mapping: dict[str, str], claim: str = "groups") -> set[str]:
    groups = claims.get(claim) or []
    if isinstance(groups, str):
        groups = [groups]
    return {mapping[g] for g in groups if g in mapping}


class GatehouseOIDCBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims) -> bool:
        """An e-mail the provider vouches for: accounts are matched by it."""
        if not super().verify_claims(claims):
            return False
        if settings.OIDC_REQUIRE_VERIFIED_EMAIL and claims.get("email_verified") is not True:
            logger.warning("SSO sign-in refused: the provider did not say %s is verified", claims.get("email"))
            return False
        return True

    def create_user(self, claims):
        user = super().create_user(claims)
        wanted = (claims.get("preferred_username") or "")[:150]
        User = type(user)
        if wanted and not User.objects.filter(username=wanted).exclude(pk=user.pk).exists():
            user.username = wanted  # otherwise the generated name stays: never take over another account's
        user.first_name = (claims.get("given_name") or "")[:150]
        user.last_name = (claims.get("family_name") or "")[:150]
        user.set_unusable_password()
        user.save()
        self._sync_roles(user, claims)
        return user

    def update_user(self, user, claims):
        if user.is_superuser or user.is_staff:
            # Administrator accounts sign in with their password only: an e-mail at the provider is not enough.
            raise PermissionDenied("Single sign-on does not sign in administrator accounts.")
        self._sync_roles(user, claims)
        return user

    def _sync_roles(self, user, claims) -> None:
        if settings.OIDC_GROUPS_CLAIM not in claims:
            logger.warning(
                "SSO: the claim %r is missing for %s; they get no role (set OIDC_GROUPS_CLAIM, or have "
                "the provider send it)",
                settings.OIDC_GROUPS_CLAIM,
                user.get_username(),
            )
        wanted = roles_from_claims(claims, settings.OIDC_ROLE_MAP, settings.OIDC_GROUPS_CLAIM)
        user_roles_sync(user=user, roles=wanted, source="oidc")
