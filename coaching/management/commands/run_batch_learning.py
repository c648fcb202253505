from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context

from coaching import batch
from learning.management.base import tenants_for


class Command(BaseCommand):
    help = (
        "Run batch learning now (as beat does weekly): group the period's heavily edited "
        "drafts and the messages the agent had no draft for into proposals for admins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")
        parser.add_argument("--days", type=int, default=7, help="Look back this many days.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = tenants_for(options["tenant"])
        for tenant in tenants:
            with tenant_context(tenant):
                result = batch.run(days=options["days"])
            self.stdout.write(
                f"{tenant.slug}: {result.run.edits} edited drafts or corrections, "
                f"{result.run.gaps} messages without a draft -> {len(result.proposals)} proposal(s)"
            )
            for proposal in result.proposals:
                self.stdout.write(f"  [{proposal.get_kind_display()}] {proposal.title}")
