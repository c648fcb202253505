from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class TenancyConfig(AppConfig):
    name = "learning.tenancy"
    label = "tenancy"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from learning.tenancy.models import Domain, Tenant
        from learning.tenancy.selectors import forget_routes

        for model in (Tenant, Domain):
            post_save.connect(forget_routes, sender=model, dispatch_uid=f"routes-{model}")
            post_delete.connect(forget_routes, sender=model, dispatch_uid=f"routes-del-{model}")
