"""Who am I: the caller's identity and tenant, for the agent and people alike."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning.authentication import AgentPrincipal
from learning.models import User
from learning.tenancy.context import current_schema_name, request_tenant


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
        tenant = request_tenant(request._request)
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
            person = cast(User, user)  # signed in: IsAuthenticated
            identity = {
                "kind": "user",
                "username": person.username,
                "role": person.role,
                "manager": person.manager.username if person.manager else None,
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
