"""The tenant the current database connection points at."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest


def current_schema_name() -> str:
    return str(connection.schema_name)  # type: ignore[attr-defined]  # set by django-tenants


def request_tenant(request: HttpRequest) -> Any:
    """The tenant a request was routed to (TenantPathMiddleware sets it; None on the
    public site)."""
    return getattr(request, "tenant", None)
