"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from learning.access import public


@public  # probes call it without a credential; it says only "up"
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


@public  # probes call it without a credential; it says only what is down
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """The process can do useful work: PostgreSQL and Redis answer."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready", reported, never raised
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_redis() -> str:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
