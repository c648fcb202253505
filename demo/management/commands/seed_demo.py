from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import schema_context, tenant_context

from demo import history
from learning import selectors, services
from learning.models import AgentKey, Role, User
from learning.private_files import write_private
from learning.tenancy.urls import tenant_urls

DEMO_USERS = [
    # username, role, manager
    ("maria", Role.MANAGER, None),
    ("alice", Role.REP, "maria"),
    ("bob", Role.REP, "maria"),
    ("erin", Role.EXECUTIVE, None),
    ("adam", Role.ADMIN, None),
]
AGENT_KEY_NAME = "demo-agent"


class Command(BaseCommand):
    help = "Create the demo tenant with one user of each role and an agent key (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--password", default="learningloop")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        with contextlib.redirect_stdout(sys.stderr):
            tenant, _ = services.create_tenant(slug=options["slug"], name="Demo Sales Co")
        users = []
        with tenant_context(tenant):
            for username, role, manager in DEMO_USERS:
                services.create_user(
                    username=username,
                    role=role,
                    password=self._password_if_new(username, options["password"]),
                    manager_username=manager,
                    email=f"{username}@demo.learningloop.local",
                )
                users.append({"username": username, "role": str(role)})
            agent_key = self._demo_agent_key()
            has_history = not history.needs_building()
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            services.create_user(
                username="ops",
                role=Role.ADMIN,
                password=self._password_if_new("ops", options["password"]),
            )
        result = {
            "tenant": tenant.slug,
            **tenant_urls(tenant),
            "password": options["password"],
            "users": users,
            "agent_key": agent_key,
            "has_history": has_history,
        }
        self.stdout.write(json.dumps(result) if options["json"] else json.dumps(result, indent=2))

    @staticmethod
    def _password_if_new(username: str, password: str) -> str | None:
        """The password for a user still to create: an existing one keeps theirs (and the
        start skips a deliberately slow password hash per user)."""
        return None if User.objects.filter(username=username).exists() else password

    def _demo_agent_key(self) -> str:
        """The demo agent's key. Only its hash is in the database, so the raw key of this
        development-only tenant is kept in the data folder to print it on every start."""
        path = settings.DATA_DIR / f"demo-agent-key.{services.schema_name_for('demo')}"
        if path.exists():
            raw = path.read_text().strip()
            live = AgentKey.objects.filter(name=AGENT_KEY_NAME, revoked_at__isnull=True)
            if live.exists() and selectors.credential_for_bearer(raw=raw) is not None:
                return raw
        _, raw = services.create_agent_key(name=AGENT_KEY_NAME)
        write_private(path, raw.encode())  # 0600 from its creation
        return raw
