"""Coaching patterns of the latest run, for people and the agent."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coaching import experiments, selectors
from coaching.models import Arm, PatternKind
from learning.api_fields import JsonBody
from learning.errors import InvalidInput
from learning.permissions import IsAgent, IsHuman
from outcomes.schemas import IDENTIFIER

PATTERN = inline_serializer(
    "CoachingPattern",
    {
        "rank": serializers.IntegerField(),
        "kind": serializers.ChoiceField(choices=PatternKind.choices),
        "stratum": serializers.CharField(),
        "dimension": serializers.CharField(),
        "level": serializers.CharField(),
        "description": serializers.CharField(),
        "recommendation": serializers.CharField(),
        "successes": serializers.IntegerField(),
        "trials": serializers.IntegerField(),
        "rate": serializers.FloatField(),
        "rest_successes": serializers.IntegerField(allow_null=True),
        "rest_trials": serializers.IntegerField(allow_null=True),
        "rest_rate": serializers.FloatField(allow_null=True),
        "effect": serializers.FloatField(allow_null=True),
        "ci_low": serializers.FloatField(allow_null=True),
        "ci_high": serializers.FloatField(allow_null=True),
        "p_value": serializers.FloatField(allow_null=True),
        "adjusted_p": serializers.FloatField(allow_null=True),
        "test": serializers.CharField(),
        "supporting": serializers.DictField(),
        "stability": inline_serializer(
            "PatternStability",
            {
                "found_in": serializers.IntegerField(
                    help_text="Of the last `of_runs` runs, how many reported this finding."
                ),
                "of_runs": serializers.IntegerField(),
            },
        ),
    },
    many=True,
)
RUN = inline_serializer(
    "CoachingRun",
    {
        "id": serializers.IntegerField(),
        "finished_at": serializers.DateTimeField(allow_null=True),
        "period_start": serializers.DateTimeField(),
        "period_end": serializers.DateTimeField(),
        "outcomes": serializers.IntegerField(),
        "comparisons": serializers.IntegerField(),
        "false_discovery_rate": serializers.FloatField(),
        "min_group": serializers.IntegerField(),
    },
    allow_null=True,
)


class CoachingPatternsApi(APIView):
    permission_classes = [IsAgent | IsHuman]

    @extend_schema(
        parameters=[OpenApiParameter("kind", enum=PatternKind.values, required=False)],
        responses=inline_serializer("CoachingPatterns", {"run": RUN, "patterns": PATTERN}),
        description="The latest extraction: which segments work better or worse (each "
        "tested against the rest, Benjamini-Hochberg adjusted), top-performing actions and "
        "improvement areas (success significantly below the bar), strongest first. The "
        "unit is the conversation: minimum sizes count conversations and each test's counts "
        "are divided by its design effect (`supporting.design_effect`). `run` is null "
        "before the first extraction.",
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind")
        if kind is not None and kind not in PatternKind.values:
            # (a serializer would take an empty `?kind=` for no kind at all)
            raise InvalidInput(f"One of: {', '.join(PatternKind.values)}.", field="kind")
        run = selectors.latest_run()
        found = selectors.patterns(run=run, kind=kind)
        selectors.with_stability(found, run=run)
        return Response(
            {"run": selectors.run_as_dict(run), "patterns": [selectors.as_dict(p) for p in found]}
        )


class AssignInSerializer(JsonBody):
    experiment = serializers.CharField(
        max_length=100,
        trim_whitespace=False,  # a name as drafts give it: "  " names nothing (404), not ""
        help_text="The intent or playbook entry's name (what drafts name).",
    )
    conversation_id = serializers.RegexField(IDENTIFIER, max_length=200)


ASSIGNMENT = inline_serializer(
    "ExperimentAssignment",
    {
        "experiment": serializers.CharField(),
        "running": serializers.BooleanField(help_text="An experiment of it runs now."),
        "arm": serializers.ChoiceField(
            choices=Arm.choices, allow_null=True, help_text="null when none runs."
        ),
        "content": serializers.CharField(
            help_text="The text to use in this conversation; empty: the agent's default."
        ),
        "first_exposure": serializers.BooleanField(
            help_text="This ask logged the conversation's exposure (later asks do not)."
        ),
    },
)


class ExperimentAssignApi(APIView):
    permission_classes = [IsAgent]

    @extend_schema(
        request=AssignInSerializer,
        responses={200: ASSIGNMENT},
        description="Which version of an intent or playbook entry to use in a conversation. "
        "While an experiment of it runs, half the conversations (by a hash of the "
        "conversation id) get the new version and half the previous one, the same every "
        "time; the first ask is logged as the conversation's exposure, and its first draft "
        "(`POST drafts/`) is what the experiment observes. Safe to retry.",
    )
    def post(self, request: Request) -> Response:
        body = AssignInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = experiments.assign(
            name=body.validated_data["experiment"],
            conversation_id=body.validated_data["conversation_id"],
        )
        return Response(
            {
                "experiment": assignment.experiment,
                "running": assignment.running,
                "arm": assignment.arm,
                "content": assignment.content,
                "first_exposure": assignment.first_exposure,
            }
        )
