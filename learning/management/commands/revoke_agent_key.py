from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from learning import services
from learning.management.base import TenantCommand
from learning.tenancy.models import Tenant


class Command(TenantCommand):
    help = "Revoke a tenant's agent keys by name (all active keys of that name) or by prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("name", nargs="?", help="The key's name.")
        parser.add_argument("--prefix", help="The key's first characters, as shown in admin.")

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        revoked = services.revoke_agent_keys(name=options["name"], prefix=options["prefix"])
        return {"revoked": revoked}
