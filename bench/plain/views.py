from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import generics, serializers

from bench.plain.models import Conversation, Outcome


class OutcomeSerializer(serializers.ModelSerializer):
    conversation_id = serializers.CharField(source="conversation.external_id")
    occurred_at = serializers.DateTimeField(required=False)

    class Meta:
        model = Outcome
        fields = [
            "id",
            "action_id",
            "conversation_id",
            "action_type",
            "predicted_confidence",
            "outcome_type",
            "attributes",
            "occurred_at",
            "window_expires_at",
            "status",
            "created_at",
        ]
        read_only_fields = ["id", "window_expires_at", "status", "created_at"]

    def create(self, validated: dict[str, Any]) -> Outcome:
        occurred = validated.get("occurred_at") or timezone.now()
        conversation, _ = Conversation.objects.get_or_create(
            external_id=validated.pop("conversation")["external_id"],
            defaults={"last_interaction_at": occurred},
        )
        return Outcome.objects.create(
            conversation=conversation,
            window_expires_at=occurred + timedelta(days=7),
            **{**validated, "occurred_at": occurred},
        )


class OutcomeCreate(generics.CreateAPIView):
    serializer_class = OutcomeSerializer
