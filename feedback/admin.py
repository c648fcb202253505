"""Feedback in the tenant admin: entries and draft edits for reviewers, settings for admins.

The conversation page (outcomes' ConversationAdmin) also lists the conversation's feedback
and draft edits, added through outcomes.admin.add_conversation_inlines: outcomes does not
depend on feedback.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from feedback.models import (
    DraftFeedback,
    FeedbackEntry,
    FeedbackRevision,
    FeedbackSettings,
    RubricDimension,
)
from learning.admin_access import ReviewAdmin, ReviewInline, SettingsAdmin, is_reviewer
from learning.models import Role
from outcomes import admin as outcomes_admin


class FeedbackInline(ReviewInline):
    model = FeedbackEntry
    fields = (
        "rated_at",
        "target_type",
        "target_id",
        "source",
        "rating",
        "comment",
        "reviewer",
        "via",
        "minted_by",
    )
    readonly_fields = fields
    ordering = ("rated_at",)
    show_change_link = True


class DraftInline(ReviewInline):
    model = DraftFeedback
    fields = ("created_at", "action_id", "intent", "edit_distance", "significant", "sent_version")
    readonly_fields = fields
    ordering = ("created_at",)


class RevisionInline(ReviewInline):
    model = FeedbackRevision
    fields = ("revision", "rated_at", "source", "rating", "comment", "via", "minted_by")
    readonly_fields = fields


outcomes_admin.add_conversation_inlines(FeedbackInline, DraftInline)


@admin.register(FeedbackEntry)
class FeedbackEntryAdmin(outcomes_admin.ConversationColumn, ReviewAdmin):
    list_display = (
        "rated_at",
        "target_type",
        "target_id",
        "conversation_link",
        "source",
        "rating",
        "normalized_rating",
        "reviewer",
        "reviewer_role",
        "via",
        "minted_by",
    )
    list_filter = ("source", "target_type", "reviewer_role", "via")
    search_fields = ("conversation__external_id", "reviewer__username", "target_id", "comment")
    date_hierarchy = "rated_at"
    inlines = [RevisionInline]
    list_select_related = ("conversation", "reviewer")

    rep_field = "conversation__rep"


@admin.register(DraftFeedback)
class DraftFeedbackAdmin(outcomes_admin.ConversationColumn, ReviewAdmin):
    list_display = (
        "created_at",
        "action_id",
        "conversation_link",
        "intent",
        "edit_distance",
        "significant",
        "analyzed",
    )
    list_filter = ("significant", "analyzed", "intent")
    search_fields = ("action_id", "conversation__external_id", "intent")
    list_select_related = ("conversation",)

    rep_field = "conversation__rep"


@admin.register(FeedbackSettings)
class FeedbackSettingsAdmin(SettingsAdmin):
    """The tenant's feedback constants."""

    list_display = ("__str__", "draft_edit_threshold", "fatigue_decline_ratio", "extreme_share")


@admin.register(RubricDimension)
class RubricDimensionAdmin(admin.ModelAdmin):
    """The tenant's rubric: reviewers read it, admins add dimensions and retire them
    (untick active). A dimension's key, target and kind are fixed once created, so scores
    already given keep their meaning; nothing is deleted."""

    list_display = ("label", "key", "target_type", "kind", "range_or_options", "required", "active")
    list_filter = ("target_type", "kind", "active")
    ordering = ("target_type", "position", "key")

    @admin.display(description="range or options")
    def range_or_options(self, obj: RubricDimension) -> str:
        if obj.kind == "numeric":
            return f"{obj.minimum:g} to {obj.maximum:g}"
        if obj.kind == "categorical":
            return " < ".join(obj.options)
        return "yes / no"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("target_type", "key", "kind") if obj else ()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_reviewer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_reviewer(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_reviewer(request) and getattr(request.user, "role", None) == Role.ADMIN

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
