"""Finding tenants. Every request and websocket is routed by a slug or a host name, so those
two lookups are kept in memory for a few seconds (TENANT_CACHE_SECONDS) instead of costing
a query each time. Saving or deleting a tenant or domain clears them in this process; other
processes see the change within the TTL."""

from __future__ import annotations

import threading

from cachetools import TTLCache, cached
from django.conf import settings
from django.db.models import QuerySet

from learning.tenancy.models import Domain, Tenant

_lock = threading.Lock()
_routes: TTLCache[object, Tenant | None] = TTLCache(maxsize=4096, ttl=settings.TENANT_CACHE_SECONDS)


def ready_tenants() -> QuerySet[Tenant]:
    """Tenants whose schema is migrated and which may receive traffic and tasks."""
    return Tenant.objects.filter(ready=True).exclude(schema_name="public")


@cached(_routes, key=lambda *, slug: ("slug", slug), lock=_lock)
def ready_tenant_by_slug(*, slug: str) -> Tenant | None:
    return ready_tenants().filter(slug=slug).first()


@cached(_routes, key=lambda *, host: ("host", host.lower()), lock=_lock)
def ready_tenant_by_host(*, host: str) -> Tenant | None:
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=host.lower(), tenant__ready=True)
        .exclude(tenant__schema_name="public")
        .first()
    )
    return domain.tenant if domain else None


def forget_routes(**_: object) -> None:
    """Drop every remembered lookup (a tenant or domain was saved or deleted)."""
    with _lock:
        _routes.clear()
