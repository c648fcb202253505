"""Coaching patterns of the latest run, for people and the agent."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coaching import selectors
from coaching.models import PatternKind
from learning.errors import InvalidInput
from learning.permissions import IsAgent, IsHuman

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
        "improvement areas, strongest first. `run` is null before the first extraction.",
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind")
        if kind is not None and kind not in PatternKind.values:
            # (a serializer would take an empty `?kind=` for no kind at all)
            raise InvalidInput(f"One of: {', '.join(PatternKind.values)}.", field="kind")
        run = selectors.latest_run()
        found = selectors.patterns(run=run, kind=kind)
        return Response(
            {"run": selectors.run_as_dict(run), "patterns": [selectors.as_dict(p) for p in found]}
        )
