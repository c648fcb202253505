from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from learning.tenancy.context import request_tenant
from learning.tenancy.middleware import is_tenant_request


def tenant(request: HttpRequest) -> dict[str, Any]:
    """`tenant` in templates: the request's tenant, None on the public site; and the port
    websockets are served on, when it is not the page's own (settings.WEBSOCKET_PORT)."""
    return {
        "tenant": request_tenant(request) if is_tenant_request(request) else None,
        "websocket_port": settings.WEBSOCKET_PORT,
    }
