from django.contrib.admin.apps import AdminConfig


class TenantAdminConfig(AdminConfig):
    """Makes `admin.site` the tenant admin (see learning.admin_sites)."""

    default_site = "learning.admin_sites.TenantAdminSite"
