"""The foundation's pages: where a signed-in person lands, the public front page and
the error pages. The role pages are insights'."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import server_error as django_server_error

from learning.access import login_only, public
from learning.errors import is_transient
from learning.models import Role

ROLE_HOME: dict[str, str] = {
    Role.REP: "rep-home",
    Role.MANAGER: "manager-home",
    Role.EXECUTIVE: "executive-home",
    Role.ADMIN: "admin:index",
}


@login_only  # every role: it sends each to their own page
def landing(request: HttpRequest) -> HttpResponse:
    role = getattr(request.user, "role", "")
    return redirect(ROLE_HOME.get(role, "rep-home"))


@public  # the front page outside any tenant: no tenant data
def public_index(request: HttpRequest) -> HttpResponse:
    return render(request, "public/index.html")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refused before any view could (a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields, …): under the API JSON like every other
    error, a body too large a 413; the page elsewhere."""
    if "/api/" not in request.path:
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body is too large (at most {limit} bytes)."
        return JsonResponse({"detail": detail}, status=413)
    return JsonResponse({"detail": "Bad request."}, status=400)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 of a tenant URL: JSON under the API (clients parse it), the page elsewhere."""
    if "/api/" in request.path:
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


UNAVAILABLE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Unavailable</title></head><body><h1>Briefly unavailable</h1>
<p>The database cannot be reached just now. Nothing was changed; try again in a moment.</p>
</body></html>"""


def server_error(request: HttpRequest) -> HttpResponse:
    """A request that failed with an error: a 503 the client may retry when the database
    was out of reach (restarting, failing over; the transaction rolled back, so nothing was
    half-written), else a 500: JSON under the API (clients parse every error), Django's
    page elsewhere."""
    error = sys.exc_info()[1]
    api = "/api/" in request.path
    if isinstance(error, Exception) and is_transient(error):
        retry = {"Retry-After": "5"}
        if api:
            detail = {"detail": "The database is unavailable; retry later."}
            return JsonResponse(detail, status=503, headers=retry)
        return HttpResponse(UNAVAILABLE_PAGE, status=503, headers=retry)
    if api:
        return JsonResponse({"detail": "Server error; it has been logged."}, status=500)
    return django_server_error(request)
