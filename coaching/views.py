from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from coaching import batch, selectors
from learning.access import PAGE_ROLES, role_required
from learning.errors import DomainError, NotFound
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


@role_required(*PAGE_ROLES[Role.MANAGER])
@require_http_methods(["GET", "POST"])
def proposal_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One proposal of batch learning with its evidence as examples; an admin approves
    (an experiment starts) or rejects it here. POST: decision=approve|reject, note."""
    proposal = selectors.proposal(pk=pk)
    if proposal is None:
        raise Http404("No such proposal.")
    if request.method == "POST":
        decide = {"approve": batch.approve, "reject": batch.reject}.get(
            request.POST.get("decision", "")
        )
        if decide is None:
            return HttpResponseBadRequest("decision: approve or reject.")
        try:
            done = decide(
                proposal_id=pk, user=request.user, note=request.POST.get("note", "")[:500]
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Proposal {done.get_status_display().lower()}.")
        return redirect("learning-proposal", pk=pk)
    return render(
        request,
        "coaching/proposal.html",
        {
            "proposal": proposal,
            "can_decide": getattr(request.user, "role", None) == Role.ADMIN,
        },
    )
