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
