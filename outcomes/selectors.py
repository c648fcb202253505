from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from learning.selectors import sees_whole_tenant, visible_users
from outcomes.models import Conversation, OutcomeRecord, OutcomeStatus


def visible_outcomes(*, principal: Any) -> QuerySet[OutcomeRecord]:
    """Every outcome query of a view starts here: the agent and executives see the whole
    tenant, a manager their team's outcomes, a rep their own."""
    queryset = OutcomeRecord.objects.select_related("rep", "conversation")
    if sees_whole_tenant(principal):
        return queryset
    return queryset.filter(rep__in=visible_users(user=principal))


def visible_conversations(*, principal: Any) -> QuerySet[Conversation]:
    """Conversations in the principal's scope, by the rep who owns them (the agent,
    executives and admins: all; a manager: the team's; a rep: their own)."""
    queryset = Conversation.objects.select_related("rep")
    if sees_whole_tenant(principal):
        return queryset
    return queryset.filter(rep__in=visible_users(user=principal))


def labelling_queue(*, principal: Any) -> QuerySet[OutcomeRecord]:
    """Ambiguous outcomes waiting for a human, oldest first."""
    return (
        visible_outcomes(principal=principal)
        .filter(status=OutcomeStatus.AMBIGUOUS)
        .order_by("occurred_at", "id")
    )


def conversation_by_external_id(*, external_id: str) -> Conversation | None:
    return Conversation.objects.filter(external_id=external_id).first()


def has_outcomes() -> bool:
    return OutcomeRecord.objects.exists()
