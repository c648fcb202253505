from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning import analytics
from learning.api_fields import days_param, days_parameter
from learning.authentication import AgentPrincipal
from learning.errors import InvalidInput, NotFound
from learning.permissions import IsExecutiveOrAbove, IsHuman, IsManagerOrAbove
from learning.tenancy.context import current_schema_name
from outcomes.schemas import ACTION_TYPE


class MeApi(APIView):
    """Who is calling, and in which tenant."""

    @extend_schema(
        operation_id="me",
        responses=inline_serializer(
            "Me",
            {
                "kind": serializers.ChoiceField(choices=["user", "agent"]),
                "username": serializers.CharField(),
                "role": serializers.CharField(),
                "manager": serializers.CharField(allow_null=True),
                "agent_key": serializers.CharField(allow_null=True),
                "tenant": inline_serializer(
                    "MeTenant",
                    {
                        "slug": serializers.CharField(),
                        "name": serializers.CharField(),
                        "schema": serializers.CharField(),
                    },
                ),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        tenant = request._request.tenant  # type: ignore[attr-defined]
        user = request.user
        if isinstance(user, AgentPrincipal):
            identity = {
                "kind": "agent",
                "username": user.username,
                "role": "agent",
                "manager": None,
                "agent_key": user.name,
            }
        else:
            identity = {
                "kind": "user",
                "username": user.username,
                "role": user.role,  # type: ignore[union-attr]
                "manager": user.manager.username if user.manager else None,  # type: ignore[union-attr]
                "agent_key": None,
            }
        return Response(
            {
                **identity,
                "tenant": {
                    "slug": tenant.slug,
                    "name": tenant.name,
                    "schema": current_schema_name(),
                },
            }
        )


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
        rep = analytics.visible_rep(viewer=request.user, username=request.query_params.get("rep"))
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
                user=request.user, window=_window(request), action_type=_action_type(request)
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
