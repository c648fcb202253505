"""Calibration curves and the policy the agent reads back."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calibration import selectors
from learning.api_fields import FiniteFloatField, JsonBody
from learning.permissions import IsAgent, IsHuman
from outcomes.schemas import ACTION_TYPE, ACTION_TYPE_PATTERN

ActionType = serializers.RegexField(ACTION_TYPE, max_length=64)

BIN = inline_serializer(
    "CalibrationBin",
    {
        "lower": serializers.FloatField(),
        "upper": serializers.FloatField(),
        "count": serializers.IntegerField(),
        "mean_predicted": serializers.FloatField(allow_null=True),
        "actual_rate": serializers.FloatField(allow_null=True),
        "ci_low": serializers.FloatField(),
        "ci_high": serializers.FloatField(),
    },
    many=True,
)
POLICY = inline_serializer(
    "Policy",
    {
        "confidence_scale": serializers.FloatField(),
        "escalation_threshold": serializers.FloatField(),
        "version": serializers.IntegerField(
            help_text="The policy's version: 0 the defaults, one more at each change."
        ),
    },
)


WINDOW = inline_serializer(
    "CalibrationWindow",
    {
        "outcomes": serializers.IntegerField(
            help_text="Outcomes the calibrated confidence learns from now (before forgetting)."
        ),
        "since": serializers.DateTimeField(
            allow_null=True, help_text="When learning last restarted; null: from the start."
        ),
        "restarts": serializers.IntegerField(help_text="Restarts after a change so far."),
        "monitored": serializers.BooleanField(
            help_text="Whether the drift test watches it (it needs 100 outcomes first)."
        ),
        "evidence_of_change": serializers.FloatField(
            allow_null=True,
            help_text="How many times likelier the recent outcomes are under a change than "
            "under none (1: no evidence).",
        ),
        "matured_until": serializers.DateTimeField(
            allow_null=True,
            help_text="Outcomes whose result window closed before this are learned "
            "(but for those waiting for a person's label); null: none yet.",
        ),
        "waiting": serializers.IntegerField(
            help_text="Outcomes whose window is still open (with a result already "
            "or none yet): they count once it closes."
        ),
        "waiting_since": serializers.DateTimeField(
            allow_null=True, help_text="When the oldest waiting action was taken."
        ),
        "checked_at": serializers.DateTimeField(
            allow_null=True, help_text="The last learning run (every 15 minutes)."
        ),
        "in_words": serializers.CharField(
            help_text="What the map learns from and what still waits, in a sentence."
        ),
    },
)
LEARNS_FROM = inline_serializer(
    "LearnsFrom",
    {
        "outcomes": serializers.IntegerField(
            help_text="Matured outcomes the map rests on (effective, after forgetting)."
        ),
        "matured_until": serializers.DateTimeField(allow_null=True),
        "window_started_at": serializers.DateTimeField(allow_null=True),
        "waiting": serializers.IntegerField(),
        "waiting_since": serializers.DateTimeField(allow_null=True),
        "checked_at": serializers.DateTimeField(allow_null=True),
        "in_words": serializers.CharField(),
    },
)


class CalibrationCurveSerializer(serializers.Serializer):
    """The calibration curve body the spec fixes (for the OpenAPI schema)."""

    action_type = serializers.CharField()
    sample_count = serializers.IntegerField()
    brier_score = serializers.FloatField()
    ece = serializers.FloatField()
    mce = serializers.FloatField()
    reliability = serializers.FloatField()
    resolution = serializers.FloatField()
    uncertainty = serializers.FloatField()
    within_bin_variance = serializers.FloatField()
    within_bin_covariance = serializers.FloatField()
    bins = BIN
    policy = POLICY
    window = WINDOW


class CalibrationListApi(APIView):
    permission_classes = [IsAgent | IsHuman]

    @extend_schema(
        responses=CalibrationCurveSerializer(many=True),
        description="The calibration of every action type seen so far.",
    )
    def get(self, request: Request) -> Response:
        return Response([selectors.curve(t) for t in selectors.action_types()])


class CalibrationCurveApi(APIView):
    permission_classes = [IsAgent | IsHuman]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "action_type",
                {"type": "string", "pattern": ACTION_TYPE_PATTERN, "maxLength": 64},
                OpenApiParameter.PATH,
                description="e.g. send_email.",
            )
        ],
        responses=CalibrationCurveSerializer,
        description="10 bins always (empty ones with count 0); Brier score 0.25 with no data.",
    )
    def get(self, request: Request, action_type: str) -> Response:
        try:
            ActionType.run_validation(action_type)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"action_type": error.detail}) from error
        return Response(selectors.curve(action_type))


class PolicyApi(APIView):
    permission_classes = [IsAgent | IsHuman]

    @extend_schema(
        responses=inline_serializer(
            "Policies",
            {
                "policies": inline_serializer(
                    "PolicyItem",
                    {
                        "action_type": serializers.CharField(),
                        "confidence_scale": serializers.FloatField(),
                        "escalation_threshold": serializers.FloatField(),
                        "version": serializers.IntegerField(),
                    },
                    many=True,
                )
            },
        )
    )
    def get(self, request: Request) -> Response:
        return Response({"policies": [asdict(p) for p in selectors.policies()]})


class CalibrateInSerializer(JsonBody):
    action_type = serializers.RegexField(ACTION_TYPE, max_length=64)
    confidence = FiniteFloatField(min_value=0.0, max_value=1.0)


class CalibrateApi(APIView):
    permission_classes = [IsAgent | IsHuman]

    @extend_schema(
        request=CalibrateInSerializer,
        responses=inline_serializer(
            "Calibrated",
            {
                "action_type": serializers.CharField(),
                "confidence": serializers.FloatField(),
                "calibrated_confidence": serializers.FloatField(),
                "escalation_threshold": serializers.FloatField(),
                "escalate": serializers.BooleanField(),
                "method": serializers.ChoiceField(choices=["scale", "bins"]),
                "sample_count": serializers.IntegerField(),
                "policy_version": serializers.IntegerField(
                    help_text="The version of the policy that answered (exports carry it)."
                ),
                "learns_from": LEARNS_FROM,
            },
        ),
        description="Turn a raw confidence into the calibrated one, and say whether to "
        "hand over to a human.",
    )
    def post(self, request: Request) -> Response:
        serializer = CalibrateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(asdict(selectors.calibrate(**serializer.validated_data)))
