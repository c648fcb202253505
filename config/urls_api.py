"""The REST API of a tenant, at <tenant>/api/v1/."""

from csp.decorators import csp_exempt
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from learning.api_schema import TenantSchemaView

urlpatterns = [
    path("", include("learning.api_urls")),
    path("", include("outcomes.api_urls")),
    path("", include("calibration.api_urls")),
    path("", include("feedback.api_urls")),
    path("", include("coaching.api_urls")),
    path("", include("insights.api_urls")),
    path("schema/", TenantSchemaView.as_view(), name="api-schema"),
    # Swagger UI and ReDoc pages carry inline script: outside the CSP, API pages only.
    # Public, as the schema they render: documentation, no tenant data.
    path(
        "docs/",
        csp_exempt()(
            SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[AllowAny])
        ),
        name="api-docs",
    ),
    path(
        "redoc/",
        csp_exempt()(
            SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[AllowAny])
        ),
        name="api-redoc",
    ),
]
