"""Feedback in the tenant admin: entries and draft edits for reviewers, settings for admins.

The conversation page (outcomes' ConversationAdmin) also lists the conversation's feedback
and draft edits, added through outcomes.admin.add_conversation_inlines: outcomes does not
depend on feedback.
"""

from __future__ import annotations

from django.contrib import admin

from feedback.models import DraftFeedback, FeedbackEntry, FeedbackRevision, FeedbackSettings
from learning.admin_access import ReviewAdmin, ReviewInline, SettingsAdmin
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
