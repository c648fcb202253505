from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from insights.alerts import open_count
from learning.tenancy.middleware import is_tenant_request


def alerts(request: HttpRequest) -> dict[str, Any]:
    """`open_alerts` for the bell: managers and up, inside a tenant."""
    user = getattr(request, "user", None)
    if not is_tenant_request(request) or not getattr(user, "is_authenticated", False):
        return {}
    if getattr(user, "role", None) not in ("manager", "executive", "admin"):
        return {}
    return {"open_alerts": open_count()}
