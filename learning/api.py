"""Who am I: the caller's identity and tenant, for the agent and people alike."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning.authentication import AgentPrincipal
from learning.tenancy.context import current_schema_name


class MeApi(APIView):
    """Who is calling, and in which tenant."""

    # Any valid credential: the agent's key and every person's token or session.
    permission_classes = [IsAuthenticated]

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
