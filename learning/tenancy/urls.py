"""Where a tenant is reached from outside: the URLs commands print and emails link to."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings

from learning.tenancy.middleware import tenant_prefix
from learning.tenancy.models import Tenant

# `make run` writes the address it serves here while it runs (config/run.py), with its pid.
RUNNING_WEB_FILE = "web-url.json"


def base_url() -> str:
    """LL_BASE_URL, else the web server `make run` runs from this folder, else an
    example: this machine on PORT (default 8000)."""
    return base_url_and_origin()[0]


def base_url_and_origin() -> tuple[str, str]:
    """(the base URL, where it comes from): "LL_BASE_URL", "make run" (the server running
    from this folder, read from its data folder) or "example" (neither: the port is only
    assumed, PORT or 8000, and may not be where anything is served)."""
    configured = getattr(settings, "LL_BASE_URL", None) or os.environ.get("LL_BASE_URL")
    if configured:
        return str(configured).rstrip("/"), "LL_BASE_URL"
    running = _running_web_url()
    if running:
        return running.rstrip("/"), "make run"
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}", "example"


def _running_web_url() -> str | None:
    try:
        data = json.loads((Path(settings.DATA_DIR) / RUNNING_WEB_FILE).read_text())
        os.kill(int(data["pid"]), 0)  # its `make run` still runs
        return str(data["url"]) or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
