"""The role pages' numbers as JSON: `analytics/{rep,manager,executive}/`."""

from __future__ import annotations

import re
from typing import Any, cast

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback import selectors as feedback_selectors
from feedback.api import FeedbackFilter
from insights import analytics, exports
from insights.streaming import streaming_response
from learning.api_fields import as_utc, days_param, days_parameter
from learning.errors import InvalidInput, NotFound
from learning.models import User
from learning.permissions import IsExecutiveOrAbove, IsHuman, IsManagerOrAbove
from learning.tenancy.context import request_tenant
from outcomes import selectors as outcome_selectors
from outcomes.api import OutcomeFilter
from outcomes.schemas import ACTION_TYPE, ACTION_TYPE_PATTERN, USERNAME


def _window(request: Request) -> analytics.Window:
    return analytics.Window.last(days_param(request.query_params.get("days")))


def _action_type(request: Request) -> str | None:
    value = request.query_params.get("action_type")  # "" is refused, not absent
    if value is not None and not re.fullmatch(ACTION_TYPE, value):
        raise InvalidInput("Not an action type.", field="action_type")
    return value


ANALYTICS_PARAMETERS = [
    days_parameter(),
    OpenApiParameter(
        "action_type",
        {"type": "string", "pattern": ACTION_TYPE_PATTERN, "maxLength": 64},
        description="Only this action type (e.g. send_email).",
    ),
]


class RepAnalyticsApi(APIView):
    permission_classes = [IsHuman]

    @extend_schema(
        parameters=[
            *ANALYTICS_PARAMETERS,
            OpenApiParameter("rep", str, description="Managers and up: a rep in scope."),
        ],
        responses=OpenApiTypes.OBJECT,
        description="A rep's response rates, escalations, deal impact, qualification completion, "
        "feedback and trend.",
    )
    def get(self, request: Request) -> Response:
        viewer = cast(User, request.user)  # IsHuman: a signed-in person
        rep = analytics.visible_rep(viewer=viewer, username=request.query_params.get("rep"))
        if rep is None:
            raise NotFound("No such rep in your scope.", field="rep")
        return Response(
            analytics.cached_rep_view(
                rep=rep, window=_window(request), action_type=_action_type(request)
            )
        )


class ManagerAnalyticsApi(APIView):
    permission_classes = [IsManagerOrAbove]

    @extend_schema(
        parameters=ANALYTICS_PARAMETERS,
        responses=OpenApiTypes.OBJECT,
        description="Team trend, per-rep comparison, qualification completion (team and per "
        "rep), coaching opportunities, calibration health and the review queue.",
    )
    def get(self, request: Request) -> Response:
        return Response(
            analytics.cached_manager_view(
                user=cast(User, request.user),
                window=_window(request),
                action_type=_action_type(request),
            )
        )


class ExecutiveAnalyticsApi(APIView):
    permission_classes = [IsExecutiveOrAbove]

    @extend_schema(
        parameters=ANALYTICS_PARAMETERS,
        responses=OpenApiTypes.OBJECT,
        description="ROI against the tenant's human baseline, engagement, qualification "
        "completion and insights.",
    )
    def get(self, request: Request) -> Response:
        return Response(
            analytics.cached_executive_view(
                window=_window(request), action_type=_action_type(request)
            )
        )


# --- exports -----------------------------------------------------------------------------


class IgnoreClientContentNegotiation(BaseContentNegotiation):
    """Exports answer with their file's type, and errors in JSON, whatever `Accept` says
    (a client asking for text/csv must get the 400 that names the field, not a 406)."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return (renderers[0], renderers[0].media_type)


FORMAT_PARAMETER = OpenApiParameter(
    "fmt",
    str,
    OpenApiParameter.PATH,
    enum=list(exports.FORMATS),
    description="csv (with a header row) or jsonl (one JSON object per line).",
)
EXPORT_RESPONSES = {
    (200, "text/csv"): OpenApiTypes.STR,
    (200, "application/jsonl"): OpenApiTypes.STR,
}


class ExportApi(APIView):
    """A table streamed as a file; the query parameters filter it (unknown ones are
    refused, so a misspelt filter never exports everything)."""

    permission_classes = [IsManagerOrAbove]
    content_negotiation_class = IgnoreClientContentNegotiation
    table: exports.Table
    filters: tuple[str, ...] = ()

    def get(self, request: Request, fmt: str) -> Any:
        if fmt not in exports.FORMATS:
            raise NotFound("Export as csv or jsonl.", field="fmt")
        unknown = sorted(set(request.query_params) - set(self.filters))
        if unknown:
            allowed = ", ".join(self.filters) or "none"
            raise InvalidInput(
                f"Not a filter of this export (they are: {allowed}).", field=unknown[0][:60]
            )
        # A list's filters skip a blank value (`?rep=` lists everything); an export given
        # one would export the whole scope instead of what was asked for.
        blank = sorted(
            name
            for name, values in request.query_params.lists()
            if any(not v.strip() for v in values)
        )
        if blank:
            raise InvalidInput("An empty filter: give it a value, or leave it out.", field=blank[0])
        rows = self.rows(request)
        tenant = request_tenant(request)
        return streaming_response(
            exports.encode(self.table, rows, fmt),
            request=request,
            tenant=tenant,
            content_type=exports.FORMATS[fmt],
            filename=exports.filename(
                self.table, tenant_slug=tenant.slug, fmt=fmt, now=timezone.now()
            ),
        )

    def rows(self, request: Request) -> exports.Rows:
        raise NotImplementedError

    @staticmethod
    def filtered(filterset: Any) -> Any:
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs


def _export_schema(table: exports.Table, parameters: list[Any]) -> Any:
    return extend_schema(
        parameters=[FORMAT_PARAMETER, *parameters],
        responses=EXPORT_RESPONSES,
        description=f"{table.description} Managers and up, within their scope; streamed. "
        f"Columns, in order: {', '.join(table.columns)}.",
    )


class OutcomeExportApi(ExportApi):
    table = exports.OUTCOMES
    filters = tuple(OutcomeFilter.base_filters)

    @_export_schema(exports.OUTCOMES, [])
    def get(self, request: Request, fmt: str) -> Any:
        return super().get(request, fmt)

    def rows(self, request: Request) -> exports.Rows:
        scoped = outcome_selectors.visible_outcomes(principal=request.user)
        return exports.outcome_rows(self.filtered(OutcomeFilter(request.query_params, scoped)))


class FeedbackExportApi(ExportApi):
    table = exports.FEEDBACK
    filters = tuple(FeedbackFilter.base_filters)

    @_export_schema(exports.FEEDBACK, [])
    def get(self, request: Request, fmt: str) -> Any:
        return super().get(request, fmt)

    def rows(self, request: Request) -> exports.Rows:
        scoped = feedback_selectors.visible_feedback(principal=request.user)
        return exports.feedback_rows(self.filtered(FeedbackFilter(request.query_params, scoped)))


class LabelFilters(serializers.Serializer):
    queue = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    reviewer = serializers.RegexField(USERNAME, max_length=150, required=False)
    labelled_after = serializers.DateTimeField(required=False)
    labelled_before = serializers.DateTimeField(required=False)


class LabelExportApi(ExportApi):
    table = exports.LABELS
    filters = tuple(LabelFilters().fields)

    @_export_schema(exports.LABELS, [LabelFilters])
    def get(self, request: Request, fmt: str) -> Any:
        return super().get(request, fmt)

    def rows(self, request: Request) -> exports.Rows:
        given = LabelFilters(data=request.query_params.dict())  # "" is refused, not absent
        given.is_valid(raise_exception=True)
        data = given.validated_data
        return exports.label_rows(
            user=request.user,
            queue_id=data.get("queue"),
            reviewer=data.get("reviewer"),
            after=as_utc(data.get("labelled_after")),
            before=as_utc(data.get("labelled_before")),
        )


class CalibrationFilters(serializers.Serializer):
    action_type = serializers.RegexField(ACTION_TYPE, max_length=64, required=False)


class CalibrationExportApi(ExportApi):
    table = exports.CALIBRATION
    filters = ("action_type",)

    @_export_schema(exports.CALIBRATION, [CalibrationFilters])
    def get(self, request: Request, fmt: str) -> Any:
        return super().get(request, fmt)

    def rows(self, request: Request) -> exports.Rows:
        given = CalibrationFilters(data=request.query_params.dict())
        given.is_valid(raise_exception=True)
        action_type = given.validated_data.get("action_type")
        return exports.calibration_rows(action_types=[action_type] if action_type else None)
