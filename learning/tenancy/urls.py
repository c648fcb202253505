"""Where a tenant is reached from outside: the URLs commands print and emails link to."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

from learning.tenancy.middleware import tenant_prefix
from learning.tenancy.models import Tenant


def base_url() -> str:
    """LL_BASE_URL, else this machine's web server (PORT, default 8000)."""
    configured = getattr(settings, "LL_BASE_URL", None) or os.environ.get("LL_BASE_URL")
    return str(configured or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")


def tenant_urls(tenant: Tenant) -> dict[str, Any]:
    web_url = base_url() + tenant_prefix(tenant)
    return {"web_url": web_url, "api_url": web_url + "api/v1/", "headers": {}}


def absolute_url(name: str, *args: Any, query: str = "") -> str:
    """The full URL of one of the current tenant's pages (`reverse(name, args)`), the same
    whether built in a request (under the tenant's script prefix) or in a task or command
    (under none): for mail and Slack messages."""
    from django.db import connection
    from django.urls import get_script_prefix, reverse

    path = reverse(name, args=args)[len(get_script_prefix()) :]
    tenant: Tenant = connection.tenant  # type: ignore[attr-defined]  # django-tenants sets it
    if not isinstance(tenant, Tenant):  # schema_context's stand-in: the tenant it names
        tenant = Tenant.objects.get(schema_name=tenant.schema_name)
    return base_url() + tenant_prefix(tenant) + path + (f"?{query}" if query else "")
