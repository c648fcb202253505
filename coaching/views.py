from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from coaching import selectors
from learning.access import PAGE_ROLES, role_required
from learning.models import Role


@role_required(*PAGE_ROLES[Role.MANAGER])
def learning_page(request: HttpRequest) -> HttpResponse:
    """How the agent is learning: coverage, accuracy, velocity, experiments, proposals."""
    metrics = selectors.learning_metrics()
    last = next((w for w in reversed(metrics["trend"]) if w["messages"]), None)
    return render(
        request,
        "coaching/learning.html",
        {
            "metrics": metrics,
            "last": last,
            "trend_json": metrics["trend"],
            "can_decide": getattr(request.user, "role", None) == Role.ADMIN,
        },
    )
