from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "learning.tenancy"
    label = "tenancy"
    verbose_name = "Tenants"
