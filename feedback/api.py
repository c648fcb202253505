"""Feedback API: ratings, their summary, fatigue flags, draft edits and one-click links."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import django_filters
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback import links, selectors, services
from feedback.models import FeedbackEntry, RubricDimension, Source, TargetType
from learning.access import ScopedQuerysetMixin
from learning.api_fields import (
    JsonBody,
    StrictFilterSet,
    days_param,
    days_parameter,
    time_range,
)
from learning.errors import Forbidden, InvalidInput
from learning.models import User
from learning.permissions import IsAgent, IsHuman, IsManagerOrAbove, is_agent
from learning.selectors import visible_users
from outcomes.api import AwareDateTimeField
from outcomes.schemas import IDENTIFIER, USERNAME


class FeedbackInSerializer(JsonBody):
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.RegexField(IDENTIFIER, max_length=200)
    conversation_id = serializers.RegexField(IDENTIFIER, max_length=200)
    # (DRF's metaclass takes declared fields out of the class: no clash with Field.source)
    source = serializers.ChoiceField(  # type: ignore[assignment]  # narrows the parent's field
        choices=[Source.INLINE, Source.DASHBOARD],
        help_text="inline: rating -1, 0 or 1; dashboard: rating 1 to 5.",
    )
    rating = serializers.IntegerField(min_value=-1, max_value=5)
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    outcome_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    correction = serializers.CharField(
        max_length=services.MAX_DRAFT_CHARS,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="What the agent should have said instead (feeds batch learning).",
    )
    scores = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        default=dict,
        help_text="The tenant's rubric dimensions for the target type (GET feedback/rubric/), "
        'e.g. {"tone": 4, "accuracy": "partly", "next_step_right": true}; each is checked '
        "against its dimension.",
    )


class RubricDimensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RubricDimension
        fields = [
            "target_type",
            "key",
            "label",
            "description",
            "kind",
            "minimum",
            "maximum",
            "integers",
            "options",
            "required",
        ]
        read_only_fields = fields


class RubricApi(generics.ListAPIView):
    """The tenant's rubric: the dimensions `POST feedback/` accepts in `scores`."""

    serializer_class = RubricDimensionSerializer
    permission_classes = [IsHuman | IsAgent]
    pagination_class = None
    filterset_class = None

    def get_queryset(self) -> Any:
        return RubricDimension.objects.filter(active=True)


class FeedbackSerializer(serializers.ModelSerializer):
    conversation_id = serializers.CharField(source="conversation.external_id")
    reviewer = serializers.CharField(
        source="reviewer.username",
        default=None,
        allow_null=True,  # a draft edit's automatic score, or a reviewer since removed
        help_text="Who gave it (null for a draft edit's automatic score or a removed user).",
    )

    class Meta:
        model = FeedbackEntry
        fields = [
            "id",
            "target_type",
            "target_id",
            "conversation_id",
            "outcome_id",
            "source",
            "rating",
            "normalized_rating",
            "comment",
            "correction",
            "scores",
            "normalized_scores",
            "reviewer",
            "reviewer_role",
            "via",
            "minted_by",
            "revision",
            "rated_at",
            "created_at",
        ]
        read_only_fields = fields


class FeedbackFilter(StrictFilterSet):
    conversation_id = django_filters.CharFilter(field_name="conversation__external_id")
    reviewer = django_filters.CharFilter(field_name="reviewer__username")
    rated_after, rated_before = time_range("rated_at")

    class Meta:
        model = FeedbackEntry
        fields = [
            "conversation_id",
            "target_type",
            "target_id",
            "source",
            "reviewer",
            "reviewer_role",
            "rated_after",
            "rated_before",
        ]


class FeedbackListCreateApi(ScopedQuerysetMixin, generics.ListAPIView):
    serializer_class = FeedbackSerializer
    filterset_class = FeedbackFilter
    permission_classes = [IsHuman]
    scope = staticmethod(selectors.visible_feedback)

    def filter_scope(self, queryset: Any) -> Any:
        return queryset.order_by("-rated_at", "-id")

    @extend_schema(
        request=FeedbackInSerializer,
        responses={201: FeedbackSerializer, 200: FeedbackSerializer},
        description="Rate a message, decision or conversation. The reviewer is the "
        "authenticated user. Rating the same target again updates your entry (201 the "
        "first time, 200 after) and keeps the earlier verdict in its history.",
    )
    def post(self, request: Request) -> Response:
        body = FeedbackInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        recorded = services.record_feedback(reviewer=request.user, **body.validated_data)
        return Response(
            FeedbackSerializer(recorded.entry).data,
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )


def _daily(name: str) -> Any:
    return inline_serializer(
        name,
        {
            "date": serializers.DateField(),
            "count": serializers.IntegerField(),
            "average_rating": serializers.FloatField(allow_null=True),
        },
        many=True,
    )


def _counts(name: str) -> Any:
    return inline_serializer(
        name,
        {
            "count": serializers.IntegerField(),
            "average_rating": serializers.FloatField(allow_null=True),
        },
    )


class FeedbackSummaryApi(APIView):
    permission_classes = [IsHuman]

    @extend_schema(
        parameters=[days_parameter("1 to 365, default 30.")],
        responses=inline_serializer(
            "FeedbackSummary",
            {
                "days": serializers.IntegerField(),
                "total_feedback_count": serializers.IntegerField(),
                "average_rating": serializers.FloatField(allow_null=True),
                "rating_distribution": serializers.DictField(child=serializers.DictField()),
                "by_target_type": serializers.DictField(child=_counts("TargetCounts")),
                "by_source": serializers.DictField(child=_counts("SourceCounts")),
                "by_reviewer_role": serializers.DictField(child=_counts("RoleCounts")),
                "daily_trend": _daily("DailyFeedback"),
                # people's ratings only (no automatic draft-edit scores), as "explicit"
                "people_trend": _daily("DailyPeopleFeedback"),
                "drafts": serializers.DictField(),
                "explicit": _counts("ExplicitCounts"),
                "rubric": inline_serializer(
                    "RubricDimensionSummary",
                    {
                        "target_type": serializers.CharField(),
                        "key": serializers.CharField(),
                        "label": serializers.CharField(),
                        "kind": serializers.CharField(),
                        "count": serializers.IntegerField(),
                        "average": serializers.FloatField(allow_null=True),
                        "in_words": serializers.CharField(),
                    },
                    many=True,
                ),
            },
        ),
        description="Feedback in your scope over the last `days` days. Averages are of "
        "the normalised rating, on [0, 1]; `rubric` averages each dimension of the tenant's "
        "rubric on [0, 1] too (and `in_words` on its own scale).",
    )
    def get(self, request: Request) -> Response:
        days = days_param(request.query_params.get("days"))
        return Response(selectors.summary(principal=request.user, days=days))


class FatigueApi(APIView):
    permission_classes = [IsManagerOrAbove]

    @extend_schema(
        responses=inline_serializer(
            "FatigueFlags",
            {
                "reviewers": inline_serializer(
                    "ReviewerFatigue",
                    {
                        "username": serializers.CharField(),
                        "role": serializers.CharField(),
                        "last_7_days": serializers.IntegerField(),
                        "previous_7_days": serializers.IntegerField(),
                        "rate_per_day": serializers.FloatField(),
                        "ratings_30_days": serializers.IntegerField(),
                        "top_share": serializers.FloatField(allow_null=True),
                        "bottom_share": serializers.FloatField(allow_null=True),
                        "declining": serializers.BooleanField(),
                        "extremes": serializers.BooleanField(),
                        "flagged": serializers.BooleanField(),
                        "reasons": serializers.ListField(child=serializers.CharField()),
                    },
                    many=True,
                ),
                "since": serializers.DateTimeField(),
                "ratings_listed": serializers.IntegerField(),
                "on_conversations_outside_scope": serializers.IntegerField(),
                "from_reviewers_not_listed": serializers.IntegerField(),
            },
        ),
        description="Feedback fatigue of the reviewers in your scope. `ratings_30_days` "
        "counts from `since` (the feedback summary's 30 days) the ratings each reviewer gave; "
        "`ratings_listed` - `on_conversations_outside_scope` + `from_reviewers_not_listed` "
        "is the summary's `explicit.count` (ratings given on conversations in your scope).",
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        reviewers = visible_users(user=request.user)
        rows = selectors.fatigue(users=reviewers, now=now)
        against = selectors.reviewers_against_summary(
            principal=request.user, reviewers=reviewers, now=now
        )
        return Response(
            {
                "reviewers": [{**asdict(r), "flagged": r.flagged} for r in rows],
                "since": against["since"],
                "ratings_listed": against["listed"],
                "on_conversations_outside_scope": against["outside_scope"],
                "from_reviewers_not_listed": against["from_others"],
            }
        )


class PromptAnswersApi(APIView):
    permission_classes = [IsManagerOrAbove]

    @extend_schema(
        parameters=[days_parameter("1 to 365, default 30.")],
        responses=inline_serializer(
            "PromptAnswers",
            {
                "days": serializers.IntegerField(),
                "prompts_by_channel": inline_serializer(
                    "PromptAnswersOfChannel",
                    {
                        "channel": serializers.ChoiceField(choices=["slack", "email"]),
                        "label": serializers.CharField(),
                        "sent": serializers.IntegerField(),
                        "answered": serializers.IntegerField(),
                        "answer_rate": serializers.FloatField(allow_null=True),
                        "median_minutes_to_answer": serializers.FloatField(allow_null=True),
                        "median_in_words": serializers.CharField(),
                        "failed": serializers.IntegerField(),
                        "not_sent": serializers.IntegerField(),
                        "top_reason": serializers.CharField(),
                    },
                    many=True,
                ),
            },
        ),
        description="Whether people answer the prompts about critical actions, per channel "
        "(Slack direct message, email), for the people in your scope over the last `days` "
        "days: `sent`, `answered` (a verdict given after the prompt was sent, wherever it was "
        "given), `answer_rate` = answered / sent on [0, 1] (null when none was sent), the "
        "median minutes from sending to the verdict (null when none was answered), `failed`, "
        "`not_sent` (quiet, turned off, over the day's allowance, unreachable) and "
        "`top_reason`, the most frequent reason among those failed or not sent. The "
        "manager's feedback page shows the same figures.",
    )
    def get(self, request: Request) -> Response:
        days = days_param(request.query_params.get("days"))
        rows = selectors.prompt_answers(principal=request.user, days=days)
        return Response({"days": days, "prompts_by_channel": rows})


class DraftInSerializer(JsonBody):
    action_id = serializers.RegexField(IDENTIFIER, max_length=200)
    conversation_id = serializers.RegexField(IDENTIFIER, max_length=200)
    original_draft = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=services.MAX_DRAFT_CHARS
    )
    sent_version = serializers.CharField(
        allow_blank=True, trim_whitespace=False, max_length=services.MAX_DRAFT_CHARS
    )
    intent = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The intent or playbook that produced the draft.",
    )
    sent_at = AwareDateTimeField(
        required=False, default=None, help_text="When it was sent (ISO 8601); default now."
    )


DRAFT_RESULT = inline_serializer(
    "DraftResult",
    {
        "id": serializers.IntegerField(),
        "action_id": serializers.CharField(),
        "edit_distance": serializers.FloatField(),
        "significant": serializers.BooleanField(),
        "approved": serializers.BooleanField(),
    },
)


class DraftApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        request=DraftInSerializer,
        responses={
            201: DRAFT_RESULT,
            200: OpenApiResponse(DRAFT_RESULT, description="A replay: the stored draft."),
        },
        description="The draft the agent wrote and the version that was sent. Idempotent "
        "on action_id. Edited by more than the tenant's threshold (0.2) it counts as "
        "negative feedback and goes to batch learning; unedited it approves its intent.",
    )
    def post(self, request: Request) -> Response:
        body = DraftInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        recorded = services.record_draft(**body.validated_data)
        draft = recorded.draft
        return Response(
            {
                "id": draft.pk,
                "action_id": draft.action_id,
                "edit_distance": draft.edit_distance,
                "significant": draft.significant,
                "approved": draft.approved,
            },
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )


class LinkInSerializer(JsonBody):
    reviewer = serializers.RegexField(
        USERNAME,
        max_length=150,
        required=False,
        help_text="Username of who will click. The agent names anyone; a person may only "
        "name themselves (the default).",
    )
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = serializers.RegexField(IDENTIFIER, max_length=200)
    conversation_id = serializers.RegexField(IDENTIFIER, max_length=200)
    outcome_id = serializers.IntegerField(required=False, allow_null=True, default=None)


class LinkApi(APIView):
    permission_classes = [IsAgent | IsHuman]

    @extend_schema(
        request=LinkInSerializer,
        responses=inline_serializer(
            "FeedbackLinks",
            {
                "links": serializers.DictField(child=serializers.URLField()),
                "expires_in_days": serializers.IntegerField(),
            },
        ),
        description="Signed one-click links (good 1, neutral 0, bad -1) for one reviewer "
        "to click in Slack or Gmail. Opening a link asks for confirmation; confirming "
        "records the rating once, as that reviewer, noting who made the link. The agent "
        "may make links for anyone in the tenant, to be delivered to that person's own "
        "channel; a person only for themselves.",
    )
    def post(self, request: Request) -> Response:
        body = LinkInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        username = data.pop("reviewer", None)
        if is_agent(request):
            if username is None:
                raise InvalidInput("Name the reviewer the links are for.", field="reviewer")
            found = User.objects.filter(username=username, is_active=True).first()
            if found is None:
                raise InvalidInput("No such reviewer.", field="reviewer")
            reviewer: Any = found
        else:
            reviewer = request.user
            if username not in (None, reviewer.username):
                raise Forbidden(
                    "You may make links only for yourself: a link lets whoever clicks it "
                    "rate as its reviewer."
                )
        urls = {}
        for rating in (1, 0, -1):
            token = links.make_token(
                reviewer_id=reviewer.pk, rating=rating, minted_by=str(request.user), **data
            )
            urls[str(rating)] = request.build_absolute_uri(links.link_path(token))
        return Response({"links": urls, "expires_in_days": links.max_age().days})
