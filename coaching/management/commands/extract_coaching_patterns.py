from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context

from coaching import services
from learning.management.base import tenants_for


class Command(BaseCommand):
    help = "Extract coaching patterns now (as beat does daily) and print what held up."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")
        parser.add_argument("--days", type=int, help="Look back this many days.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = tenants_for(options["tenant"])
        for tenant in tenants:
            with tenant_context(tenant):
                extracted = services.extract(days=options["days"])
            run = extracted.run
            self.stdout.write(
                f"{tenant.slug}: {run.outcomes} decided outcomes, {run.comparisons} "
                f"comparisons, {len(extracted.patterns)} patterns (q = {run.false_discovery_rate})"
            )
            for pattern in extracted.patterns:
                self.stdout.write(f"  [{pattern.get_kind_display()}] {pattern.description}")
