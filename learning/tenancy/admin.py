from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from learning.tenancy.models import Domain


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "time_zone", "schema_name", "ready", "created_at")
    search_fields = ("slug", "name")
    readonly_fields = ("schema_name", "ready", "created_at")
    inlines = [DomainInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # `manage.py create_tenant` creates and migrates the schema

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # dropping a schema is an ops procedure, not a click


class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
