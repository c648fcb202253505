"""URLs of one tenant, served under /t/<slug>/ (or on the tenant's own host name)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from config import health
from learning import views
from learning.access import public

urlpatterns = [
    path("", views.landing, name="landing"),
    # Every sign-in, here and in the admin, is limited by learning.lockout. Signing in and
    # out are for everyone: public.
    path(
        "login/",
        public(
            auth_views.LoginView.as_view(
                template_name="learning/login.html", redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("", include("insights.urls")),
    path("", include("feedback.urls")),
    path("", include("coaching.urls")),
    path("", include("prompts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.urls_api")),
    path("healthz", health.healthz),
    # Browsers ask for /favicon.ico on pages that do not name one (the Django admin's).
    path("favicon.ico", public(RedirectView.as_view(url=static("favicon.svg"), permanent=True))),
]

# A request refused before any view (e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413):
# JSON under the API.
handler400 = "learning.views.bad_request"

# A URL no route matches (e.g. /api/v1/outcomes/-1/): JSON under the API.
handler404 = "learning.views.not_found"

# The database out of reach: a 503 to retry, not a 500 (learning.views.server_error).
handler500 = "learning.views.server_error"
