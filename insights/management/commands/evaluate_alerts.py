from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context

from insights import alerts
from learning.management.base import tenants_for


class Command(BaseCommand):
    help = "Check the alert rules now (as beat does hourly): open, keep or close episodes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = tenants_for(options["tenant"])
        for tenant in tenants:
            with tenant_context(tenant):
                result = alerts.evaluate()
            self.stdout.write(
                f"{tenant.slug}: {len(result.opened)} opened, {result.still_open} still open, "
                f"{result.closed} closed" + "".join(f"\n  new: {a.message}" for a in result.opened)
            )
