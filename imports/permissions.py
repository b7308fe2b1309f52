"""Who may import: administrators and IT operations (an import registers models for any team)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from portal.core.roles import Role, user_roles


def can_start_import(user) -> bool:
    return user.is_authenticated and (user.is_superuser or Role.IT_OPERATIONS in user_roles(user))


def require_start_import(user) -> None:
    if not can_start_import(user):
        raise PermissionDenied("Only administrators and IT operations may import from MLflow.")
