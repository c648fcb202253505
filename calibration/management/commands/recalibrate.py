from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context
from rich.progress import Progress
from rich.table import Table

from calibration import selectors, services, stats
from learning.management.base import console_for, tenants_for


class Command(BaseCommand):
    help = (
        "Learn from the outcomes whose result window closed (checking for a change of "
        "calibration, restarting what it learns from on an alarm) and adjust each action "
        "type's policy (as beat does every 6 h); --rebuild recomputes the bins from the "
        "outcome history first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")
        parser.add_argument("--action-type", help="One action type (default: all).")
        parser.add_argument(
            "--rebuild", action="store_true", help="Recompute the bins from outcome history."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = tenants_for(options["tenant"])
        console = console_for(self, wide=True)
        table = Table(
            "tenant",
            "action type",
            "samples",
            "Brier",
            "ECE",
            "scale",
            "threshold",
            "change",
            title="Recalibration" + (" (dry run)" if options["dry_run"] else ""),
        )
        with Progress(console=console, transient=True) as progress:
            bar = progress.add_task("tenants", total=len(tenants))
            for tenant in tenants:
                with tenant_context(tenant):
                    if options["rebuild"] and not options["dry_run"]:
                        services.rebuild_bins(action_type=options["action_type"])
                    types = (
                        [options["action_type"]]
                        if options["action_type"]
                        else selectors.action_types()
                    )
                    for action_type in types:
                        learned = (
                            None if options["dry_run"] else services.learn(action_type=action_type)
                        )
                        restarted = (
                            "calibration changed: learning restarted; "
                            if (learned and learned.alarms)
                            else ""
                        )
                        before = selectors.policy_for(action_type=action_type)
                        proposal = services.recalibrate(
                            action_type=action_type, dry_run=options["dry_run"]
                        )
                        sums = selectors.bin_sums(action_type=action_type)
                        after = (
                            (proposal.scale, proposal.threshold)
                            if proposal
                            else (before.confidence_scale, before.escalation_threshold)
                        )
                        table.add_row(
                            tenant.slug,
                            action_type,
                            str(int(sums.total)),
                            f"{stats.brier_score(sums):.4f}",
                            f"{stats.expected_calibration_error(sums):.4f}",
                            f"{before.confidence_scale:.2f} -> {after[0]:.2f}",
                            f"{before.escalation_threshold:.2f} -> {after[1]:.2f}",
                            restarted
                            + (proposal.reason if proposal else "calibrated enough; no change"),
                        )
                progress.advance(bar)
        console.print(table)
