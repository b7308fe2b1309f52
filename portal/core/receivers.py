"""The kernel's reactions to what Django and its libraries announce. Connected in PortalConfig.ready()."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.db import transaction

from portal.core.choices import AuditAction
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


def connect() -> None:
    user_locked_out.connect(on_locked_out, dispatch_uid="portal.core.on_locked_out")
