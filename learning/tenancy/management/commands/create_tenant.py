from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learning import services
from learning.errors import DomainError
from learning.tenancy.urls import tenant_urls


class Command(BaseCommand):
    help = "Create a tenant with its own migrated schema (idempotent) and print its URLs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Lowercase letters, digits and hyphens, e.g. acme.")
        parser.add_argument("--name", help="Display name (default: from the slug).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # Migration chatter goes to stderr so that stdout stays one JSON object.
            with contextlib.redirect_stdout(sys.stderr):
                tenant, created = services.create_tenant(slug=options["slug"], name=options["name"])
        except DomainError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        result = {
            "slug": tenant.slug,
            "schema": tenant.schema_name,
            "name": tenant.name,
            "created": created,
            **tenant_urls(tenant),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            verb = "Created" if created else "Already there:"
            self.stdout.write(f"{verb} tenant {tenant.slug} (schema {tenant.schema_name})")
            self.stdout.write(f"  web: {result['web_url']}\n  api: {result['api_url']}")
