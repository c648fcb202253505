from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from learning.management.base import TenantCommand
from learning.tenancy.models import Tenant
from outcomes import erasure


class Command(TenantCommand):
    help = (
        "Erase what one conversation said (messages, drafts, comments, corrections); its "
        "outcomes and ratings stay. Idempotent: run again, it removes nothing and says so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("conversation_id", help="The agent's id of the conversation.")
        parser.add_argument("--by", default="ops (manage.py)", help="Who asked, for the audit log.")

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        result = erasure.erase_conversation(
            external_id=options["conversation_id"], by=options["by"]
        )
        return {
            "conversation_id": options["conversation_id"],
            "erased": result.changed,
            "removed": result.removed,
            "detail": "Erased." if result.changed else "Already erased: nothing left to remove.",
        }
