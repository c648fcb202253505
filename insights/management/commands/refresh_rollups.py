from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context
from rich.progress import Progress

from insights import rollups
from learning.management.base import console_for, tenants_for


class Command(BaseCommand):
    help = "Bring the dashboards' daily rollups up to date (as beat does every 15 min)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")
        parser.add_argument(
            "--full", action="store_true", help="Recompute every day, not only changed ones."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = tenants_for(options["tenant"])
        console = console_for(self)
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task("tenants", total=len(tenants))
            for tenant in tenants:
                with tenant_context(tenant):
                    done = rollups.refresh(full=options["full"])
                console.print(
                    f"{tenant.slug}: {done.outcome_days} days of outcomes, "
                    f"{done.feedback_days} days of feedback recomputed"
                )
                progress.advance(bar)
