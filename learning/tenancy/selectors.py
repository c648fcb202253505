from __future__ import annotations

from django.db.models import QuerySet

from learning.tenancy.models import Domain, Tenant


def ready_tenants() -> QuerySet[Tenant]:
    """Tenants whose schema is migrated and which may receive traffic and tasks."""
    return Tenant.objects.filter(ready=True).exclude(schema_name="public")


def ready_tenant_by_slug(*, slug: str) -> Tenant | None:
    return ready_tenants().filter(slug=slug).first()


def ready_tenant_by_host(*, host: str) -> Tenant | None:
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=host.lower(), tenant__ready=True)
        .exclude(tenant__schema_name="public")
        .first()
    )
    return domain.tenant if domain else None
