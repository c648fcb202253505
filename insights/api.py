"""The role pages' numbers as JSON: `analytics/{rep,manager,executive}/`."""

from __future__ import annotations

import re
from typing import cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from insights import analytics
from learning.api_fields import days_param, days_parameter
from learning.errors import InvalidInput, NotFound
from learning.models import User
from learning.permissions import IsExecutiveOrAbove, IsHuman, IsManagerOrAbove
from outcomes.schemas import ACTION_TYPE


def _window(request: Request) -> analytics.Window:
    return analytics.Window.last(days_param(request.query_params.get("days")))


def _action_type(request: Request) -> str | None:
    value = request.query_params.get("action_type") or None
    if value is not None and not re.fullmatch(ACTION_TYPE, value):
        raise InvalidInput("Not an action type.", field="action_type")
    return value


ANALYTICS_PARAMETERS = [
    days_parameter(),
    OpenApiParameter("action_type", str, description="Only this action type."),
]


class RepAnalyticsApi(APIView):
    permission_classes = [IsHuman]

    @extend_schema(
        parameters=[
            *ANALYTICS_PARAMETERS,
            OpenApiParameter("rep", str, description="Managers and up: a rep in scope."),
        ],
        responses=OpenApiTypes.OBJECT,
        description="A rep's response rates, escalations, deal impact, feedback and trend.",
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
        description="Team trend, per-rep comparison, coaching opportunities, calibration "
        "health and the review queue.",
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
        description="ROI against the tenant's human baseline, engagement and insights.",
    )
    def get(self, request: Request) -> Response:
        return Response(
            analytics.cached_executive_view(
                window=_window(request), action_type=_action_type(request)
            )
        )
