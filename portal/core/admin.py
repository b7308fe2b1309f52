"""The Django admin, audited: every change made here writes an audit event, as the pages' changes do.

``AuditedAdmin`` hooks the admin's own change log (``log_addition``, ``log_change``, ``log_deletions``,
which every admin view calls, the password form and bulk deletion included), recording the fields changed
with their values before and after (secrets only as "changed"). Models whose writes have a service (teams,
policies) call it instead and let the service audit; ``ReadOnlyAdmin`` shows rows the admin must not edit.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import models, transaction

from portal.core.choices import AuditAction
from portal.core.models import AuditEvent, Team
from portal.core.services import audit_event_record, team_create, team_update

HIDDEN = ("password", "secret")


def _value(obj, name: str):
    field = obj._meta.get_field(name)
    if isinstance(field, models.ManyToManyField):
        return sorted(str(item) for item in getattr(obj, name).all())
    value = getattr(obj, name)
    return value if isinstance(value, bool | int | float | str | list | dict | type(None)) else str(value)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Writes made in the admin are audited. ``audited_by_service``: saves go through a service that audits
    them (only deletions are recorded here)."""

    audited_by_service = False

    def _fields(self, form) -> list[str]:
        concrete = {f.name for f in self.model._meta.get_fields() if f.concrete}
        return [name for name in form.changed_data if name in concrete] if form is not None else []

    def save_model(self, request, obj, form, change):
        fields = self._fields(form)
        before = self.model._default_manager.filter(pk=obj.pk).first() if change else None
        request._gatehouse_audit = (fields, {n: _value(before, n) for n in fields} if before else {})
        super().save_model(request, obj, form, change)

    def _record(self, request, obj, action: str, message) -> None:
        fields, before = getattr(request, "_gatehouse_audit", ([], {}))
        after = {n: "(changed)" if n in HIDDEN else _value(obj, n) for n in fields}
        before = {n: "(hidden)" if n in HIDDEN else v for n, v in before.items()}
        with transaction.atomic():  # the admin's password view is not atomic itself
            audit_event_record(
                actor=request.user,
                action=action,
                obj=obj,
                before=before or None,
                after={**after, "admin": str(message)[:500]},
            )

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        if not self.audited_by_service:
            self._record(request, obj, AuditAction.ADMIN_CREATED, message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        if not self.audited_by_service:
            self._record(request, obj, AuditAction.ADMIN_CHANGED, message)
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        with transaction.atomic():
            for obj in queryset:
                audit_event_record(
                    actor=request.user, action=AuditAction.ADMIN_DELETED, obj=obj, before={"object": str(obj)}
                )
        return entries


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    """Membership decides who may change a team's models: it is set through the team services (audited)."""

    audited_by_service = True
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]

    def save_model(self, request, obj, form, change):
        members = list(form.cleaned_data.get("members", []))
        if change:
            team_update(team=obj, actor=request.user, name=obj.name, slug=obj.slug, members=members)
        else:
            created = team_create(name=obj.name, slug=obj.slug, actor=request.user, members=members)
            obj.pk, obj._state.adding = created.pk, False

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # members were set by the service; only inlines (none today) remain
            self.save_formset(request, form, formset, change=change)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log is append-only: readable here, never editable."""

    list_display = ["id", "created_at", "actor_username", "action", "object_repr"]
    list_filter = ["action"]


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    """Accounts and their roles (groups): every change audited with the roles before and after."""


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    """A role's permissions: changing them changes what every member may do."""
