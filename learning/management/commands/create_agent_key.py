from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from learning import services
from learning.management.base import TenantCommand
from learning.tenancy.models import Tenant


class Command(TenantCommand):
    help = "Create an API key for the agent. The key is printed once; only its hash is kept."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("name", help="What the key is for, e.g. sales-agent-prod.")

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        key, raw = services.create_agent_key(name=options["name"])
        if options["json"]:
            return {"key": raw}
        return {"name": key.name, "key": raw, "note": "Store it now: it is not shown again."}
