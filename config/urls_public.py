"""URLs outside any tenant: front page, health probes, the ops admin."""

from django.urls import path

from learning import health, views
from learning.admin_sites import ops_admin_site

urlpatterns = [
    path("", views.public_index, name="public-index"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", ops_admin_site.urls),
]
