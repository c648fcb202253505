"""The REST API of a tenant, at <tenant>/api/v1/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from learning.api_schema import TenantSchemaView

urlpatterns = [
    path("", include("learning.api_urls")),
    path("", include("outcomes.api_urls")),
    path("", include("calibration.api_urls")),
    path("", include("feedback.api_urls")),
    path("", include("coaching.api_urls")),
    path("schema/", TenantSchemaView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
