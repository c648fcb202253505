from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from learning import credentials
from learning.models import AgentKey, ApiToken, Role, User

# last_used_at is written at most this often per credential, so a busy agent does not turn
# every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def credential_for_bearer(*, raw: str) -> AgentKey | ApiToken | None:
    """The active key or token of the current tenant matching `raw`, or None."""
    credential: AgentKey | ApiToken | None
    active = {"digest": credentials.digest(raw), "revoked_at__isnull": True}
    if raw.startswith(credentials.AGENT_KEY_PREFIX):
        credential = AgentKey.objects.filter(**active).first()
    elif raw.startswith(credentials.USER_TOKEN_PREFIX):
        credential = ApiToken.objects.select_related("user").filter(**active).first()
    else:
        return None
    now = timezone.now()
    recent = (
        credential is not None
        and credential.last_used_at is not None
        and (credential.last_used_at >= now - LAST_USED_RESOLUTION)
    )
    if credential is not None and not recent:
        type(credential).objects.filter(pk=credential.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return credential


# Who sees every rep's data: the agent (learning.authentication.AgentPrincipal.role) and
# executives and admins.
WHOLE_TENANT_ROLES = ("agent", Role.EXECUTIVE, Role.ADMIN)


def sees_whole_tenant(principal: Any) -> bool:
    return getattr(principal, "role", None) in WHOLE_TENANT_ROLES


def reachable(*roles: str) -> QuerySet[User]:
    """Active users of `roles` who have an email address (alerts, reports, summaries)."""
    return (
        User.objects.filter(is_active=True, role__in=roles).exclude(email="").order_by("username")
    )


def reps_of(*, user: User) -> QuerySet[User]:
    """The reps `user` may see (themselves, their team, or all), by username."""
    return visible_users(user=user).filter(role=Role.REP).order_by("username")


def visible_users(*, user: User | None) -> QuerySet[User]:
    """The users whose data `user` may see: a rep themselves, a manager their team and
    themselves, an executive or admin everyone in the tenant; nobody, without a user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return User.objects.none()
    if user.role in (Role.EXECUTIVE, Role.ADMIN):
        return User.objects.all()
    if user.role == Role.MANAGER:
        return User.objects.filter(Q(pk=user.pk) | Q(manager=user))
    return User.objects.filter(pk=user.pk)
