"""Tenant admin pages for reviewers: managers see their team, executives and admins
everything. Closed by default: an admin class that says neither whose rows they are
(`rep_field`) nor that they belong to the whole tenant (`whole_tenant`) shows managers
nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.db.models.fields.related import RelatedField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from learning.models import Role, User
from learning.selectors import sees_whole_tenant, visible_users

REVIEWER_ROLES = (Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)


def is_reviewer(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and getattr(user, "role", None) in REVIEWER_ROLES)


class ReviewAdmin(admin.ModelAdmin):
    """Read-only review pages. Changes go through services (custom views and actions),
    never through the admin's generic forms.

    Rows are scoped like every view of the product: set `rep_field` to the lookup of the
    rep a row belongs to (e.g. "conversation__rep") and a manager sees their team's rows;
    set `whole_tenant = True` for rows about the tenant as a whole (calibration, alerts,
    proposals), which every reviewer may read. With neither, a manager sees nothing."""

    rep_field: str | None = None
    whole_tenant: bool = False

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
        """`queryset` narrowed to what the reviewer may see (module docstring)."""
        return scoped(request, queryset, rep_field=self.rep_field, whole_tenant=self.whole_tenant)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope(request, super().get_queryset(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        """The sidebar's filters on a related row (e.g. "rep") offer only choices in the
        reviewer's scope (ScopedRelatedFieldListFilter)."""
        return [
            (name, ScopedRelatedFieldListFilter)
            if isinstance(name, str) and get_fields_from_path(self.model, name)[-1].is_relation
            else name
            for name in super().get_list_filter(request)
        ]


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A filter on a related row whose choices are in the reviewer's scope. Django's own
    lists every row of the related table: a manager would read every username of the
    tenant. A manager is offered the people whose data they may see (their team and
    themselves), and of other related rows those their own rows name."""

    def field_choices(self, field: RelatedField, request: HttpRequest, model_admin: Any) -> Any:
        user = request.user
        if sees_whole_tenant(user):
            return super().field_choices(field, request, model_admin)
        if field.related_model is User:
            allowed: Any = visible_users(user=user)
        else:
            allowed = model_admin.get_queryset(request).values_list(
                f"{self.field_path}__pk", flat=True
            )
        return field.get_choices(
            include_blank=False,
            limit_choices_to={"pk__in": allowed},
            ordering=self.field_admin_ordering(field, request, model_admin),
        )


def scoped(
    request: HttpRequest, queryset: QuerySet, *, rep_field: str | None, whole_tenant: bool
) -> QuerySet:
    user = request.user
    if sees_whole_tenant(user):
        return queryset
    if rep_field is not None:
        return queryset.filter(**{f"{rep_field}__in": visible_users(user=user)})
    return queryset if whole_tenant else queryset.none()


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
    """A tenant's one-row settings: reviewers read them, admins change them; never added
    nor deleted. The list and the "add" page both open the one row: no "+ Add" beside it,
    no page that is a dead end. An admin's first visit creates the row with its defaults;
    before that, a reader sees the defaults, which are what is in force."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_reviewer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_reviewer(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_reviewer(request) and getattr(request.user, "role", None) == Role.ADMIN

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the one row is opened, never added (the module docstring)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        found = super().get_object(request, object_id, from_field)
        if found is None and str(object_id) == "1":
            return self.model(pk=1)  # not saved yet: the defaults in force
        return found

    def _the_row(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if self.has_change_permission(request):
            self.model.objects.get_or_create(pk=1)
        opts = self.model._meta
        return redirect(
            reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[1])
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return self._the_row(request)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return self._the_row(request)
