from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from learning import services
from learning.management.base import TenantCommand
from learning.models import Role
from learning.tenancy.models import Tenant


class Command(TenantCommand):
    help = "Create or update a user of a tenant (idempotent) and print a personal API token."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Sets the password for signing in on the web.")
        parser.add_argument("--manager", help="Username of the rep's manager.")
        parser.add_argument("--email", default="")

    def handle_in_tenant(self, tenant: Tenant, **options: Any) -> dict[str, Any]:
        user, created = services.create_user(
            username=options["username"],
            role=options["role"],
            password=options["password"],
            manager_username=options["manager"],
            email=options["email"],
        )
        issued = services.issue_user_token(user=user)
        result: dict[str, Any] = {"username": user.username, "token": issued.raw}
        if not options["json"]:
            result = {
                "created" if created else "updated": user.username,
                "role": user.role,
                "token": issued.raw,
            }
        return result
