"""Two admin sites: one per tenant at <tenant>/admin/, one for ops at /admin/.

Apps register their models on `admin.site` as usual. The tenant site only serves models
whose tables live in tenant schemas; shared tables (tenants, beat schedules) appear only in
the ops site, reached outside any tenant by ops superusers of the public schema.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import reverse

# The dashboard "View site" opens for each role (an admin's broadest view is the executive's).
DASHBOARD = {
    "rep": "rep-home",
    "manager": "manager-home",
    "executive": "executive-home",
    "admin": "executive-home",
}


def _tenant_app_labels() -> set[str]:
    from django.apps import apps

    labels = set()
    for config in apps.get_app_configs():
        full_name = f"{type(config).__module__}.{type(config).__name__}"
        if config.name in settings.TENANT_APPS or full_name in settings.TENANT_APPS:
            labels.add(config.label)
    return labels


class LimitedPasswordChangeSite(AdminSite):
    """The admin's "Change password", with the old password limited as sign-ins are
    (learning.lockout.LimitedPasswordChangeForm); otherwise Django's own view."""

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> Any:
        from learning.lockout import LimitedPasswordChangeView

        defaults: dict[str, Any] = {
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return LimitedPasswordChangeView.as_view(**defaults)(request)


class TenantAdminSite(LimitedPasswordChangeSite):
    site_header = "Learning Loop admin"
    site_title = "Learning Loop"
    index_title = "Review and configuration"
    index_template = "admin/tenant_index.html"  # with the link to connect the agent

    def get_urls(self) -> list[Any]:
        tenant_labels = _tenant_app_labels()
        for model in [m for m in self._registry if m._meta.app_label not in tenant_labels]:
            self.unregister(model)
        return super().get_urls()

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"Learning Loop admin: {tenant.name}"
            # "View site": the person's own dashboard in this tenant
            role = getattr(request.user, "role", "")
            context["site_url"] = reverse(DASHBOARD.get(role, "rep-home"))
        return context


class OpsAdminSite(LimitedPasswordChangeSite):
    site_header = "Learning Loop operations"
    site_title = "Learning Loop ops"
    index_title = "Tenants and schedules"


ops_admin_site = OpsAdminSite(name="ops_admin")


def register_ops_models() -> None:
    # Imported here, not above: this module defines the default admin site's class, and
    # django-celery-beat's admin module registers on that site as it is imported.
    from django_celery_beat import admin as beat_admin
    from django_celery_beat import models as beat

    from learning.tenancy.admin import DomainAdmin, TenantAdmin
    from learning.tenancy.models import Domain, Tenant

    ops_admin_site.register(Tenant, TenantAdmin)
    ops_admin_site.register(Domain, DomainAdmin)
    ops_admin_site.register(beat.PeriodicTask, beat_admin.PeriodicTaskAdmin)
    ops_admin_site.register(beat.IntervalSchedule)
    ops_admin_site.register(beat.CrontabSchedule)
    ops_admin_site.register(beat.ClockedSchedule, beat_admin.ClockedScheduleAdmin)


register_ops_models()
