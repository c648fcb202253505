from __future__ import annotations

from typing import Any

from django.contrib.admin.apps import AdminConfig
from django.db import models
from django.utils import formats


def readable_float(value: float) -> str:
    """A measured value as a person reads it: 0.759, not 0.7586206896551724; 0.000123
    keeps its three significant digits; 1,234.57 two decimals."""
    if value == 0 or abs(value) >= 1:
        rounded = round(value, 2)
        whole = rounded == int(rounded)
        return formats.number_format(int(rounded) if whole else rounded, force_grouping=True)
    return formats.number_format(float(f"{value:.3g}"))


class TenantAdminConfig(AdminConfig):
    """Makes `admin.site` the tenant admin (see learning.admin_sites), whose list and
    detail pages show float fields rounded (readable_float)."""

    default_site = "learning.admin_sites.TenantAdminSite"

    def ready(self) -> None:
        super().ready()
        # Django's admin prints a FloatField with every digit of its repr, and has no
        # per-field hook for read-only values: its one display function is wrapped, in
        # the two modules that call it.
        from django.contrib.admin import helpers, utils
        from django.contrib.admin.templatetags import admin_list

        original = utils.display_for_field

        def display_for_field(value: Any, field: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(field, models.FloatField) and isinstance(value, float):
                return readable_float(value)
            return original(value, field, *args, **kwargs)

        # mypy, below: patching Django admin's helper
        helpers.display_for_field = display_for_field  # type: ignore[attr-defined]
        # mypy, below: patching Django admin's helper
        admin_list.display_for_field = display_for_field  # type: ignore[attr-defined]
