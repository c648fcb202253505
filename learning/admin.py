from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from learning import selectors
from learning.models import AgentKey, ApiToken, User
from learning.tenancy.context import request_tenant


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "role", "manager", "email", "is_active", "last_login")
    list_filter = ("role", "is_active")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Learning Loop", {"fields": ("role", "manager", "time_zone")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        tenant = request_tenant(request)
        if not change and tenant is not None:
            obj.time_zone = tenant.time_zone  # a new person starts in the workspace's zone
        super().save_model(request, obj, form, change)


@admin.action(description="Revoke the selected credentials")
def revoke(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    with transaction.atomic():  # the revocation and the version bump commit together
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        selectors.after_revocation()  # remembered keys stop at once
    modeladmin.message_user(request, f"Revoked {count}.", messages.SUCCESS)


class CredentialAdmin(admin.ModelAdmin):
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    exclude = ("digest", "secret_salt")
    actions = [revoke]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are shown once at creation: create them with the commands


@admin.register(AgentKey)
class AgentKeyAdmin(CredentialAdmin):
    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")


@admin.register(ApiToken)
class ApiTokenAdmin(CredentialAdmin):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ["user", *CredentialAdmin.readonly_fields]
