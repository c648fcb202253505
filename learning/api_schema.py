from __future__ import annotations

from typing import Any

from django.urls import get_script_prefix
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response


class TenantSchemaView(SpectacularAPIView):
    """The OpenAPI schema, with the tenant's own prefix as the server, so "Try it out" in
    the docs and generated clients call this tenant."""

    def _get_schema_response(self, request: Request) -> Response:
        response = super()._get_schema_response(request)
        data: dict[str, Any] = response.data
        prefix = get_script_prefix().rstrip("/")
        data["servers"] = [{"url": request.build_absolute_uri(prefix + "/").rstrip("/")}]
        return response
