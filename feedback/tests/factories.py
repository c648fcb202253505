"""factory_boy factories of feedback and drafts, made through the services as the API
makes them, inside the current tenant."""

from __future__ import annotations

from typing import Any

import factory

from feedback import services
from feedback.models import DraftFeedback, FeedbackEntry


class FeedbackFactory(factory.Factory):
    """A person's verdict on an action (`target_id`) of a conversation in their scope."""

    class Meta:
        model = FeedbackEntry

    reviewer: Any = None  # a User: required
    target_type = "message"
    target_id = factory.Sequence(lambda n: f"action-{n}")
    conversation_id = factory.Sequence(lambda n: f"conv-{n}")
    source = "dashboard"
    rating = 4
    comment = ""

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> FeedbackEntry:
        return services.record_feedback(**kwargs).entry


class DraftFactory(factory.Factory):
    """The agent's draft of a message and what was sent (unedited by default)."""

    class Meta:
        model = DraftFeedback

    action_id = factory.Sequence(lambda n: f"action-{n}")
    conversation_id = factory.Sequence(lambda n: f"conv-{n}")
    original_draft = "Hi Dana, could we find 20 minutes next week to look at the proposal?"
    sent_version = factory.LazyAttribute(lambda o: o.original_draft)
    intent = ""

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> DraftFeedback:
        return services.record_draft(**kwargs).draft
