from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo import history
from learning.management.base import tenant_or_error


class Command(BaseCommand):
    help = (
        "Build a demo tenant's 30 days of history (the simulated agent through the API, "
        "people's ratings, then the sweeps, calibration, rollups, alerts and coaching), "
        "recording each step for the pages' banner. Idempotent: finishes an interrupted build."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", default="demo", help="The tenant's slug.")
        parser.add_argument("--api-url", required=True, help="The tenant's API root (…/api/v1/).")
        parser.add_argument("--key", required=True, help="An agent key of that tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_or_error(options["slug"])
        history.build(tenant, api_url=options["api_url"], key=options["key"], out=self.stdout)
