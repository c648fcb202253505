"""URLs outside any tenant: front page, health probes, the ops admin."""

from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from config import health, metrics
from learning import views
from learning.access import public
from learning.admin_sites import ops_admin_site

urlpatterns = [
    path("", views.public_index, name="public-index"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus, with METRICS_TOKEN
    path("admin/", ops_admin_site.urls),
    # Browsers ask for /favicon.ico on pages that do not name one (the Django admin's).
    path("favicon.ico", public(RedirectView.as_view(url=static("favicon.svg"), permanent=True))),
]

# The database out of reach: a 503 to retry, not a 500 (learning.views.server_error).
handler500 = "learning.views.server_error"
