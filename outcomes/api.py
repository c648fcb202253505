"""The agent's API for actions and signals, and the humans' API for labels (a conversation's
messages and erasure: outcomes.api_conversations)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning.access import ScopedQuerysetMixin
from learning.api_fields import FiniteFloatField, JsonBody, StrictFilterSet, time_range
from learning.errors import DomainError
from learning.permissions import IsAgent, IsHuman
from outcomes import ingest, rules, schemas, selectors, services
from outcomes.models import OutcomeRecord, OutcomeStatus, OutcomeType, SignalSource
from outcomes.schemas import IDENTIFIER, IDENTIFIER_RULE

MAX_BULK_ITEMS = 10_000


@extend_schema_field({"type": "object", "additionalProperties": True})
class SmallJSONObjectField(serializers.JSONField):
    default_error_messages = {
        "not_object": "Must be a JSON object.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_object")

        try:
            schemas.check_json_object(data, field=self.field_name or "data")
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from exc
        # mypy, below: DRF's stub types it wider
        value: dict[str, Any] = super().to_internal_value(data)  # type: ignore[assignment]
        return value


@extend_schema_field(
    {"type": "string", "format": "date-time", "pattern": schemas.YEAR_2000_ON_PATTERN}
)
class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601; a time without zone is UTC. In the year 2000 or later (as written), not
    more than a day in the future."""

    default_error_messages = {
        "future": "Must not be more than a day in the future.",
        "too_early": "Must be in the year 2000 or later.",
    }

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed > timezone.now() + timedelta(days=1):
            self.fail("future")
        if not schemas.year_2000_on(str(value)):
            self.fail("too_early")
        return parsed


ID_ERRORS: dict[str, Any] = {"invalid": IDENTIFIER_RULE}


class ContentSerializer(JsonBody):
    """What the agent produced with the action (schemas.ContentBody validates it)."""

    channel = serializers.RegexField(
        schemas.CHANNEL.removesuffix("\\Z") + "$",
        max_length=32,
        help_text="email, chat, meeting, call, note, crm, handoff, …",
    )
    subject = serializers.CharField(
        max_length=schemas.MAX_SUBJECT_CHARS, required=False, allow_blank=True, default=""
    )
    body = serializers.CharField(
        max_length=schemas.MAX_BODY_CHARS,
        help_text="Plain text or limited Markdown (pages render it sanitised).",
    )
    to_role = serializers.ChoiceField(
        choices=schemas.THREAD_ROLES, required=False, default="prospect"
    )


class OutcomeInSerializer(JsonBody):
    """The outcome body, for the OpenAPI schema; schemas.OutcomeBody validates it."""

    action_id = serializers.RegexField(
        IDENTIFIER,
        error_messages=ID_ERRORS,
        max_length=200,
        help_text="The agent's id of the action (idempotency key).",
    )
    conversation_id = serializers.RegexField(IDENTIFIER, error_messages=ID_ERRORS, max_length=200)
    rep = serializers.CharField(
        max_length=150,
        required=False,
        allow_null=True,
        default=None,
        help_text="Username of the rep whose agent acted.",
    )
    action_type = serializers.RegexField(
        r"^[a-z][a-z0-9_.-]{0,63}$", help_text="e.g. send_email, schedule_meeting, escalate."
    )
    predicted_confidence = FiniteFloatField(
        min_value=0.0,
        max_value=1.0,
        help_text="The agent's confidence, 0 to 1 (below one in a billion it is stored as 0).",
    )
    outcome_type = serializers.ChoiceField(choices=OutcomeType.choices)
    attributes = SmallJSONObjectField(
        required=False, default=dict, help_text="For coaching: channel, persona, deal_stage, …"
    )
    occurred_at = AwareDateTimeField(
        required=False, default=None, help_text="ISO 8601; default now."
    )
    content = ContentSerializer(required=False, allow_null=True, default=None)


class OutcomeSerializer(serializers.ModelSerializer):
    conversation_id = serializers.CharField(source="conversation.external_id")
    rep = serializers.CharField(source="rep.username", allow_null=True, default=None)
    signal_source = serializers.ChoiceField(
        choices=SignalSource.choices,
        allow_blank=True,
        help_text="What resolved it; empty while pending.",
    )
    content = serializers.SerializerMethodField()

    @extend_schema_field(ContentSerializer(allow_null=True))
    def get_content(self, outcome: OutcomeRecord) -> dict[str, str] | None:
        message = selectors.content_of(outcome)
        if message is None:
            return None
        return {
            "channel": message.channel,
            "subject": message.subject,
            "body": message.body,
            "to_role": message.to_role,
        }

    class Meta:
        model = OutcomeRecord
        fields = [
            "id",
            "action_id",
            "conversation_id",
            "rep",
            "action_type",
            "predicted_confidence",
            "outcome_type",
            "attributes",
            "occurred_at",
            "status",
            "score",
            "signal_source",
            "resolution_reason",
            "window_expires_at",
            "resolved_at",
            "created_at",
            "content",
        ]
        read_only_fields = fields


class OutcomeFilter(StrictFilterSet):
    conversation = django_filters.CharFilter(field_name="conversation__external_id")
    rep = django_filters.CharFilter(field_name="rep__username")
    occurred_after, occurred_before = time_range("occurred_at")

    class Meta:
        model = OutcomeRecord
        fields = [
            "action_id",
            "conversation",
            "rep",
            "action_type",
            "outcome_type",
            "status",
            "occurred_after",
            "occurred_before",
        ]


class ScopedOutcomes(ScopedQuerysetMixin):
    """Every outcome view's rows are the outcomes the caller may see, newest first."""

    scope = staticmethod(selectors.visible_outcomes)

    def filter_scope(self, queryset: Any) -> Any:
        return queryset.order_by("-occurred_at", "-id")


class OutcomeListCreateApi(ScopedOutcomes, generics.ListAPIView):
    serializer_class = OutcomeSerializer
    filterset_class = OutcomeFilter

    def get_permissions(self) -> list[Any]:
        return [IsAgent()] if self.request.method == "POST" else [(IsAgent | IsHuman)()]

    @extend_schema(
        request=OutcomeInSerializer,
        responses={201: OutcomeSerializer, 200: OutcomeSerializer},
        description="Record an agent action. Idempotent on action_id: posting an "
        "existing action_id returns the stored record with 200 and changes nothing.",
    )
    def post(self, request: Request) -> Response:
        item = schemas.parse_outcome(request.data)
        recorded = ingest.record_outcome(item=item)
        if not recorded.created:  # a replay: the action as stored
            return Response(OutcomeSerializer(recorded.outcome).data, status=status.HTTP_200_OK)
        return Response(_created(item, recorded), status=status.HTTP_201_CREATED)


_WHEN = serializers.DateTimeField()


def _created(item: ingest.OutcomeInput, recorded: ingest.Recorded) -> dict[str, Any]:
    """What OutcomeSerializer gives for an action just created, from what was sent and
    what the insert returned (no re-read, and none of a ModelSerializer's per-call field
    building: the agent makes this call thousands of times an hour). Tested equal to a
    read of the same action."""
    content = item.content
    return {
        "id": recorded.id,
        "action_id": item.action_id,
        "conversation_id": item.conversation_id,
        "rep": recorded.rep_username,
        "action_type": item.action_type,
        "predicted_confidence": rules.stored_confidence(item.predicted_confidence),
        "outcome_type": item.outcome_type,
        "attributes": item.attributes,
        "occurred_at": _WHEN.to_representation(item.occurred_at),
        "status": recorded.status,
        "score": None,
        "signal_source": "",
        "resolution_reason": "",
        "window_expires_at": _WHEN.to_representation(
            item.occurred_at + rules.RULES[item.outcome_type].window
        ),
        "resolved_at": None,
        "created_at": _WHEN.to_representation(recorded.created_at or timezone.now()),
        "content": {
            "channel": content.channel,
            "subject": content.subject,
            "body": content.body,
            "to_role": content.to_role,
        }
        if content
        else None,
    }


class OutcomeDetailApi(ScopedOutcomes, generics.RetrieveAPIView):
    serializer_class = OutcomeSerializer
    permission_classes = [IsAgent | IsHuman]


class OutcomeBulkApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        request=OutcomeInSerializer(many=True),
        responses={
            200: inline_serializer(
                "BulkResult",
                {
                    "created": serializers.IntegerField(),
                    "existing": serializers.IntegerField(),
                    "results": inline_serializer(
                        "BulkItem",
                        {
                            "action_id": serializers.CharField(),
                            "id": serializers.IntegerField(),
                            "status": serializers.CharField(),
                            "created": serializers.BooleanField(),
                        },
                        many=True,
                    ),
                },
            )
        },
        description=f"Record up to {MAX_BULK_ITEMS} actions at once. All or nothing: if any "
        "item is invalid, nothing is stored and the errors are listed by item index. "
        "Idempotent per item on action_id.",
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, list):
            return Response({"non_field_errors": ["Send a JSON list of outcomes."]}, status=400)
        if not body:
            return Response({"non_field_errors": ["The list is empty."]}, status=400)
        if len(body) > MAX_BULK_ITEMS:
            return Response(
                {"non_field_errors": [f"At most {MAX_BULK_ITEMS} items per request."]}, status=400
            )
        items, errors = schemas.parse_outcomes(body)
        if errors:
            return Response({"items": errors}, status=400)
        recorded = ingest.record_outcomes(items=items)
        created = sum(r.created for r in recorded)
        return Response(
            {
                "created": created,
                "existing": len(recorded) - created,
                "results": [
                    {
                        "action_id": r.action_id,
                        "id": r.id,
                        "status": r.status,
                        "created": r.created,
                    }
                    for r in recorded
                ],
            }
        )


class LabelInSerializer(JsonBody):
    status = serializers.ChoiceField(choices=[OutcomeStatus.POSITIVE, OutcomeStatus.NEGATIVE])
    score = FiniteFloatField(
        min_value=0.0, max_value=1.0, required=False, allow_null=True, default=None
    )
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OutcomeLabelApi(APIView):
    permission_classes = [IsHuman]

    @extend_schema(
        request=LabelInSerializer,
        responses=OutcomeSerializer,
        description="A human verdict on a pending or ambiguous outcome (managers "
        "and up for their scope, a rep for their own). 409 if already final.",
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = LabelInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = services.label_outcome(
            outcome_id=pk, user=request.user, **serializer.validated_data
        )
        return Response(OutcomeSerializer(outcome).data)


class SignalInSerializer(JsonBody):
    conversation_id = serializers.RegexField(IDENTIFIER, error_messages=ID_ERRORS, max_length=200)
    action_id = serializers.RegexField(
        IDENTIFIER, error_messages=ID_ERRORS, max_length=200, required=False, default=""
    )
    kind = serializers.ChoiceField(
        choices=sorted(rules.KNOWN_KINDS),
        error_messages={
            "invalid_choice": "Unknown signal kind {input!r}; known: "
            + ", ".join(sorted(rules.KNOWN_KINDS))
            + "."
        },
    )
    occurred_at = AwareDateTimeField(required=False, default=None)
    # (DRF's metaclass takes declared fields out of the class: no clash with .data)
    # mypy, below: a field named like Serializer.data
    data = SmallJSONObjectField(required=False, default=dict)  # type: ignore[assignment]
    signal_id = serializers.RegexField(
        IDENTIFIER,
        error_messages=ID_ERRORS,
        max_length=200,
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional: a retried signal is stored once.",
    )


SIGNAL_RESULT = inline_serializer(
    "SignalResult",
    {
        "id": serializers.IntegerField(),
        "created": serializers.BooleanField(),
        "resolved": inline_serializer(
            "ResolvedItem",
            {
                "id": serializers.IntegerField(),
                "status": serializers.CharField(),
                "score": serializers.FloatField(allow_null=True),
            },
            many=True,
        ),
    },
)


class SignalApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        request=SignalInSerializer,
        responses={201: SIGNAL_RESULT, 200: SIGNAL_RESULT},
        description="Report what happened. Decisive signals (reply, bounce, stage change, "
        "meeting attended, …) resolve the matching pending outcomes at once. 201: stored; "
        "200: a retry of a signal already stored (same `signal_id`), changing nothing.",
    )
    def post(self, request: Request) -> Response:
        serializer = SignalInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["occurred_at"] = data["occurred_at"] or timezone.now()
        result = services.record_signal(**data)
        return Response(
            {
                "id": result.signal.pk,
                "created": result.created,
                "resolved": [
                    {"id": o.id, "status": o.status, "score": o.score} for o in result.resolved
                ],
            },
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
