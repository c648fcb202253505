from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from coaching import batch
from coaching.models import (
    BatchRun,
    CoachingPattern,
    CoachingRun,
    CoachingSettings,
    Experiment,
    LearningProposal,
    PlaybookEntry,
)
from learning.admin_access import ReviewAdmin, ReviewInline, SettingsAdmin
from learning.errors import DomainError


@admin.register(CoachingSettings)
class CoachingSettingsAdmin(SettingsAdmin):
    list_display = ("__str__", "false_discovery_rate", "min_group", "period_days")


class PatternInline(ReviewInline):
    model = CoachingPattern
    fields = ("rank", "kind", "description", "recommendation", "adjusted_p")
    readonly_fields = fields
    ordering = ("rank",)


@admin.register(CoachingRun)
class CoachingRunAdmin(ReviewAdmin):
    whole_tenant = True  # about the agent across the tenant
    list_display = ("started_at", "outcomes", "comparisons", "false_discovery_rate", "min_group")
    inlines = [PatternInline]


@admin.register(LearningProposal)
class LearningProposalAdmin(ReviewAdmin):
    """Batch learning's proposals: admins approve (an experimental entry is created or
    updated) or reject them; managers may read them."""

    whole_tenant = True  # about the agent across the tenant

    list_display = ("title", "kind", "count", "status", "created_at", "decided_by")
    list_filter = ("status", "kind")
    search_fields = ("title", "key")
    ordering = ("-status", "-created_at")  # pending first
    actions = ["approve_selected", "reject_selected"]
    fields = (
        "title",
        "kind",
        "key",
        "count",
        "status",
        "proposed_content",
        "evidence_pretty",
        "summary",
        "decided_by",
        "decided_at",
        "decision_note",
        "entry",
        "run",
    )
    readonly_fields = fields

    @admin.display(description="Evidence")
    def evidence_pretty(self, obj: LearningProposal) -> str:
        """The evidence as examples (the proposal's page decides it, with a note)."""
        page = reverse("learning-proposal", args=[obj.pk])
        return format_html(
            '<p><a href="{}">Open its page to approve or reject it</a></p>{}',
            page,
            render_to_string("coaching/_evidence.html", {"proposal": obj}),
        )

    @admin.action(description="Approve: start the selected as experiments")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, batch.approve, "approved")

    @admin.action(description="Reject the selected proposals")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, batch.reject, "rejected")

    def _decide(self, request: HttpRequest, queryset: QuerySet, decide: Any, verb: str) -> None:
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                decide(proposal_id=pk, user=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
            done += 1
        self.message_user(request, f"{done} proposal(s) {verb}.", messages.SUCCESS)


@admin.register(PlaybookEntry)
class PlaybookEntryAdmin(ReviewAdmin):
    whole_tenant = True  # about the agent across the tenant
    list_display = ("name", "kind", "status", "uses", "approvals", "approval", "decided_at")
    list_filter = ("status", "kind")
    search_fields = ("name",)

    @admin.display(description="Approval rate")
    def approval(self, obj: PlaybookEntry) -> str:
        return f"{obj.approval_rate:.0%}" if obj.approval_rate is not None else "-"


@admin.register(Experiment)
class ExperimentAdmin(ReviewAdmin):
    """Randomised experiments: read here, decided by the test (coaching.experiments)."""

    whole_tenant = True  # about the agent across the tenant
    list_display = ("entry", "status", "new_version", "previous_version", "evidence")
    list_filter = ("status",)
    search_fields = ("entry__name",)
    list_select_related = ("entry",)

    @admin.display(description="New version")
    def new_version(self, obj: Experiment) -> str:
        rate = obj.rate("treatment")
        return f"{rate:.0%} of {obj.treatment_uses:,} unedited" if rate is not None else "-"

    @admin.display(description="Previous version")
    def previous_version(self, obj: Experiment) -> str:
        rate = obj.rate("control")
        return f"{rate:.0%} of {obj.control_uses:,} unedited" if rate is not None else "-"

    @admin.display(description="Evidence (20 decides)")
    def evidence(self, obj: Experiment) -> str:
        return f"{obj.evidence:,.0f} to 1"


@admin.register(BatchRun)
class BatchRunAdmin(ReviewAdmin):
    whole_tenant = True  # about the agent across the tenant
    list_display = ("started_at", "period_start", "period_end", "edits", "gaps", "proposals")
