from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learning import services
from learning.errors import DomainError
from learning.tenancy.urls import base_url_and_origin, tenant_urls


class Command(BaseCommand):
    help = (
        "Create a tenant with its own migrated schema and print its URLs. Idempotent: run "
        "again it changes nothing; a different --name is refused (rename in the ops admin)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Lowercase letters, digits and hyphens, e.g. acme.")
        parser.add_argument("--name", help="Display name of a new tenant (default: from the slug).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # Migration chatter goes to stderr so that stdout stays one JSON object.
            with contextlib.redirect_stdout(sys.stderr):
                tenant, created = services.create_tenant(slug=options["slug"], name=options["name"])
        except DomainError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        if not created and options["name"] and options["name"] != tenant.name:
            raise CommandError(
                f"Tenant {tenant.slug} exists already, named {tenant.name!r}: nothing changed. "
                "A rerun does not rename it; change its name in the ops admin (/admin/)."
            )
        base, origin = base_url_and_origin()
        result = {
            "slug": tenant.slug,
            "schema": tenant.schema_name,
            "name": tenant.name,
            "created": created,
            **tenant_urls(tenant),
            "urls_from": origin,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            verb = "Created" if created else "Already there:"
            self.stdout.write(f"{verb} tenant {tenant.slug} (schema {tenant.schema_name})")
            self.stdout.write(f"  web: {result['web_url']}\n  api: {result['api_url']}")
            if origin == "example":
                port = base.rsplit(":", 1)[-1]
                self.stdout.write(
                    f"  (an example: no `make run` runs from this folder and LL_BASE_URL is "
                    f"not set, so these assume a server on port {port}; use the address "
                    "your server answers on)"
                )
