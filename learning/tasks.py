"""Tenant plumbing for Celery: fan-out over tenants, and tenant housekeeping.

Beat runs in the public schema. Each periodic job is one `fan_out` entry whose task is
sent once per ready tenant, inside that tenant's context (tenant-schemas-celery stamps the
schema into the message), with jitter so tenants do not all hit the database at once and
an expiry so a backlog never runs stale sweeps.
"""

from __future__ import annotations

import random
import time
from typing import Any

import structlog
from celery import current_app, shared_task
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import tenant_context

from learning.models import User
from learning.tenancy import selectors as tenancy_selectors
from learning.tenancy.cache import tenant_key
from learning.tenancy.context import current_schema_name

logger = structlog.get_logger(__name__)


@shared_task(name="learning.fan_out")
def fan_out(
    task_name: str,
    kwargs: dict[str, Any] | None = None,
    period_seconds: int = 3600,
    jitter_seconds: int = 30,
) -> int:
    """Send `task_name` to every ready tenant; returns how many were sent.

    A second run in the same period (beat restarted, message redelivered) sends nothing:
    each (task, tenant, period slot) is claimed once with an atomic cache.add.
    """
    slot = int(time.time()) // max(period_seconds, 1)
    sent = 0
    for tenant in tenancy_selectors.ready_tenants():
        claim = f"fanout:{task_name}:{tenant.schema_name}:{slot}"
        if not cache.add(claim, 1, timeout=period_seconds):
            continue
        with tenant_context(tenant):
            current_app.send_task(
                task_name,
                kwargs=kwargs or {},
                countdown=random.uniform(0, jitter_seconds) if jitter_seconds else 0,
                expires=period_seconds,
            )
        sent += 1
    logger.info("fan_out", task=task_name, tenants=sent, slot=slot)
    return sent


@shared_task(name="learning.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete this tenant's expired web sessions."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task(name="learning.ping")
def ping() -> dict[str, Any]:
    """Which schema a worker runs this in and what it sees there; also leaves the time of
    the last ping in the tenant's cache (diagnostics for ops)."""
    cache.set(tenant_key("last-ping"), timezone.now().isoformat(), timeout=24 * 3600)
    return {"schema": current_schema_name(), "users": User.objects.count()}
