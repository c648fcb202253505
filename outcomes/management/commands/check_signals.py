from __future__ import annotations

from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import tenant_context
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from learning.management.base import console_for, tenants_for
from outcomes import sweeps


class Command(BaseCommand):
    help = "Run the time-window signal checks now, as the beat schedule would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")
        parser.add_argument("--window", default="all", choices=[*sweeps.WINDOWS, "all"])

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = tenants_for(options["tenant"])
        windows = sweeps.WINDOWS if options["window"] == "all" else (options["window"],)
        console = console_for(self, wide=True)
        table = Table(
            "tenant",
            "window",
            "examined",
            "positive",
            "negative",
            "ambiguous",
            "expired",
            title="Signal checks",
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} outcomes"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            for tenant in tenants:
                with tenant_context(tenant):
                    for window in windows:
                        bar = progress.add_task(f"{tenant.slug}: {window}", total=None)
                        result = sweeps.run_sweep(
                            window=window, progress=partial(progress.advance, bar)
                        )
                        progress.remove_task(bar)
                        table.add_row(
                            tenant.slug,
                            window,
                            str(result.examined),
                            *(
                                str(result.resolved.get(s, 0))
                                for s in ("positive", "negative", "ambiguous", "expired")
                            ),
                        )
        console.print(table)
