from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from learning import services
from learning.errors import NotFound
from learning.management.base import TenantCommand
from learning.models import User
from learning.tenancy.models import Tenant


class Command(TenantCommand):
    help = "Revoke every personal API token of a user (create_user issues a new one)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise NotFound(f"No user {options['username']!r} in this tenant.", field="username")
        return {"revoked": services.revoke_user_tokens(user=user)}
