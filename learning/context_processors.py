from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from learning.tenancy.middleware import is_tenant_request


def tenant(request: HttpRequest) -> dict[str, Any]:
    """`tenant` in templates: the request's tenant, None on the public site."""
    return {"tenant": request.tenant if is_tenant_request(request) else None}  # type: ignore[attr-defined]
