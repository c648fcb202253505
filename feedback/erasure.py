"""Feedback's part of an erasure (outcomes.events.CONTENT_ERASED, wired in config/wiring.py).

Blanks, in the erasing transaction, feedback's copies of what a conversation said: the
agent's drafts and the versions sent (the row, its edit distance and whether there was a
draft stay, so approval rates do not move), and people's comments and corrections on its
actions, current and in their history (a comment may quote the prospect, and we cannot
tell which do). Ratings, rubric scores, sources and times stay: every average is unchanged.
"""

from __future__ import annotations

from django.db.models import Q

from feedback.models import DraftFeedback, FeedbackEntry, FeedbackRevision
from outcomes.events import ContactErasure, ContentErasure


def on_content_erased(erasure: ContentErasure) -> None:
    """outcomes.events subscriber: adds its counts to `erasure.removed`."""

    def scope(conversation: str, written: str) -> Q:
        if erasure.conversation_pks is not None:
            return Q(**{f"{conversation}__in": erasure.conversation_pks})
        return Q(**{f"{written}__lt": erasure.older_than})

    has_text = ~Q(comment="") | ~Q(correction="")
    erasure.removed["drafts"] = (
        DraftFeedback.objects.filter(scope("conversation", "sent_at"))
        .filter(erased_at__isnull=True)
        .exclude(original_draft="", sent_version="")
        .update(original_draft="", sent_version="", erased_at=erasure.at)
    )
    erasure.removed["feedback_comments"] = (
        FeedbackEntry.objects.filter(scope("conversation", "rated_at"))
        .filter(has_text)
        .update(comment="", correction="")
    )
    erasure.removed["feedback_history"] = (
        FeedbackRevision.objects.filter(scope("entry__conversation", "rated_at"))
        .filter(has_text)
        .update(comment="", correction="")
    )


def on_contact_erasing(search: ContactErasure) -> None:
    """outcomes.events subscriber: the conversations whose drafts, comments or corrections
    (current or in their history) name the address."""

    def naming(*fields: str) -> Q:
        return Q(*[Q(**{f"{name}__icontains": search.address}) for name in fields], _connector=Q.OR)

    for rows, conversation, texts in (
        (DraftFeedback.objects, "conversation_id", ("original_draft", "sent_version")),
        (FeedbackEntry.objects, "conversation_id", ("comment", "correction")),
        (FeedbackRevision.objects, "entry__conversation_id", ("comment", "correction")),
    ):
        search.conversation_pks.update(
            rows.filter(naming(*texts)).values_list(conversation, flat=True)
        )
