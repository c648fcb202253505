from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from calibration import selectors as calibration_selectors
from coaching import selectors as coaching_selectors
from learning import analytics
from learning.access import PAGE_ROLES, role_required
from learning.api_fields import whole_number
from learning.models import Role
from learning.selectors import reps_of
from learning.tenancy.context import current_schema_name

ROLE_HOME = {
    Role.REP: "rep-home",
    Role.MANAGER: "manager-home",
    Role.EXECUTIVE: "executive-home",
    Role.ADMIN: "admin:index",
}


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    return redirect(ROLE_HOME.get(request.user.role, "rep-home"))  # type: ignore[union-attr]


DAY_OPTIONS = (7, 30, 90)


def _filters(request: HttpRequest) -> tuple[analytics.Window, str | None, dict[str, object]]:
    """The page's date range and action type from the query string; bad values fall back
    to the defaults (a page never fails on a hand-edited URL)."""
    raw = request.GET.get("days", "30")
    days = int(raw) if whole_number(raw) and 1 <= int(raw) <= 365 else 30
    action_type = request.GET.get("action_type") or None
    known = calibration_selectors.action_types()
    if action_type not in known:
        action_type = None
    return (
        analytics.Window.last(days),
        action_type,
        {
            "days": days,
            "day_options": DAY_OPTIONS,
            "action_type": action_type,
            "action_types": known,
        },
    )


def _role_page(
    request: HttpRequest,
    page: str,
    title: str,
    template: str = "learning/role_home.html",
    **context: object,
) -> HttpResponse:
    return render(
        request,
        template,
        {"page": page, "title": title, "schema": current_schema_name(), **context},
    )


@role_required(*PAGE_ROLES[Role.REP])
def rep_home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    rep = analytics.visible_rep(viewer=user, username=request.GET.get("rep"))
    if rep is None:
        raise Http404("No such rep in your scope.")
    window, action_type, filters = _filters(request)
    team = list(reps_of(user=user))
    return _role_page(
        request,
        Role.REP,
        "My agent" if rep == user else f"{rep.username}'s agent",
        "learning/rep_home.html",
        data=analytics.cached_rep_view(rep=rep, window=window, action_type=action_type),
        shown_rep=rep,
        team=team if user.role != Role.REP else [],
        api="api/v1/analytics/rep/",
        **filters,
    )


@role_required(*PAGE_ROLES[Role.MANAGER])
def manager_home(request: HttpRequest) -> HttpResponse:
    window, action_type, filters = _filters(request)
    return _role_page(
        request,
        Role.MANAGER,
        "My team",
        "learning/manager_home.html",
        data=analytics.cached_manager_view(
            user=request.user, window=window, action_type=action_type
        ),  # type: ignore[arg-type]
        curves=calibration_selectors.curves(),
        adjustments=calibration_selectors.adjustment_log(limit=20),
        **coaching_selectors.for_page(),
        api="api/v1/analytics/manager/",
        **filters,
    )


@role_required(*PAGE_ROLES[Role.EXECUTIVE])
def executive_home(request: HttpRequest) -> HttpResponse:
    window, action_type, filters = _filters(request)
    return _role_page(
        request,
        Role.EXECUTIVE,
        "Company overview",
        "learning/executive_home.html",
        data=analytics.cached_executive_view(window=window, action_type=action_type),
        api="api/v1/analytics/executive/",
        **filters,
    )


@role_required(*PAGE_ROLES[Role.MANAGER])
def alerts_page(request: HttpRequest) -> HttpResponse:
    """Open alert episodes, then the last closed ones."""
    from learning.models import Alert

    return render(
        request,
        "learning/alerts.html",
        {
            "open": Alert.objects.filter(closed_at__isnull=True),
            "closed": Alert.objects.filter(closed_at__isnull=False)[:50],
        },
    )


def public_index(request: HttpRequest) -> HttpResponse:
    return render(request, "public/index.html")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 of a tenant URL: JSON under the API (clients parse it), the page elsewhere."""
    from django.http import JsonResponse

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
    import sys

    from django.http import JsonResponse
    from django.views.defaults import server_error as django_server_error

    from learning.errors import is_transient

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
