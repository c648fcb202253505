"""The role pages: a rep's agent, a manager's team, the executive overview, and alerts."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import get_script_prefix
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from calibration import selectors as calibration_selectors
from coaching import selectors as coaching_selectors
from feedback import queues as feedback_queues
from insights import alerts, analytics, timeline
from insights.models import Alert
from learning.access import PAGE_ROLES, public, role_required
from learning.api_fields import whole_number
from learning.errors import DomainError, NotFound
from learning.models import Role, User
from learning.selectors import reps_of
from learning.tenancy.context import current_schema_name
from outcomes import selectors as outcome_selectors

DAY_OPTIONS = (7, 30, 90)
# What happened to an action, in the words of the day's list.
STATUS_WORDS = {
    "positive": "worked",
    "negative": "did not work",
    "ambiguous": "unclear: a person's label decides",
    "pending": "still waiting for signals",
    "expired": "no signal before its window closed",
}


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
    data = context.get("data")
    # An empty tenant: the agent has never reported (asked only when the period is empty).
    silent = isinstance(data, dict) and not data["totals"]["actions"]
    silent = silent and not outcome_selectors.has_outcomes()
    return render(
        request,
        template,
        {
            "page": page,
            "title": title,
            "schema": current_schema_name(),
            "agent_silent": silent,
            "connect_api_root": get_script_prefix() + "api/v1/",
            **context,
        },
    )


@role_required(*PAGE_ROLES[Role.REP])
def rep_home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    team = list(reps_of(user=user).select_related("manager")) if user.role != Role.REP else []
    if user.role != Role.REP and not request.GET.get("rep"):
        # a manager and up has no agent of their own here: they pick one of their reps
        return render(request, "insights/rep_pick.html", {"team": team})
    rep = analytics.visible_rep(viewer=user, username=request.GET.get("rep"))
    if rep is None:
        raise Http404("No such rep in your scope.")
    window, action_type, filters = _filters(request)
    return _role_page(
        request,
        Role.REP,
        "My agent" if rep == user else f"{rep.username}'s agent",
        "insights/rep_home.html",
        data=analytics.cached_rep_view(rep=rep, window=window, action_type=action_type),
        shown_rep=rep,
        team=team,
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


@role_required(Role.ADMIN)
def connect_agent(request: HttpRequest) -> HttpResponse:
    """How to connect the agent: its key, the first API calls, the API docs (the tenant
    admin links here; an empty tenant's pages show the same to an admin)."""
    return render(
        request,
        "insights/connect.html",
        {
            "connect_api_root": get_script_prefix() + "api/v1/",
            "reported": outcome_selectors.has_outcomes(),
        },
    )


@role_required(*PAGE_ROLES[Role.REP])
def day_actions(request: HttpRequest, day: str) -> HttpResponse:
    """The actions of one day, filtered as the dashboard was (action type, rep): what a
    click on a day of a chart opens."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise Http404("Not a day (YYYY-MM-DD).") from None
    if not date.min < when < date.max:
        # the page links the day before and after, and reads up to the next midnight
        raise Http404("No actions on the first or last day a date can name.")
    user: Any = request.user
    rep = None
    if request.GET.get("rep"):
        rep = analytics.visible_rep(viewer=user, username=request.GET["rep"])
        if rep is None:
            raise Http404("No such rep in your scope.")
    # any type the agent used (a type not calibrated yet included); an unknown one lists nothing
    action_type = request.GET.get("action_type", "")[:100] or None
    actions = outcome_selectors.actions_on_day(
        principal=user, day=when, action_type=action_type, rep=rep
    )
    counts = Counter(action.status for action in actions)
    summary = [
        f"{counts[status]:,} {words}" for status, words in STATUS_WORDS.items() if counts[status]
    ]
    return render(
        request,
        "insights/day_actions.html",
        {
            "day": when,
            "previous_day": when - timedelta(days=1),
            "next_day": when + timedelta(days=1),
            "rep": rep,
            "action_type": action_type,
            "rows": [
                (action, STATUS_WORDS.get(action.status, action.status)) for action in actions
            ],
            "summary": summary,
            "limit": outcome_selectors.DAY_LIMIT,
        },
    )


@role_required(*PAGE_ROLES[Role.MANAGER])
@require_http_methods(["GET", "POST"])
def alerts_page(request: HttpRequest) -> HttpResponse:
    """Open alert episodes (each linked to what it is about, to acknowledge or snooze),
    then the last closed ones. POST: alert, action=acknowledge|snooze, hours."""
    if request.method == "POST":
        try:
            alert_id = int(request.POST.get("alert", ""))
        except ValueError:
            return HttpResponseBadRequest("alert: a number is required.")
        action = request.POST.get("action")
        try:
            if action == "acknowledge":
                alerts.acknowledge(alert_id=alert_id, user=request.user)
                messages.success(request, "Acknowledged: it has left the bell's count.")
            elif action == "snooze":
                hours = request.POST.get("hours", "")
                alert = alerts.snooze(
                    alert_id=alert_id,
                    user=request.user,
                    hours=int(hours) if whole_number(hours) else -1,
                )
                messages.success(
                    request, f"Snoozed until {alert.snoozed_until:%b %-d, %H:%M} (UTC)."
                )
            else:
                return HttpResponseBadRequest("action: acknowledge or snooze.")
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise Http404(exc.message) from exc
            messages.error(request, exc.message)
        return redirect("alerts")
    open_alerts = list(
        Alert.objects.filter(closed_at__isnull=True).select_related("acknowledged_by", "snoozed_by")
    )
    return render(
        request,
        "insights/alerts.html",
        {
            "open": [(alert, alerts.link_for(alert, viewer=request.user)) for alert in open_alerts],
            "closed": Alert.objects.filter(closed_at__isnull=False).select_related(
                "acknowledged_by"
            )[:50],
            "now": timezone.now(),
        },
    )


@public  # a redirect only: the admin page it leads to checks who may open it
def moved(request: HttpRequest, rest: str) -> HttpResponse:
    """An admin address from before the read side had its own app: redirect to the new one."""
    query = request.META.get("QUERY_STRING", "")
    target = f"{get_script_prefix()}admin/insights/{rest}" + (f"?{query}" if query else "")
    return redirect(target, permanent=True)


@role_required(*PAGE_ROLES[Role.REP])
def conversation_page(request: HttpRequest, external_id: str = "") -> HttpResponse:
    """One conversation as it happened (insights.timeline), for whoever may see it. Its id
    is the path's last segment, any text (decoded by the web server), or `?id=` for the
    two a path cannot hold (learning.templatetags.id_links)."""
    external_id = external_id or request.GET.get("id", "")
    if not external_id:
        raise Http404("Which conversation?")
    found = timeline.conversation_timeline(
        principal=request.user, external_id=external_id, similar="similar" in request.GET
    )
    if found is None:
        raise Http404("No such conversation in your scope.")
    query = request.GET.copy()
    query["similar"] = "1"
    return render(
        request,
        "insights/conversation.html",
        {
            "timeline": found,
            "similar_url": f"?{query.urlencode()}#similar-heading",
            "similar_available": outcome_selectors.trigrams_available(),
        },
    )
