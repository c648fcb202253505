from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from learning import credentials
from learning.models import AgentKey, ApiToken, Role, User
from learning.tenancy.context import current_schema_name

# last_used_at is written at most this often per credential, so a busy agent does not turn
# every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


logger = structlog.get_logger(__name__)

# Agent keys checked lately, per process: {(schema, digest): (until, key, version)}. The
# agent sends the same key thousands of times an hour; a remembered key costs one Redis
# read (the tenant's credentials version, which every revocation bumps, so a revoked key
# stops at once) instead of a database query. Only valid keys are remembered.
_recent_keys: dict[tuple[str, str], tuple[float, AgentKey, int | None]] = {}
KEY_MEMORY_SECONDS = LAST_USED_RESOLUTION.total_seconds()


def _credentials_version_key(schema: str | None = None) -> str:
    return f"credentials-version:{schema or current_schema_name()}"


def credentials_version() -> int | None:
    """The tenant's credentials version, or None when the cache (Redis) is out of reach:
    then nothing is remembered and every key is checked in the database."""
    try:
        return int(cache.get(_credentials_version_key()) or 0)
    except Exception:  # Redis down: the database decides, as without memory
        return None


def credentials_changed(schema: str | None = None) -> None:
    """Every process forgets the tenant's remembered keys (call it on any revocation).
    With Redis out of reach no process remembers anything (credentials_version is None)
    until it is back, and the bump is retried on commit."""
    key = _credentials_version_key(schema)
    try:
        cache.add(key, 0, timeout=None)
        cache.incr(key)
    except Exception as error:  # Redis down: nothing is remembered while it is (see above)
        logger.warning("credentials_version_unavailable", error=str(error))


def after_revocation() -> None:
    """credentials_changed for the current tenant now and once the revocation is committed
    (a process that remembers the key again in between, before the commit, forgets it then)."""
    schema = current_schema_name()
    credentials_changed(schema)
    transaction.on_commit(partial(credentials_changed, schema))


def forget_keys() -> None:
    """This process forgets every remembered key (tests: a rolled-back key)."""
    _recent_keys.clear()


def credential_for_bearer(*, raw: str) -> AgentKey | ApiToken | None:
    """The active key or token of the current tenant matching `raw`, or None."""
    if raw.startswith(credentials.AGENT_KEY_PREFIX):
        memo = (current_schema_name(), credentials.digest(raw))
        version = credentials_version()
        hit = _recent_keys.get(memo)
        fresh = hit is not None and hit[0] > time.monotonic()
        if version is not None and hit is not None and fresh and hit[2] == version:
            return hit[1]
        found = _credential_in_database(raw)
        if isinstance(found, AgentKey) and version is not None:
            _recent_keys[memo] = (time.monotonic() + KEY_MEMORY_SECONDS, found, version)
        else:
            _recent_keys.pop(memo, None)
        return found
    return _credential_in_database(raw)


def _credential_in_database(raw: str) -> AgentKey | ApiToken | None:
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
