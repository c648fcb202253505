from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from learning.admin_access import ReviewAdmin, ReviewInline, SettingsAdmin, is_reviewer
from learning.errors import DomainError, InvalidInput
from learning.models import Role
from learning.templatetags.id_links import conversation_url
from outcomes import erasure, services
from outcomes.models import (
    AmbiguousOutcome,
    ContentSettings,
    Conversation,
    ErasureRecord,
    OutcomeRecord,
    OutcomeStatus,
    Signal,
)

OUTCOME_FIELDS = (
    "action_id",
    "action_type",
    "predicted_confidence",
    "outcome_type",
    "status",
    "score",
    "signal_source",
    "resolution_reason",
    "occurred_at",
    "resolved_at",
)


def timeline_link(conversation: Conversation) -> str:
    """A link to the conversation's timeline page, for admin lists."""
    return format_html('<a href="{}">read it ↗</a>', conversation_url(conversation.external_id))


class ConversationColumn:
    """`conversation_link` for the list of any admin whose rows have a conversation: its
    id, linked to its timeline page."""

    @admin.display(description="Conversation", ordering="conversation__external_id")
    def conversation_link(self, obj: Any) -> str:
        conversation = obj.conversation
        return format_html(
            '<a href="{}">{}</a>',
            conversation_url(conversation.external_id),
            conversation.external_id,
        )


class OutcomeInline(ReviewInline):
    model = OutcomeRecord
    fields = OUTCOME_FIELDS
    readonly_fields = OUTCOME_FIELDS
    ordering = ("occurred_at",)
    show_change_link = True


class SignalInline(ReviewInline):
    model = Signal
    fields = ("occurred_at", "kind", "action_id", "data", "received_at")
    readonly_fields = fields
    ordering = ("occurred_at",)


class FlaggedFilter(admin.SimpleListFilter):
    title = "flag"
    parameter_name = "flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Flagged"), ("no", "Not flagged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(flagged_at__isnull=self.value() == "no")
        return queryset


class StatusOfActionsFilter(admin.SimpleListFilter):
    """Conversations with at least one action in this status."""

    title = "has an action that is"
    parameter_name = "action_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(OutcomeStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in OutcomeStatus.values:
            return queryset.filter(
                pk__in=OutcomeRecord.objects.filter(status=self.value()).values("conversation_id")
            )
        return queryset


@admin.register(Conversation)
class ConversationAdmin(ReviewAdmin):
    list_display = ("external_id", "timeline", "rep", "deal_stage", "last_interaction_at", "flag")
    list_filter = (FlaggedFilter, StatusOfActionsFilter, "deal_stage", "rep")
    list_select_related = ("rep",)  # the rep column: one query, not one a row
    show_full_result_count = False  # one count of the scope, not a second of everything
    search_fields = ("external_id",)
    inlines = [OutcomeInline, SignalInline]
    # What other apps know of a conversation (feedback: its ratings and draft edits) is
    # added by them with add_conversation_inlines: outcomes knows nothing of it.
    extra_inlines: ClassVar[list[type[admin.options.InlineModelAdmin]]] = []
    actions = ["flag_selected", "clear_flag", "erase_content"]
    readonly_fields = ("flagged_at", "flagged_by", "flag_note", "content_erased_at")

    rep_field = "rep"

    def get_inlines(
        self, request: HttpRequest, obj: Any
    ) -> list[type[admin.options.InlineModelAdmin]]:
        return [*self.inlines, *self.extra_inlines]

    def view_on_site(self, obj: Conversation) -> str:
        # the page's link, any id encoded (not get_absolute_url's reverse(), which leaves `/`)
        return conversation_url(obj.external_id)

    @admin.display(description="Timeline")
    def timeline(self, obj: Conversation) -> str:
        return timeline_link(obj)

    @admin.display(description="Flag", ordering="flagged_at")
    def flag(self, obj: Conversation) -> str:
        if obj.flagged_at is None:
            return ""
        return format_html(
            '<span title="{}">⚑ flagged {}</span>', obj.flag_note, obj.flagged_at.date()
        )

    @admin.action(description="Flag the selected conversations for a second look")
    def flag_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._flag(request, queryset, flagged=True)

    @admin.action(description="Clear the flag of the selected conversations")
    def clear_flag(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._flag(request, queryset, flagged=False)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if getattr(request.user, "role", None) != Role.ADMIN:
            actions.pop("erase_content", None)  # the tenant's admins only
        return actions

    @admin.action(
        description="Erase what the selected conversations said (outcomes and ratings stay)"
    )
    def erase_content(self, request: HttpRequest, queryset: QuerySet) -> None:
        erased = unchanged = 0
        for external_id in queryset.values_list("external_id", flat=True):
            try:
                result = erasure.erase_conversation(external_id=external_id, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
            erased, unchanged = erased + result.changed, unchanged + (not result.changed)
        self.message_user(
            request,
            f"{erased} conversation(s) erased; {unchanged} had nothing left to remove.",
            messages.SUCCESS,
        )

    def _flag(self, request: HttpRequest, queryset: QuerySet, *, flagged: bool) -> None:
        try:
            changed = services.flag_conversations(
                ids=queryset.values_list("pk", flat=True), user=request.user, flagged=flagged
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        verb = "flagged" if flagged else "cleared"
        self.message_user(request, f"{changed} conversation(s) {verb}.", messages.SUCCESS)


@admin.register(OutcomeRecord)
class OutcomeAdmin(ConversationColumn, ReviewAdmin):
    list_display = (
        "action_id",
        "conversation_link",
        "rep",
        "action_type",
        "predicted_confidence",
        "outcome_type",
        "status",
        "signal_source",
        "occurred_at",
    )
    list_filter = ("status", "outcome_type", "action_type", "signal_source", "rep")
    search_fields = ("action_id", "conversation__external_id")
    date_hierarchy = "occurred_at"
    list_select_related = ("conversation", "rep")
    show_full_result_count = False  # one count of the scope, not a second of everything
    actions = ["label_positive", "label_negative"]

    rep_field = "rep"

    @admin.action(description="Label the selected pending or ambiguous actions positive")
    def label_positive(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._label(request, queryset, OutcomeStatus.POSITIVE)

    @admin.action(description="Label the selected pending or ambiguous actions negative")
    def label_negative(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._label(request, queryset, OutcomeStatus.NEGATIVE)

    def _label(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        labelled, refused = 0, []
        for outcome_id, action_id in queryset.values_list("pk", "action_id"):
            try:
                services.label_outcome(outcome_id=outcome_id, status=status, user=request.user)
            except DomainError as exc:
                refused.append(f"{action_id}: {exc.message}")
            else:
                labelled += 1
        self.message_user(request, f"{labelled} action(s) labelled {status}.", messages.SUCCESS)
        for line in refused[:10]:
            self.message_user(request, line, messages.WARNING)


@admin.register(AmbiguousOutcome)
class LabellingQueueAdmin(ConversationColumn, ReviewAdmin):
    """Ambiguous outcomes, oldest first; one click labels a row positive or negative (with
    the comment typed beside it, if any)."""

    list_display = (
        "occurred_at",
        "label",
        "conversation_link",
        "rep",
        "action_type",
        "predicted_confidence",
        "resolution_reason",
    )
    list_filter = ("outcome_type", "action_type", "rep")
    list_select_related = ("conversation", "rep")
    ordering = ("occurred_at", "id")

    rep_field = "rep"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.method == "GET":
            self.message_user(
                request,
                format_html(
                    "To read what the agent said before you label, label them one at a time "
                    'in the <a href="{}">review flow</a>.',
                    reverse("feedback-review-item", args=["to-label", 1]),
                ),
                messages.INFO,
            )
        return super().changelist_view(request, extra_context)

    def scope(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return super().scope(request, queryset.filter(status=OutcomeStatus.AMBIGUOUS))

    @admin.display(description="Label")
    def label(self, obj: OutcomeRecord) -> str:
        # The buttons submit the changelist form (it carries the CSRF token) to the
        # label view, with this row's comment box.
        base = reverse("admin:outcomes_ambiguousoutcome_label", args=[obj.pk, "x"])[:-2]
        return format_html(
            '<input name="comment-{}" placeholder="comment (optional)" aria-label="Comment"> '
            '<button type="submit" formaction="{}positive/" class="button">👍 Positive</button> '
            '<button type="submit" formaction="{}negative/" class="button">👎 Negative</button>',
            obj.pk,
            base,
            base,
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/label/<str:status>/",
                self.admin_site.admin_view(self.label_view),
                name="outcomes_ambiguousoutcome_label",
            ),
            *super().get_urls(),
        ]

    def label_view(self, request: HttpRequest, pk: int, status: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        comment = request.POST.get(f"comment-{pk}", "")[:2000]
        try:
            if "\x00" in comment:  # PostgreSQL's text cannot hold it
                raise InvalidInput("A comment cannot hold a NUL character.", field="comment")
            outcome = services.label_outcome(
                outcome_id=pk, status=status, user=request.user, comment=comment
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(
                request, f"{outcome.action_id} labelled {outcome.status}.", messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:outcomes_ambiguousoutcome_changelist"))


@admin.register(ContentSettings)
class ContentSettingsAdmin(SettingsAdmin):
    """The tenant's retention of what people wrote, and masking at ingest."""

    list_display = ("__str__", "retention_days", "mask_contact_details")


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReviewAdmin):
    """The audit log of erasures (never their text): admins only."""

    list_display = ("at", "kind", "by", "conversation_ids", "removed", "older_than")
    list_filter = ("kind",)
    whole_tenant = True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_reviewer(request) and getattr(request.user, "role", None) == Role.ADMIN

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


def add_conversation_inlines(*inlines: type[admin.options.InlineModelAdmin]) -> None:
    """Show `inlines` on every conversation's admin page, after outcomes' own."""
    for inline in inlines:
        if inline not in ConversationAdmin.extra_inlines:
            ConversationAdmin.extra_inlines.append(inline)
