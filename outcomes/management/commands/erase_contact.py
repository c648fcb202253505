from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from learning.management.base import TenantCommand
from learning.tenancy.models import Tenant
from outcomes import erasure


class Command(TenantCommand):
    help = (
        "Erase every conversation that names one e-mail address (its messages, drafts, "
        "comments, corrections); outcomes and ratings stay. The address is not recorded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("email")
        parser.add_argument("--by", default="ops (manage.py)", help="Who asked, for the audit log.")

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        result = erasure.erase_contact(email=options["email"], by=options["by"])
        return {
            "erased": result.changed,
            "conversation_ids": result.conversation_ids,
            "removed": result.removed,
        }
