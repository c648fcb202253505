from __future__ import annotations

import contextlib
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError

from demo import history
from learning.tenancy.middleware import is_tenant_request


def history_build(request: HttpRequest) -> dict[str, Any]:
    """`demo_history`: the tenant's demo history build while it runs (the pages' banner).

    A schema with no build under way is not asked again for a minute (a mark in the shared
    cache, `history.QUIET`), unless a build is recorded meanwhile: recording one marks the
    schema busy, and a busy mark is never replaced by a quiet one (`cache.add`), so the
    banner shows from the first request after a build starts, in every worker."""
    if not is_tenant_request(request) or not getattr(request.user, "is_authenticated", False):
        return {}
    key = history.banner_key()
    try:
        if cache.get(key) == history.QUIET:
            return {}
    except RedisError:  # Redis down: ask the database (one cheap query), never fail a page
        return _from_database(remember=False)
    return _from_database(remember=True)


def _from_database(*, remember: bool) -> dict[str, Any]:
    build = history.in_progress()
    if build is None:
        if remember:
            with contextlib.suppress(RedisError):
                cache.add(history.banner_key(), history.QUIET, timeout=60)
        return {}
    return {"demo_history": build}
