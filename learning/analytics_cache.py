"""Dashboard numbers cached in Redis per tenant, invalidated when the data changes.

Every key carries the tenant's analytics version; a resolution, new feedback or a rollup
refresh bumps the version (after its transaction commits), so the next read recomputes.
New pending actions do not bump it: they show up within TTL seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

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
    return value  # type: ignore[no-any-return]


def invalidate() -> None:
    """Bump the tenant's analytics version once the current transaction commits."""

    def bump() -> None:
        key = tenant_key("analytics", "version")
        try:
            if not cache.add(key, 2, timeout=None):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.add(key, 1, timeout=None)
        except Exception as error:  # Redis down: the data is stored; cached views age out
            logger.warning("analytics_invalidate_failed", error=str(error))

    transaction.on_commit(bump)


def on_outcomes_resolved(resolved: Iterable[Any]) -> None:
    """outcomes.events subscriber."""
    invalidate()
