"""The kernel's reactions to what Django and its libraries announce. Connected in PortalConfig.ready()."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework.authtoken.models import Token

from portal.core.authentication import credentials_changed
from portal.core.choices import AuditAction
from portal.core.models import Team
from portal.core.services import audit_event_record


class _SignIn:
    """What the audit log names when a sign-in to an account that does not exist is paused: the name tried."""

    class _meta:  # noqa: N801 - quacks like a model's _meta for audit_event_record
        label_lower = "auth.user"

    def __init__(self, username: str):
        self.pk = ""
        self.username = username

    def __str__(self) -> str:
        return self.username


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    user = get_user_model().objects.filter(username=username).first() if username else None
    with transaction.atomic():
        audit_event_record(
            actor=None,
            action=AuditAction.SIGN_IN_LOCKED_OUT,
            obj=user or _SignIn(username or ""),
            after={"username": username or "", "ip": ip_address},
        )


def on_credentials_saved(sender, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:  # a sign-in changes no right
        return
    credentials_changed()


def on_credentials_changed(sender, action: str | None = None, **kwargs) -> None:
    if action is None or action.startswith("post_"):  # a deletion, or a membership added, removed or cleared
        credentials_changed()


def connect() -> None:
    user_locked_out.connect(on_locked_out, dispatch_uid="portal.core.on_locked_out")
    # What the cached credential rows hold (portal.core.authentication), for an API token and for a page
    # session's user: the token, the user, their roles and permissions, and team memberships. Any change
    # drops every process's cached rows.
    user = get_user_model()
    for model in (Token, user, Group, Team, Permission):
        post_save.connect(on_credentials_saved, sender=model, dispatch_uid=f"credentials-saved-{model._meta.label}")
        post_delete.connect(on_credentials_changed, sender=model, dispatch_uid=f"credentials-gone-{model._meta.label}")
    for through in (
        user.groups.through,
        user.user_permissions.through,
        Group.permissions.through,
        Team.members.through,
    ):
        m2m_changed.connect(
            on_credentials_changed, sender=through, dispatch_uid=f"credentials-m2m-{through._meta.label}"
        )
