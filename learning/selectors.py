from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from learning import credentials
from learning.models import AgentKey, ApiToken, CredentialsVersion, Role, User
from learning.tenancy.context import current_schema_name

# last_used_at is written at most this often per credential, so a busy agent does not turn
# every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# Agent keys checked lately, per process: {(schema, digest): (until, key, version)}. The
# agent sends the same key thousands of times an hour; a remembered key costs one read of
# the tenant's credentials version (one row by primary key, models.CredentialsVersion)
# instead of the key's lookup. Every revocation bumps that version in its own transaction,
# so a revoked key stops at once in every process. The version lives in PostgreSQL, not in
# Redis: a revoking process that cannot reach Redis, a version key evicted, or Redis
# restarted empty would otherwise leave a revoked key working until its memory expires.
# Only valid keys are remembered.
_recent_keys: dict[tuple[str, str], tuple[float, AgentKey, int]] = {}
KEY_MEMORY_SECONDS = LAST_USED_RESOLUTION.total_seconds()

# The tenant's version (0 before any revocation), in the current schema. Plain SQL: this
# runs on every request of the agent, and the ORM would build the same statement each time.
_VERSION_TABLE = CredentialsVersion._meta.db_table
_READ_VERSION = f"SELECT version FROM {_VERSION_TABLE} WHERE id = 1"  # noqa: S608 - a constant
# One statement, so concurrent revocations never lose a bump (no read-modify-write).
_BUMP_VERSION = (
    f"INSERT INTO {_VERSION_TABLE} (id, version) VALUES (1, 1) "  # noqa: S608 - a constant
    f"ON CONFLICT (id) DO UPDATE SET version = {_VERSION_TABLE}.version + 1"
)


def credentials_version() -> int:
    """The current tenant's credentials version, as committed (or as this transaction
    changed it)."""
    with connection.cursor() as cursor:
        cursor.execute(_READ_VERSION)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def after_revocation() -> None:
    """Every process forgets the current tenant's remembered keys: call it on any
    revocation or deletion of an agent key. The bump is part of the caller's transaction:
    it commits with the revocation (and is undone with it)."""
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_VERSION)


def forget_keys() -> None:
    """This process forgets every remembered key (tests: a rolled-back key)."""
    _recent_keys.clear()


def credential_for_bearer(*, raw: str) -> AgentKey | ApiToken | None:
    """The active key or token of the current tenant matching `raw`, or None."""
    if raw.startswith(credentials.AGENT_KEY_PREFIX):
        memo = (current_schema_name(), credentials.digest(raw))
        hit = _recent_keys.get(memo)
        fresh = hit is not None and hit[0] > time.monotonic()
        if hit is not None and fresh and hit[2] == credentials_version():
            return hit[1]
        found = _credential_in_database(raw)
        if isinstance(found, AgentKey):
            # read in the same statement as the key: the version it was valid under
            version = found.credentials_version  # type: ignore[attr-defined]  # annotated above
            _recent_keys[memo] = (time.monotonic() + KEY_MEMORY_SECONDS, found, version)
        else:
            _recent_keys.pop(memo, None)
        return found
    return _credential_in_database(raw)


def _credential_in_database(raw: str) -> AgentKey | ApiToken | None:
    credential: AgentKey | ApiToken | None
    active = {"digest": credentials.digest(raw), "revoked_at__isnull": True}
    if raw.startswith(credentials.AGENT_KEY_PREFIX):
        version = CredentialsVersion.objects.filter(pk=1).values("version")
        credential = (
            AgentKey.objects.filter(**active)
            .annotate(credentials_version=Coalesce(Subquery(version), 0))
            .first()
        )
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


def visible_users(*, user: Any) -> QuerySet[User]:
    """The users whose data `user` may see: a rep themselves, a manager their team and
    themselves, an executive or admin everyone in the tenant; nobody, without a user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return User.objects.none()
    if user.role in (Role.EXECUTIVE, Role.ADMIN):
        return User.objects.all()
    if user.role == Role.MANAGER:
        return User.objects.filter(Q(pk=user.pk) | Q(manager=user))
    return User.objects.filter(pk=user.pk)
