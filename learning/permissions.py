"""Who may call what. Every API view names its permission; nothing is open by default:
DRF's default (REST_FRAMEWORK's DEFAULT_PERMISSION_CLASSES) is `DenyUndeclared`, and
tests/test_access_declared.py checks every routed view says who may call it."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from learning.authentication import AgentPrincipal
from learning.models import Role


class DenyUndeclared(BasePermission):
    """The default permission: nobody. A view that forgot `permission_classes` is closed,
    not open to whoever has a credential; public views say `AllowAny`, and why."""

    message = "This endpoint declares no permission, so nobody may call it."

    def has_permission(self, request: Request, view: Any) -> bool:
        return False


def is_agent(request: Request) -> bool:
    return isinstance(request.user, AgentPrincipal)


class IsAgent(BasePermission):
    message = "Only the agent (with an agent key) may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_agent(request)


def HasRole(*roles: str) -> type[BasePermission]:
    """Permission for humans whose role is one of `roles`."""
    allowed = frozenset(roles)

    class _HasRole(BasePermission):
        message = f"This needs one of the roles: {', '.join(sorted(allowed))}."

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(
                user and user.is_authenticated and getattr(user, "role", None) in allowed
            ) and not is_agent(request)

    _HasRole.__name__ = f"HasRole_{'_'.join(sorted(allowed))}"
    return _HasRole


IsHuman = HasRole(*Role.values)
IsManagerOrAbove = HasRole(Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)
IsExecutiveOrAbove = HasRole(Role.EXECUTIVE, Role.ADMIN)
