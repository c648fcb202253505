"""Tenant admin pages for reviewers: managers see their team, admins everything."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from learning.models import Role

REVIEWER_ROLES = (Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)


def is_reviewer(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and getattr(user, "role", None) in REVIEWER_ROLES)


class ReviewAdmin(admin.ModelAdmin):
    """Read-only review pages. Changes go through services (custom views and actions),
    never through the admin's generic forms."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_reviewer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_reviewer(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """Restrict `queryset` to what the reviewer may see; override per model."""
        return queryset

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope(request, super().get_queryset(request))


class ReviewInline(admin.TabularInline):
    """A read-only inline for the same reviewers (inlines check model permissions of their
    own, which reviewers do not hold)."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_reviewer(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SettingsAdmin(admin.ModelAdmin):
    """A tenant's one-row settings: reviewers read them, admins change them; the row is
    created with its defaults on an admin's first visit, and never deleted."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_reviewer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_reviewer(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_reviewer(request) and getattr(request.user, "role", None) == Role.ADMIN

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request) and not self.model.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # One row: go straight to it.
        if self.has_change_permission(request):
            self.model.objects.get_or_create(pk=1)
        if self.model.objects.filter(pk=1).exists():
            opts = self.model._meta
            return redirect(
                reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[1]
                )
            )
        return super().changelist_view(request, extra_context)
