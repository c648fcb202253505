from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from insights import reports
from learning.management.base import tenants_for


class Command(BaseCommand):
    help = (
        "Send the daily manager and weekly executive reports now (as beat does), or with "
        "--dry-run write them to files (.eml as sent, .html to open in a browser)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="One tenant's slug (default: every tenant).")
        parser.add_argument(
            "--role",
            choices=sorted(reports.ROLES),
            help="Which report (default: both).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Write files, send nothing.")
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help="Directory for --dry-run files (default: .data/reports).",
        )
        parser.add_argument(
            "--date",
            type=date.fromisoformat,
            default=None,
            help="Report as if sent on this day, YYYY-MM-DD (default: today, UTC).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = tenants_for(options["tenant"])
        if not tenants:
            raise CommandError("No ready tenant.")
        roles = [options["role"]] if options["role"] else sorted(reports.ROLES)
        out = options["out"] or Path(settings.DATA_DIR) / "reports"
        for tenant in tenants:
            for role in roles:
                with tenant_context(tenant):
                    result = reports.send(
                        kind=reports.ROLES[role],
                        today=options["date"],
                        dry_run_dir=out if options["dry_run"] else None,
                    )
                if options["dry_run"]:
                    lines = [f"  {path}" for path in result.written if path.suffix == ".html"]
                    self.stdout.write(
                        f"{tenant.slug} {role}: {len(lines)} report(s) written"
                        + "".join(f"\n{line}" for line in lines)
                    )
                else:
                    self.stdout.write(
                        f"{tenant.slug} {role}: {len(result.sent)} sent, "
                        f"{len(result.skipped)} already sent for this period, "
                        f"{len(result.failed)} failed"
                        + ("; summary queued for Slack" if result.posted else "")
                    )
