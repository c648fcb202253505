"""Dashboard numbers cached in Redis per tenant, invalidated when the data changes.

Every key carries the tenant's analytics version. What changes a dashboard bumps it once
its transaction commits, so the next read recomputes: the events other apps emit (an
outcome resolved, feedback recorded, coaching patterns found, a recalibration, an
erasure; wired to `on_changed` in config/wiring.py) and this app's own rollup refresh
(`invalidate`). New pending actions do not bump it: they show up within TTL seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

import structlog
from django.core.cache import cache
from django.db import transaction

from learning.tenancy.cache import tenant_key

TTL = 60
T = TypeVar("T")

logger = structlog.get_logger(__name__)


def _version() -> int:
    key = tenant_key("analytics", "version")
    version = cache.get(key)
    if version is None:
        cache.add(key, 1, timeout=None)
        version = cache.get(key) or 1
    return int(version)


def cached(kind: str, parts: dict[str, Any], compute: Callable[[], T]) -> T:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    try:
        key = tenant_key("analytics", _version(), kind, digest[:32])
        value = cache.get(key)
    except Exception as error:  # Redis down: compute, uncached
        logger.warning("analytics_cache_unavailable", error=str(error))
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout=TTL)
        except Exception as error:
            logger.warning("analytics_cache_unavailable", error=str(error))
    return cast(T, value)


def bump() -> None:
    """Bump the tenant's analytics version now: every cached dashboard is stale."""
    key = tenant_key("analytics", "version")
    try:
        if not cache.add(key, 2, timeout=None):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=None)
    except Exception as error:  # Redis down: the data is stored; cached views age out
        logger.warning("analytics_invalidate_failed", error=str(error))


def invalidate() -> None:
    """Bump the tenant's analytics version once the current transaction commits."""
    transaction.on_commit(bump)


def on_changed(_: object) -> None:
    """An after-commit subscriber of every event that changes what dashboards show."""
    bump()
