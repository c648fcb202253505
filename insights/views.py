"""The role pages: a rep's agent, a manager's team, the executive overview, and alerts."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix

from calibration import selectors as calibration_selectors
from coaching import selectors as coaching_selectors
from feedback import queues as feedback_queues
from insights import analytics, timeline
from insights.models import Alert
from learning.access import PAGE_ROLES, role_required
from learning.api_fields import whole_number
from learning.models import Role, User
from learning.selectors import reps_of
from learning.tenancy.context import current_schema_name

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
    template: str = "insights/role_home.html",
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
        "insights/rep_home.html",
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
        "insights/manager_home.html",
        data=analytics.cached_manager_view(
            user=cast(User, request.user), window=window, action_type=action_type
        ),
        curves=calibration_selectors.curves(),
        review_queues=feedback_queues.summaries(user=request.user),
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
        "insights/executive_home.html",
        data=analytics.cached_executive_view(window=window, action_type=action_type),
        api="api/v1/analytics/executive/",
        **filters,
    )


@role_required(*PAGE_ROLES[Role.MANAGER])
def alerts_page(request: HttpRequest) -> HttpResponse:
    """Open alert episodes, then the last closed ones."""
    return render(
        request,
        "insights/alerts.html",
        {
            "open": Alert.objects.filter(closed_at__isnull=True),
            "closed": Alert.objects.filter(closed_at__isnull=False)[:50],
        },
    )


def moved(request: HttpRequest, rest: str) -> HttpResponse:
    """An admin address from before the read side had its own app: redirect to the new one."""
    query = request.META.get("QUERY_STRING", "")
    target = f"{get_script_prefix()}admin/insights/{rest}" + (f"?{query}" if query else "")
    return redirect(target, permanent=True)


@role_required(*PAGE_ROLES[Role.REP])
def conversation_page(request: HttpRequest, external_id: str) -> HttpResponse:
    """One conversation as it happened (insights.timeline), for whoever may see it."""
    found = timeline.conversation_timeline(principal=request.user, external_id=external_id)
    if found is None:
        raise Http404("No such conversation in your scope.")
    return render(request, "insights/conversation.html", {"timeline": found})
